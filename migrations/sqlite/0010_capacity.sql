-- Care home capacity: bed types, each home's figures per bed type kept by its provider (with
-- a version per home for optimistic concurrency: a save names the version it started from),
-- and every accepted update kept (capacity over time; no update is ever lost unseen).

CREATE TABLE bed_types (
    key TEXT PRIMARY KEY,
    label TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE capacity_homes (
    location_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    -- Why capacity may exceed the beds CQC registers the home for, when it does.
    over_registered_reason TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE capacity_figures (
    location_id TEXT NOT NULL REFERENCES capacity_homes(location_id),
    bed_type TEXT NOT NULL REFERENCES bed_types(key),
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    occupied INTEGER NOT NULL CHECK (occupied >= 0),
    vacant INTEGER NOT NULL CHECK (vacant >= 0),
    reserved INTEGER NOT NULL CHECK (reserved >= 0),
    closed INTEGER NOT NULL CHECK (closed >= 0),
    closed_reason TEXT NOT NULL DEFAULT '',
    closed_since TEXT,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (location_id, bed_type)
);

CREATE TABLE capacity_updates (
    id INTEGER PRIMARY KEY,
    location_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    -- JSON array of {bed_type, capacity, occupied, vacant, reserved, closed}
    figures TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (location_id, version)
);
CREATE INDEX capacity_updates_time ON capacity_updates(updated_at);

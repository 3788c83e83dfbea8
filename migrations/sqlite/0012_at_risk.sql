-- The at-risk register: a provider or a home the council is worried may fail, with its
-- status, why, how many people it affects, actions with owners, and every status change.
CREATE TABLE at_risk (
    id INTEGER PRIMARY KEY,
    provider_id TEXT,
    location_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('monitoring','enhanced_monitoring','placements_suspended','serving_notice','closing','closed')),
    reason TEXT NOT NULL,
    council_funded INTEGER NOT NULL DEFAULT 0 CHECK (council_funded >= 0),
    nhs_funded INTEGER NOT NULL DEFAULT 0 CHECK (nhs_funded >= 0),
    self_funded INTEGER NOT NULL DEFAULT 0 CHECK (self_funded >= 0),
    opened_by TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    -- When the entry came off the register (the worry passed, or the home closed).
    removed_at TEXT,
    status_since TEXT NOT NULL,
    CHECK ((provider_id IS NULL) <> (location_id IS NULL))
);

CREATE TABLE at_risk_history (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES at_risk(id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX at_risk_history_entry ON at_risk_history(entry_id, id);

CREATE TABLE at_risk_actions (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES at_risk(id),
    description TEXT NOT NULL,
    owner TEXT NOT NULL,
    due_date TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- A closing home's people, for the brokers: each placement until the person has moved.
CREATE TABLE closure_checklist (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES at_risk(id),
    placement_id INTEGER NOT NULL REFERENCES placements(id),
    moved_to TEXT,
    moved_on TEXT,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (entry_id, placement_id)
);

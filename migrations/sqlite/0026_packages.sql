-- Home care packages (seed 001: outcome-based commissioning). An accepted offer (or a spot
-- purchase) becomes a package when care starts; it ends with a reason. Providers record the
-- hours delivered each week; what was planned but not used goes into the person's bank of
-- hours (cap and expiry from the council's brokerage rules), worked out when read.
CREATE TABLE packages (
    id INTEGER PRIMARY KEY,
    request_id INTEGER REFERENCES care_requests(id),
    case_ref TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    lot_id INTEGER REFERENCES lots(id),
    funding TEXT NOT NULL CHECK (funding IN ('council','health')),
    -- Hundredths of an hour a week
    planned_hours INTEGER NOT NULL,
    start_date TEXT NOT NULL,
    next_review TEXT,
    end_date TEXT,
    end_reason TEXT CHECK (end_reason IN ('hand_back','care_home','died','no_longer_needed','other')),
    end_note TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX packages_request ON packages(request_id);
CREATE INDEX packages_provider ON packages(provider_id, end_date);

-- Reviews: the date, what was decided (new planned hours from a date), and a note.
CREATE TABLE package_reviews (
    id INTEGER PRIMARY KEY,
    package_id INTEGER NOT NULL REFERENCES packages(id),
    reviewed_on TEXT NOT NULL,
    planned_hours INTEGER NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    by_whom TEXT NOT NULL,
    at TEXT NOT NULL
);

-- Hours delivered in a week (weeks start on the package's start day of the week).
CREATE TABLE delivered_hours (
    id INTEGER PRIMARY KEY,
    package_id INTEGER NOT NULL REFERENCES packages(id),
    week_start TEXT NOT NULL,
    delivered INTEGER NOT NULL,
    -- form, api or csv
    source TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (package_id, week_start)
);

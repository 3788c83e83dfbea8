-- Provider returns: returns the admin defines (fields, frequency, which providers), and the
-- providers' submissions, one per provider and period.
CREATE TABLE return_definitions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    frequency TEXT NOT NULL CHECK (frequency IN ('weekly','monthly','quarterly')),
    -- JSON array of {key, label, kind: number|percent|yes_no}
    fields TEXT NOT NULL,
    -- empty for every provider with care homes, else provider IDs separated by commas
    providers TEXT NOT NULL DEFAULT '',
    -- days after a period ends that its return is due
    due_days INTEGER NOT NULL DEFAULT 10,
    active INTEGER NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE return_submissions (
    id INTEGER PRIMARY KEY,
    definition_id INTEGER NOT NULL REFERENCES return_definitions(id),
    provider_id TEXT NOT NULL,
    period_start TEXT NOT NULL,
    -- JSON object of field key -> number (yes/no as 1/0)
    answers TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    UNIQUE (definition_id, provider_id, period_start)
);

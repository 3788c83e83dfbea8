-- The concerns log: safeguarding alerts, complaints, whistleblowing and feedback from health
-- partners about a location. No names of people: the form says so and warns.
CREATE TABLE concerns (
    id INTEGER PRIMARY KEY,
    location_id TEXT NOT NULL,
    received_date TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('safeguarding','complaint','whistleblowing','health_partner','other')),
    severity TEXT NOT NULL CHECK (severity IN ('low','medium','high')),
    summary TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX concerns_location ON concerns(location_id, received_date);

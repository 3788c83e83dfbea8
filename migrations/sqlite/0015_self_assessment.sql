-- Providers' self-assessments against the council's QAF (seed 002's "Quality Assurance
-- Self-Assessment Tool"), kept as a history and shown beside the council's own grades.
CREATE TABLE qaf_self_assessments (
    id INTEGER PRIMARY KEY,
    location_id TEXT NOT NULL,
    assessed_on TEXT NOT NULL,
    -- JSON array of [domain, grade, notes]
    grades TEXT NOT NULL,
    overall_grade TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL
);
CREATE INDEX qaf_self_assessments_location ON qaf_self_assessments(location_id, assessed_on);

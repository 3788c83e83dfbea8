-- Thematic analysis (seed 004 §4.11-4.18): the council's themes, issues found in CQC reports
-- and QA visits tagged with themes, and the training offers that meet each theme. Also the
-- QAF findings per standard, with their evidence notes.

CREATE TABLE themes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL,
    -- one phrase a line
    key_phrases TEXT NOT NULL DEFAULT '',
    -- quality statement names, one a line
    quality_statements TEXT NOT NULL DEFAULT '',
    training_need INTEGER NOT NULL DEFAULT 1,
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE qa_issues (
    id INTEGER PRIMARY KEY,
    location_id TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('cqc_report','qaf_visit','other')),
    found_date TEXT NOT NULL,
    text TEXT NOT NULL,
    visit_id INTEGER REFERENCES qaf_visits(id),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX qa_issues_date ON qa_issues(found_date);

-- suggested: the system proposed the theme from its key phrases (the officer kept it);
-- otherwise the officer added it.
CREATE TABLE qa_issue_themes (
    issue_id INTEGER NOT NULL REFERENCES qa_issues(id),
    theme_id INTEGER NOT NULL REFERENCES themes(id),
    suggested INTEGER NOT NULL,
    PRIMARY KEY (issue_id, theme_id)
);

CREATE TABLE training_offers (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    delivered_by TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE training_offer_themes (
    offer_id INTEGER NOT NULL REFERENCES training_offers(id),
    theme_id INTEGER NOT NULL REFERENCES themes(id),
    PRIMARY KEY (offer_id, theme_id)
);

CREATE TABLE qaf_findings (
    visit_id INTEGER NOT NULL REFERENCES qaf_visits(id),
    domain TEXT NOT NULL,
    standard TEXT NOT NULL,
    finding TEXT NOT NULL,
    PRIMARY KEY (visit_id, domain, standard)
);

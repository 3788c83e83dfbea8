-- Quality assurance: the contracts register and the council's QAF visits with their grades.

CREATE TABLE contracts (
    id INTEGER PRIMARY KEY,
    location_id TEXT NOT NULL,
    contract_type TEXT NOT NULL CHECK (contract_type IN ('residential','nursing','home_care_framework','supported_living','spot')),
    start_date TEXT NOT NULL,
    end_date TEXT,
    lots TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('active','suspended','ended')),
    reference TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (location_id, contract_type, start_date)
);
CREATE INDEX contracts_location ON contracts(location_id);

-- A visit is drafted, submitted and confirmed; a confirmed visit is never changed: a
-- correction is a new version that supersedes it, with its reason.
CREATE TABLE qaf_visits (
    id INTEGER PRIMARY KEY,
    location_id TEXT NOT NULL,
    visit_type TEXT NOT NULL CHECK (visit_type IN ('planned','reactive')),
    announced INTEGER NOT NULL,
    unannounced_reason TEXT,
    visit_date TEXT NOT NULL,
    officers TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft','submitted','confirmed','superseded')),
    overall_grade TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    supersedes_id INTEGER REFERENCES qaf_visits(id),
    correction_reason TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    confirmed_at TEXT
);
CREATE INDEX qaf_visits_location ON qaf_visits(location_id, visit_date);

CREATE TABLE qaf_domain_grades (
    visit_id INTEGER NOT NULL REFERENCES qaf_visits(id),
    domain TEXT NOT NULL,
    grade TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (visit_id, domain)
);

-- Home care lots (seed 001: localities, each a set of postcode districts, for one service
-- line) with one primary provider and a ranked framework behind it (seed 003 §4.5: providers
-- withdraw or join mid-term; a withdrawn provider's row stays, with the date and reason).
CREATE TABLE lots (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    service_line TEXT NOT NULL CHECK (service_line IN ('general','specialist')),
    -- Postcode districts, upper case, separated by single spaces: "LS1 LS2 LS6"
    districts TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE lot_providers (
    id INTEGER PRIMARY KEY,
    lot_id INTEGER NOT NULL REFERENCES lots(id),
    provider_id TEXT NOT NULL,
    -- 'primary' (one at a time) or 'framework'
    role TEXT NOT NULL CHECK (role IN ('primary','framework')),
    -- Order among the framework providers, 1 first (the primary has 0)
    rank INTEGER NOT NULL,
    -- As scored at tender, hundredths (87.50 -> 8750)
    tender_score INTEGER NOT NULL DEFAULT 0,
    joined_on TEXT NOT NULL,
    withdrawn_on TEXT,
    withdrawn_reason TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX lot_providers_lot ON lot_providers(lot_id, withdrawn_on);

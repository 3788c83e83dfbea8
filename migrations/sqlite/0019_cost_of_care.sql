-- Cost of care: the council's model inputs per service (JSON of the core model's inputs; a
-- service without a row uses the documented defaults), fee rates with their history (a new
-- row for each uplift), and named uplift scenarios.
CREATE TABLE cost_models (
    service TEXT PRIMARY KEY,
    inputs TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE fee_rates (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL,
    band TEXT NOT NULL,
    rate_pence INTEGER NOT NULL CHECK (rate_pence > 0),
    effective_from TEXT NOT NULL,
    -- Placements (care homes) or hours a week (home care) bought at this rate, in hundredths.
    volume_hundredths INTEGER NOT NULL DEFAULT 0 CHECK (volume_hundredths >= 0),
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX fee_rates_service ON fee_rates(service, band, effective_from);

CREATE TABLE cost_scenarios (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    -- JSON list of caremarket_core::cost::Uplift, applied in turn.
    uplifts TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

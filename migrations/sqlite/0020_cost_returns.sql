-- Provider cost returns (the "cost of care exercise"): a provider's actual costs by line for
-- one of its care homes (or its home care service: location_id ''), service and financial
-- year. One return a home, service and year; submitting again replaces it.
CREATE TABLE cost_returns (
    id INTEGER PRIMARY KEY,
    provider_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    service TEXT NOT NULL,
    -- The financial year by its first calendar year: 2025 is 2025/26.
    year INTEGER NOT NULL,
    -- JSON object: line key -> pence (per resident per week, or per contact hour).
    lines TEXT NOT NULL,
    total_pence INTEGER NOT NULL,
    submitted_by TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    UNIQUE (provider_id, location_id, service, year)
);
CREATE INDEX cost_returns_service ON cost_returns(service, year);

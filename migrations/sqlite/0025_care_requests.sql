-- Care requests and their offers (seed 003 §4.4-4.7). A request carries the council's case
-- reference only (no names). Its cascade (the order, the offers, where it stands) is kept as
-- JSON and changed only under an optimistic version check, so two providers accepting at the
-- same moment cannot both win; the offers table mirrors the cascade's offers for lookups
-- (a provider's own offers, the expiry task), written in the same transaction.
CREATE TABLE care_requests (
    id INTEGER PRIMARY KEY,
    case_ref TEXT NOT NULL,
    funding TEXT NOT NULL CHECK (funding IN ('council','health')),
    lot_id INTEGER NOT NULL REFERENCES lots(id),
    service_line TEXT NOT NULL CHECK (service_line IN ('general','specialist')),
    -- Postcode district (outward code) only: enough to find the lot
    district TEXT NOT NULL,
    -- Hundredths of an hour a week
    hours INTEGER NOT NULL,
    visits_per_day INTEGER NOT NULL,
    visit_minutes INTEGER NOT NULL,
    -- Times of day, space separated: morning lunch tea bed night
    times_of_day TEXT NOT NULL DEFAULT '',
    double_handed INTEGER NOT NULL DEFAULT 0,
    -- Needs, space separated keys: dementia mental_health learning_disability ...
    needs TEXT NOT NULL DEFAULT '',
    wanted_start TEXT NOT NULL,
    urgency TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('offering','placed','waiting','withdrawn')),
    placed_provider TEXT,
    -- 'cascade' or 'spot'
    placed_how TEXT,
    cascade TEXT NOT NULL,
    -- Seconds since the epoch of the earliest open deadline: what the expiry task looks at
    next_deadline INTEGER,
    version INTEGER NOT NULL DEFAULT 0,
    raised_by TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX care_requests_state ON care_requests(state, next_deadline);
CREATE INDEX care_requests_case ON care_requests(case_ref);

CREATE TABLE offers (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES care_requests(id),
    -- Position in the cascade's offers, 0 first
    seq INTEGER NOT NULL,
    provider_id TEXT NOT NULL,
    made_at TEXT NOT NULL,
    deadline TEXT NOT NULL,
    status TEXT NOT NULL,
    -- Decline reason code and text
    reason TEXT,
    reason_text TEXT,
    answered_at TEXT,
    answered_by TEXT,
    reminded_at TEXT,
    UNIQUE (request_id, seq)
);
CREATE INDEX offers_provider ON offers(provider_id, status);
CREATE INDEX offers_open ON offers(status, deadline);

-- Stays on the awaiting care list (seed 003 §4.6-4.7): a case joins when no provider can
-- take it straight away and leaves when one is found or the request is withdrawn. Rows also
-- come from a council's own records (import), with no request behind them.
CREATE TABLE awaiting_episodes (
    id INTEGER PRIMARY KEY,
    request_id INTEGER REFERENCES care_requests(id),
    case_ref TEXT NOT NULL,
    funding TEXT NOT NULL CHECK (funding IN ('council','health')),
    lot_id INTEGER REFERENCES lots(id),
    service_line TEXT NOT NULL,
    hours INTEGER NOT NULL,
    joined_on TEXT NOT NULL,
    left_on TEXT,
    left_reason TEXT,
    source TEXT NOT NULL DEFAULT 'cascade'
);
CREATE INDEX awaiting_episodes_open ON awaiting_episodes(left_on);
CREATE UNIQUE INDEX awaiting_episodes_import ON awaiting_episodes(case_ref, joined_on, source);

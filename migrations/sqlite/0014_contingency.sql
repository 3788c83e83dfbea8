-- Contingency: emergency and out-of-hours contacts per provider and home (council staff and
-- the provider itself only), and each provider's business continuity plan.
CREATE TABLE contingency_contacts (
    id INTEGER PRIMARY KEY,
    provider_id TEXT NOT NULL,
    -- empty for the provider as a whole
    location_id TEXT,
    contact_role TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    out_of_hours INTEGER NOT NULL DEFAULT 0,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX contingency_contacts_provider ON contingency_contacts(provider_id);

CREATE TABLE continuity_plans (
    provider_id TEXT PRIMARY KEY,
    reviewed_on TEXT NOT NULL,
    covers_staffing INTEGER NOT NULL,
    covers_evacuation INTEGER NOT NULL,
    covers_utilities INTEGER NOT NULL,
    covers_provider_failure INTEGER NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

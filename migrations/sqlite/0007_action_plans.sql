-- Action plans: issued after a C or D grade (or by hand), items with owner, due date,
-- status and evidence; the provider records progress, the council signs items off.
CREATE TABLE action_plans (
    id INTEGER PRIMARY KEY,
    location_id TEXT NOT NULL,
    visit_id INTEGER REFERENCES qaf_visits(id),
    title TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX action_plans_location ON action_plans(location_id);

CREATE TABLE action_items (
    id INTEGER PRIMARY KEY,
    plan_id INTEGER NOT NULL REFERENCES action_plans(id),
    description TEXT NOT NULL,
    owner TEXT NOT NULL,
    due_date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open','in_progress','done','signed_off')),
    evidence TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    signed_off_by TEXT,
    signed_off_at TEXT
);
CREATE INDEX action_items_plan ON action_items(plan_id);

-- Spare home care hours a week each provider declares for each lot it is on: what batch
-- matching may suggest sending it (the provider updates it as packages start and end).
CREATE TABLE provider_capacity (
    id INTEGER PRIMARY KEY,
    provider_id TEXT NOT NULL,
    lot_id INTEGER NOT NULL REFERENCES lots(id),
    -- Hundredths of an hour a week
    spare_hours INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (provider_id, lot_id)
);

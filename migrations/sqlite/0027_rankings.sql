-- The annual re-ranking of a lot's framework (seed 003 §4.13): each proposal keeps its
-- period, weights, every provider's inputs and components (JSON), and what was decided; an
-- approved ranking changes the order from its date. Proposals are never deleted: history.
CREATE TABLE rankings (
    id INTEGER PRIMARY KEY,
    lot_id INTEGER NOT NULL REFERENCES lots(id),
    status TEXT NOT NULL CHECK (status IN ('proposed','approved','applied','rejected')),
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    weights TEXT NOT NULL,
    result TEXT NOT NULL,
    computed_by TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    applied_at TEXT
);
CREATE INDEX rankings_lot ON rankings(lot_id, status);

-- Sufficiency: population estimates by area and year (ONS mid-year estimates, loaded from
-- their single-year-of-age files and kept as the three cumulative older age counts), each
-- council's projection assumptions, and planned openings and known closures of beds.
CREATE TABLE population (
    area_code TEXT NOT NULL,
    area_name TEXT NOT NULL,
    geography TEXT NOT NULL,
    year INTEGER NOT NULL,
    all_ages INTEGER NOT NULL,
    aged_65_plus INTEGER NOT NULL,
    aged_75_plus INTEGER NOT NULL,
    aged_85_plus INTEGER NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (area_code, year)
);
CREATE INDEX population_name ON population(area_name);

-- One council's assumptions (placement rates, admissions and stays, growth, levers), as JSON
-- of caremarket_core::sufficiency::Assumptions; a council without a row uses the defaults.
CREATE TABLE sufficiency_assumptions (
    local_authority TEXT PRIMARY KEY,
    assumptions TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Planned openings (positive beds) and known closures (negative), entered by commissioners.
CREATE TABLE supply_changes (
    id INTEGER PRIMARY KEY,
    local_authority TEXT NOT NULL,
    bed_type TEXT NOT NULL,
    beds INTEGER NOT NULL,
    effective_date TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX supply_changes_la ON supply_changes(local_authority);

-- ONS subnational population projections (e.g. the 2018-based SNPP persons file), kept as the
-- same cumulative older age counts as the estimates, by area and year.
CREATE TABLE population_projections (
    area_code TEXT NOT NULL,
    area_name TEXT NOT NULL,
    year INTEGER NOT NULL,
    all_ages INTEGER NOT NULL,
    aged_65_plus INTEGER NOT NULL,
    aged_75_plus INTEGER NOT NULL,
    aged_85_plus INTEGER NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (area_code, year)
);
CREATE INDEX population_projections_name ON population_projections(area_name);

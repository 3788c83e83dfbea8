-- CQC data: providers, locations, rating history across editions, and the imports that
-- brought them. All of it is CQC's public data; no personal data is kept here.

CREATE TABLE cqc_imports (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('ratings','directory','api_records','sync')),
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    edition TEXT NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_in INTEGER NOT NULL,
    rows_changed INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]',
    unknown_columns TEXT NOT NULL DEFAULT '[]',
    started_at TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    actor TEXT NOT NULL
);
CREATE UNIQUE INDEX cqc_imports_content ON cqc_imports(kind, sha256);

CREATE TABLE cqc_providers (
    provider_id TEXT PRIMARY KEY,
    name TEXT,
    brand_id TEXT,
    brand_name TEXT,
    updated_edition TEXT NOT NULL
);

CREATE TABLE cqc_locations (
    location_id TEXT PRIMARY KEY,
    provider_id TEXT,
    name TEXT NOT NULL,
    care_home INTEGER,
    location_type TEXT,
    primary_inspection_category TEXT,
    inspection_directorate TEXT,
    street_address TEXT,
    address_line_2 TEXT,
    city TEXT,
    county TEXT,
    postcode TEXT,
    postcode_district TEXT,
    local_authority TEXT,
    region TEXT,
    onspd_ccg_code TEXT,
    onspd_ccg TEXT,
    latitude REAL,
    longitude REAL,
    beds INTEGER,
    registration_date TEXT,
    deregistration_date TEXT,
    dormant INTEGER,
    registered_manager INTEGER,
    registered_manager_absent_since TEXT,
    url TEXT,
    -- The latest overall rating, kept up to date after each import (derived from cqc_ratings).
    overall_rating TEXT,
    overall_date TEXT,
    first_edition TEXT NOT NULL,
    last_edition TEXT NOT NULL,
    updated_edition TEXT NOT NULL
);
CREATE INDEX cqc_locations_la ON cqc_locations(local_authority);
CREATE INDEX cqc_locations_region ON cqc_locations(region);
CREATE INDEX cqc_locations_provider ON cqc_locations(provider_id);
CREATE INDEX cqc_locations_district ON cqc_locations(postcode_district);
CREATE INDEX cqc_locations_name ON cqc_locations(name);

-- Service types, service user bands / specialisms and regulated activities, as CQC names them.
CREATE TABLE cqc_location_services (
    location_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('service_type','specialism','regulated_activity')),
    value TEXT NOT NULL,
    PRIMARY KEY (location_id, kind, value)
);

-- One row per published rating: location x service/population group x domain x date.
-- Editions that showed it are kept as a range, so history survives monthly re-imports.
CREATE TABLE cqc_ratings (
    id INTEGER PRIMARY KEY,
    location_id TEXT NOT NULL,
    service_group TEXT NOT NULL,
    domain TEXT NOT NULL,
    rating TEXT NOT NULL,
    publication_date TEXT NOT NULL,
    report_type TEXT,
    inherited INTEGER,
    source TEXT NOT NULL,
    first_edition TEXT NOT NULL,
    last_edition TEXT NOT NULL,
    UNIQUE (location_id, service_group, domain, publication_date)
);
CREATE INDEX cqc_ratings_location ON cqc_ratings(location_id, domain, publication_date);

-- Which locations each edition of each kind of file listed (registrations and closures
-- between editions come from here).
CREATE TABLE cqc_location_editions (
    location_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    edition TEXT NOT NULL,
    PRIMARY KEY (kind, edition, location_id)
);

-- Registration changes from the API: the same home under a new location ID.
CREATE TABLE cqc_relationships (
    location_id TEXT NOT NULL,
    related_location_id TEXT NOT NULL,
    relation_type TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (location_id, related_location_id, relation_type)
);

CREATE TABLE cqc_sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checkpoint TEXT,
    updated_at TEXT NOT NULL
);

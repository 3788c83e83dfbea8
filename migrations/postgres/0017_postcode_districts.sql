-- Postcode district centres from an imported ONS postcode directory (ONSPD or NSPL): the
-- mean latitude and longitude of the district's live postcodes. Where a district is here,
-- the brokers' distance search measures from it; otherwise from the CQC locations in it.
CREATE TABLE postcode_districts (
    district TEXT PRIMARY KEY,
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    postcodes BIGINT NOT NULL,
    source TEXT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
);

-- The edition that last gave a location's service types and specialisms. A file without
-- them (the latest-ratings file) may be newer than a file with them (CQC API records), and
-- must not stop the older file's lists from being kept: only a newer list replaces a list.
ALTER TABLE cqc_locations ADD COLUMN services_edition DATE;
UPDATE cqc_locations SET services_edition = updated_edition WHERE location_id IN (SELECT location_id FROM cqc_location_services);

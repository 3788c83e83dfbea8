-- Each location's current key question ratings kept on its row, as the overall rating
-- already is, so the market picture of today is built from one row per location instead of
-- every rating ever published (refreshed by each import; see cqc::store).
ALTER TABLE cqc_locations ADD COLUMN safe_rating TEXT;
ALTER TABLE cqc_locations ADD COLUMN effective_rating TEXT;
ALTER TABLE cqc_locations ADD COLUMN caring_rating TEXT;
ALTER TABLE cqc_locations ADD COLUMN responsive_rating TEXT;
ALTER TABLE cqc_locations ADD COLUMN well_led_rating TEXT;
UPDATE cqc_locations SET
    safe_rating = (SELECT r.rating FROM cqc_ratings r WHERE r.location_id = cqc_locations.location_id AND r.service_group = 'Overall' AND r.domain = 'Safe' AND r.rating NOT IN ('Inspected but not rated', 'No published rating') ORDER BY r.publication_date DESC LIMIT 1),
    effective_rating = (SELECT r.rating FROM cqc_ratings r WHERE r.location_id = cqc_locations.location_id AND r.service_group = 'Overall' AND r.domain = 'Effective' AND r.rating NOT IN ('Inspected but not rated', 'No published rating') ORDER BY r.publication_date DESC LIMIT 1),
    caring_rating = (SELECT r.rating FROM cqc_ratings r WHERE r.location_id = cqc_locations.location_id AND r.service_group = 'Overall' AND r.domain = 'Caring' AND r.rating NOT IN ('Inspected but not rated', 'No published rating') ORDER BY r.publication_date DESC LIMIT 1),
    responsive_rating = (SELECT r.rating FROM cqc_ratings r WHERE r.location_id = cqc_locations.location_id AND r.service_group = 'Overall' AND r.domain = 'Responsive' AND r.rating NOT IN ('Inspected but not rated', 'No published rating') ORDER BY r.publication_date DESC LIMIT 1),
    well_led_rating = (SELECT r.rating FROM cqc_ratings r WHERE r.location_id = cqc_locations.location_id AND r.service_group = 'Overall' AND r.domain = 'Well-led' AND r.rating NOT IN ('Inspected but not rated', 'No published rating') ORDER BY r.publication_date DESC LIMIT 1);

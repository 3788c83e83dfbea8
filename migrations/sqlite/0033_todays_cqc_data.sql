-- Today's CQC data: the framework each rating came from (the inspection framework of 2014
-- to 2023, or the Single Assessment Framework since 2024), the SAF key question scores and
-- the status CQC gives an assessment ("Current"); a location's registration status; and on
-- each location's row, how its own rating was chosen (crates/core own_rating: the group and
-- framework of the rating that stands, and which part of the rule decided) and how it was
-- known to be a care home (for files with no "Care Home?" column).
ALTER TABLE cqc_ratings ADD COLUMN framework TEXT;
ALTER TABLE cqc_ratings ADD COLUMN percentage_score INTEGER;
ALTER TABLE cqc_ratings ADD COLUMN status TEXT;
ALTER TABLE cqc_locations ADD COLUMN registration_status TEXT;
ALTER TABLE cqc_locations ADD COLUMN own_rating_group TEXT;
ALTER TABLE cqc_locations ADD COLUMN own_rating_framework TEXT;
ALTER TABLE cqc_locations ADD COLUMN own_rating_basis TEXT;
ALTER TABLE cqc_locations ADD COLUMN care_home_basis TEXT;

-- The date a scenario's uplifts take effect (a new National Living Wage from 1 April, say):
-- the year's budget effect counts from it to the end of that financial year.
ALTER TABLE cost_scenarios ADD COLUMN effective_from TEXT;

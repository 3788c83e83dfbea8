-- One open placement a person, kept by the database too: four adds at once used to give four
-- (the check ran before the insert's transaction). The migration runner refuses to apply
-- this while any person has two, naming them (see db::migrate GUARDS).
CREATE UNIQUE INDEX placements_one_open ON placements(case_reference) WHERE end_date IS NULL;
-- The providers' annual survey once a year a provider, kept by the database too. The year is
-- stored with each answer; an earlier year's extra answers keep no year (they stay counted in
-- the results, as they were).
ALTER TABLE questionnaire_responses ADD COLUMN survey_year INTEGER;
UPDATE questionnaire_responses SET survey_year = CAST(EXTRACT(YEAR FROM responded_on) AS INTEGER)
WHERE provider_id IS NOT NULL
  AND questionnaire_id IN (SELECT id FROM questionnaires WHERE kind = 'provider_survey')
  AND id = (SELECT MIN(r2.id) FROM questionnaire_responses r2
            WHERE r2.questionnaire_id = questionnaire_responses.questionnaire_id
              AND r2.provider_id = questionnaire_responses.provider_id
              AND EXTRACT(YEAR FROM r2.responded_on) = EXTRACT(YEAR FROM questionnaire_responses.responded_on));
CREATE UNIQUE INDEX questionnaire_responses_one_a_year ON questionnaire_responses(questionnaire_id, provider_id, survey_year) WHERE survey_year IS NOT NULL;

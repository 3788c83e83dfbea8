-- Questionnaires: for people who use services (answers without names, linked to a location
-- and a date) and the providers' annual survey of the council (seed 003 §4.16).
CREATE TABLE questionnaires (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('service_user','provider_survey')),
    title TEXT NOT NULL UNIQUE,
    -- JSON array of {key, text}; every question is answered on the five-point scale
    questions TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE questionnaire_responses (
    id INTEGER PRIMARY KEY,
    questionnaire_id INTEGER NOT NULL REFERENCES questionnaires(id),
    location_id TEXT,
    provider_id TEXT,
    responded_on TEXT NOT NULL,
    -- JSON object of question key -> 1 (very poor) .. 5 (very good); missing: not answered
    answers TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    entered_by TEXT NOT NULL,
    entered_at TEXT NOT NULL
);
CREATE INDEX questionnaire_responses_q ON questionnaire_responses(questionnaire_id, responded_on);

-- A one-time password (printed by `caremarket user add` or `user reset-password`) must be
-- changed at the first sign-in.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
-- API tokens expire (a token from before this has until a year after it was made: see
-- accounts::tokens), and a token made with another token ends with it.
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMPTZ;
ALTER TABLE api_tokens ADD COLUMN parent_id BIGINT REFERENCES api_tokens(id);
CREATE INDEX api_tokens_parent ON api_tokens(parent_id);
-- Requests a throttle refused, counted by kind and day rather than written to the audit log
-- one by one (a flood would bury it).
CREATE TABLE refused_requests (
    kind TEXT NOT NULL,
    day DATE NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (kind, day)
);
CREATE INDEX login_failures_at ON login_failures(failed_at);

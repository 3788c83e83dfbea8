-- A counter every import and sync moves on in its own transaction: caches of figures built
-- from the CQC data compare it to know they are stale (ids are handed out before commit, so
-- MAX(id) of the imports cannot tell).
CREATE TABLE data_version (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);

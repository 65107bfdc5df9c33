-- Proofs of work (bot checks) already accepted: each solution is good for
-- one request, on any instance. key is the challenge's SHA-256, which the
-- signature binds to one salt and number; expires_at (Unix microseconds,
-- UTC, as in 001) is the challenge's own expiry, after which the solution
-- is refused as expired and the purge deletes the row.
CREATE TABLE spent_proofs (
    key        BYTEA  PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX spent_proofs_expires ON spent_proofs (expires_at);

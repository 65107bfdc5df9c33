-- The administration API: its bearer tokens, and its audit records in the
-- activity of the accounts it acts on.

-- Tokens made with `tacit admin-tokens add`. A token is shown once; its
-- id (the part before the dot, random, not secret) finds the row, and
-- only the SHA-256 of its secret part is kept, compared in constant time.
-- Times are Unix microseconds, UTC, as in 001; last_used_at 0 is never.
CREATE TABLE admin_tokens (
    id           TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    scope        TEXT    NOT NULL CHECK (scope IN ('read', 'write')),
    secret_hash  BYTEA   NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT  NOT NULL DEFAULT 0
);

-- An admin_api event names the token that made the call, what it asked
-- for and how that ended; every other event leaves them empty.
ALTER TABLE events ADD COLUMN actor     TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN operation TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN outcome   TEXT NOT NULL DEFAULT '';

-- Password reset, email change, throttling and server secrets.
-- Times are INTEGER Unix microseconds, UTC, as in 001.

CREATE TABLE reset_tokens (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash     BLOB    NOT NULL UNIQUE,
    -- PasswordStamp of the account's hash when the token was made: a
    -- changed password makes every older token useless.
    password_stamp BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX reset_tokens_account_id ON reset_tokens (account_id);
-- Purge deletes by expiry.
CREATE INDEX reset_tokens_expires_at ON reset_tokens (expires_at);

CREATE TABLE email_changes (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    new_email  TEXT    NOT NULL, -- normalised by the caller
    token_hash BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX email_changes_account_id ON email_changes (account_id);
CREATE INDEX email_changes_expires_at ON email_changes (expires_at);

-- Throttling counters, keyed by a keyed hash of an identifier or client
-- address. WITHOUT ROWID stores each row once, in the key's B-tree, rather
-- than in a rowid table plus a separate index on key: a flood of random
-- keys costs half the pages.
CREATE TABLE counters (
    key        BLOB    PRIMARY KEY,
    count      INTEGER NOT NULL,
    first_at   INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
-- Purge and TrimCounters delete by expiry, soonest first.
CREATE INDEX counters_expires_at ON counters (expires_at);

-- Server-wide secrets (e.g. the key of the throttling hash), shared by
-- every instance on this database.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

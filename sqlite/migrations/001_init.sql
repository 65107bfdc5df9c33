-- Times are INTEGER Unix microseconds, UTC; 0 means "never".

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL, -- normalised by the caller
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);
-- One account per normalised address.
CREATE UNIQUE INDEX accounts_email ON accounts (email);

CREATE TABLE signups (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL,
    token_hash    BLOB    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX signups_email ON signups (email);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    user_agent   TEXT    NOT NULL DEFAULT '',
    ip           TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account_id ON sessions (account_id);

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    data          TEXT    NOT NULL DEFAULT '{}', -- JSON object; '{}' once sent
    created_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    due_at        INTEGER NOT NULL DEFAULT 0,
    claimed_until INTEGER NOT NULL DEFAULT 0,
    sent_at       INTEGER,
    failed_at     INTEGER,
    last_error    TEXT    NOT NULL DEFAULT ''
);
-- Workers look for pending mail only.
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL AND failed_at IS NULL;

CREATE TABLE dev_mailbox (
    id        INTEGER PRIMARY KEY,
    recipient TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    text      TEXT    NOT NULL,
    html      TEXT    NOT NULL,
    sent_at   INTEGER NOT NULL
);

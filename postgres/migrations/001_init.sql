-- Times are BIGINT Unix microseconds, UTC; 0 means "never". This is the
-- SQLite engine's encoding, so both engines compare and round-trip times
-- alike (to_timestamp(t / 1e6) shows one as a timestamp).

CREATE TABLE accounts (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT    NOT NULL, -- normalised by the caller
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE
);
-- One account per normalised address.
CREATE UNIQUE INDEX accounts_email ON accounts (email);

CREATE TABLE signups (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT   NOT NULL,
    token_hash    BYTEA  NOT NULL UNIQUE,
    password_hash TEXT   NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX signups_email ON signups (email);

CREATE TABLE sessions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash   BYTEA  NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    user_agent   TEXT   NOT NULL DEFAULT '',
    ip           TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account_id ON sessions (account_id);

CREATE TABLE outbox (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          TEXT    NOT NULL,
    recipient     TEXT    NOT NULL,
    data          TEXT    NOT NULL DEFAULT '{}', -- JSON object; '{}' once sent
    created_at    BIGINT  NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    due_at        BIGINT  NOT NULL DEFAULT 0,
    claimed_until BIGINT  NOT NULL DEFAULT 0,
    sent_at       BIGINT,
    failed_at     BIGINT,
    last_error    TEXT    NOT NULL DEFAULT ''
);
-- Workers look for pending mail only.
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL AND failed_at IS NULL;

CREATE TABLE dev_mailbox (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient TEXT   NOT NULL,
    subject   TEXT   NOT NULL,
    text      TEXT   NOT NULL,
    html      TEXT   NOT NULL,
    sent_at   BIGINT NOT NULL
);

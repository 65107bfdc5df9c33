-- Multi-factor sign-in: authenticator secrets, recovery codes and the
-- pending second step of a sign-in. Times are INTEGER Unix microseconds,
-- UTC, as in 001.

-- One authenticator per account; enabled once its first code was typed.
CREATE TABLE totp (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret     TEXT    NOT NULL, -- base32
    enabled    INTEGER NOT NULL DEFAULT 0,
    -- The time step of the newest code accepted: no code of it or an
    -- earlier step is accepted again.
    last_step  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- Single-use recovery codes, stored hashed.
CREATE TABLE recovery_codes (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL,
    PRIMARY KEY (account_id, code_hash)
) WITHOUT ROWID;

CREATE TABLE mfa_challenges (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash BLOB    NOT NULL UNIQUE,
    failures   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX mfa_challenges_account_id ON mfa_challenges (account_id);
-- Purge deletes by expiry.
CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);

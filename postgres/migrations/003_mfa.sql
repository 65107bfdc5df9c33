-- Multi-factor sign-in: authenticator secrets, recovery codes and the
-- pending second step of a sign-in. Times are BIGINT Unix microseconds,
-- UTC, as in 001.

-- One authenticator per account; enabled once its first code was typed.
CREATE TABLE totp (
    account_id BIGINT  PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret     TEXT    NOT NULL, -- base32
    enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    -- The time step of the newest code accepted: no code of it or an
    -- earlier step is accepted again.
    last_step  BIGINT  NOT NULL DEFAULT 0,
    created_at BIGINT  NOT NULL
);

-- Single-use recovery codes, stored hashed.
CREATE TABLE recovery_codes (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  BYTEA  NOT NULL,
    PRIMARY KEY (account_id, code_hash)
);

CREATE TABLE mfa_challenges (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash BYTEA  NOT NULL UNIQUE,
    failures   INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX mfa_challenges_account_id ON mfa_challenges (account_id);
-- Purge deletes by expiry.
CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);

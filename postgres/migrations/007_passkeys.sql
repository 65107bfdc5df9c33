-- Passkeys (WebAuthn credentials) and the ceremonies waiting for a
-- browser's answer. Times are BIGINT Unix microseconds, UTC, as in 001.

CREATE TABLE passkeys (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Deleting an account deletes its passkeys.
    account_id      BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    credential_id   BYTEA   NOT NULL UNIQUE,
    -- The account's WebAuthn user handle: 64 random bytes, the same on
    -- every passkey of one account.
    user_handle     BYTEA   NOT NULL,
    name            TEXT    NOT NULL,
    -- The rest of the credential record (public key, transports,
    -- attestation) as go-webauthn's JSON.
    credential      BYTEA   NOT NULL,
    sign_count      BIGINT  NOT NULL DEFAULT 0,
    backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT  NOT NULL DEFAULT 0 -- 0: never
);
CREATE INDEX passkeys_account_id ON passkeys (account_id);

CREATE TABLE passkey_challenges (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  BYTEA  NOT NULL UNIQUE,
    purpose     TEXT   NOT NULL,
    account_id  BIGINT REFERENCES accounts (id) ON DELETE CASCADE, -- NULL for a sign-in
    -- The ceremony's go-webauthn session data as JSON, without the
    -- challenge: only its hash is stored.
    session     BYTEA  NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX passkey_challenges_account_id ON passkey_challenges (account_id);
-- Purge deletes by expiry.
CREATE INDEX passkey_challenges_expires_at ON passkey_challenges (expires_at);

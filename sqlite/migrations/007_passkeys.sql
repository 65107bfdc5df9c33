-- Passkeys (WebAuthn credentials) and the ceremonies waiting for a
-- browser's answer. Times are INTEGER Unix microseconds, UTC, as in 001.

CREATE TABLE passkeys (
    id              INTEGER PRIMARY KEY,
    -- Deleting an account deletes its passkeys.
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    credential_id   BLOB    NOT NULL UNIQUE,
    -- The account's WebAuthn user handle: 64 random bytes, the same on
    -- every passkey of one account.
    user_handle     BLOB    NOT NULL,
    name            TEXT    NOT NULL,
    -- The rest of the credential record (public key, transports,
    -- attestation) as go-webauthn's JSON.
    credential      BLOB    NOT NULL,
    sign_count      INTEGER NOT NULL DEFAULT 0,
    backup_eligible INTEGER NOT NULL DEFAULT 0,
    backup_state    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER NOT NULL DEFAULT 0 -- 0: never
);
CREATE INDEX passkeys_account_id ON passkeys (account_id);

CREATE TABLE passkey_challenges (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB    NOT NULL UNIQUE,
    purpose     TEXT    NOT NULL,
    account_id  INTEGER REFERENCES accounts (id) ON DELETE CASCADE, -- NULL for a sign-in
    -- The ceremony's go-webauthn session data as JSON, without the
    -- challenge: only its hash is stored.
    session     BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX passkey_challenges_account_id ON passkey_challenges (account_id);
-- Purge deletes by expiry.
CREATE INDEX passkey_challenges_expires_at ON passkey_challenges (expires_at);

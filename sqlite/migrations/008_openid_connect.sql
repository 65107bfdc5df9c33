-- The OpenID Connect provider: signing keys, each account's subject id,
-- authorization requests and their codes, grants (an access token and its
-- refresh token family), clients added from the command line, and
-- remembered consents. Times are INTEGER Unix microseconds, UTC, as in
-- 001; secrets handed out (codes, tokens, client secrets) are stored
-- hashed.

-- Signing keys, shared by every instance. retired_at is 0 for the key
-- that signs; a retired key stays published until its tokens expire.
CREATE TABLE oidc_keys (
    id          TEXT    PRIMARY KEY,
    algorithm   TEXT    NOT NULL,
    private_key BLOB    NOT NULL, -- PKCS #8, DER
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER NOT NULL DEFAULT 0
);

-- The random, stable subject id each account shows to relying parties.
CREATE TABLE oidc_subjects (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    subject    TEXT    NOT NULL UNIQUE
);

-- Authorization requests waiting for a sign-in, then for their code to be
-- exchanged.
CREATE TABLE oidc_auth_requests (
    id         TEXT    PRIMARY KEY,
    client_id  TEXT    NOT NULL,
    request    BLOB    NOT NULL, -- the parsed request, JSON
    account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    auth_time  INTEGER NOT NULL DEFAULT 0,
    code_hash  BLOB    UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_auth_requests_expires_at ON oidc_auth_requests (expires_at);

-- A grant is what one code exchange gave a client: the current access
-- token and, with offline_access, the current refresh token of its
-- rotation family. A refresh token that is not the current one kills the
-- grant.
CREATE TABLE oidc_grants (
    id                TEXT    PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id         TEXT    NOT NULL,
    scopes            TEXT    NOT NULL,
    auth_time         INTEGER NOT NULL,
    password_stamp    BLOB    NOT NULL,
    refresh_hash      BLOB,
    access_hash       BLOB,
    access_expires_at INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL
);
CREATE INDEX oidc_grants_account_id ON oidc_grants (account_id);
CREATE INDEX oidc_grants_expires_at ON oidc_grants (expires_at);

-- Clients added with `tacit clients add` (those of the configuration file
-- are not stored).
CREATE TABLE oidc_clients (
    id                        TEXT    PRIMARY KEY,
    name                      TEXT    NOT NULL,
    secret_hash               BLOB, -- none for a public client
    redirect_uris             TEXT    NOT NULL, -- one a line
    post_logout_redirect_uris TEXT    NOT NULL, -- one a line
    first_party               INTEGER NOT NULL DEFAULT 0,
    created_at                INTEGER NOT NULL
);

-- Consents an account gave a client, remembered until revoked.
CREATE TABLE oidc_consents (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, client_id)
) WITHOUT ROWID;

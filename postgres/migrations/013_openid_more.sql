-- A client may ask for RS256 ID tokens (old relying parties that know no
-- ES256); empty is the default, ES256.
ALTER TABLE oidc_clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT '';

-- The grant an exchanged code gave: the request is kept (spent) until it
-- expires, so that the same code presented again ends that grant
-- (RFC 6749 section 4.1.2).
ALTER TABLE oidc_auth_requests ADD COLUMN grant_id TEXT;

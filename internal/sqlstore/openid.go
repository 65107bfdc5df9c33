package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tacitauth/tacit"
)

// lines and unlines store a list of URIs or scopes as one text column,
// one item a line (none of them may hold a line break).
func lines(list []string) string { return strings.Join(list, "\n") }

func unlines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// SigningKeys lists every signing key, newest first.
func (t *Tx) SigningKeys(ctx context.Context) ([]tacit.SigningKey, error) {
	list, err := collect(ctx, t.Q, scanSigningKey,
		`SELECT id, algorithm, private_key, created_at, retired_at FROM oidc_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	return list, nil
}

func scanSigningKey(row Row) (tacit.SigningKey, error) {
	var k tacit.SigningKey
	var created, retired int64
	err := row.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &created, &retired)
	k.CreatedAt, k.RetiredAt = FromMicros(created), FromMicros(retired)
	return k, err
}

// CreateSigningKey inserts k.
func (t *Tx) CreateSigningKey(ctx context.Context, k tacit.SigningKey) error {
	_, err := t.Q.Exec(ctx,
		`INSERT INTO oidc_keys (id, algorithm, private_key, created_at, retired_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.Algorithm, k.PrivateKey, Micros(k.CreatedAt), Micros(k.RetiredAt))
	return t.created("create signing key", err)
}

// RetireSigningKey retires a key that signs. The condition and the write
// are one statement: of two instances rotating the same key at once, the
// second finds it retired (PostgreSQL re-reads the row once the first
// commits) and gets ErrConflict.
func (t *Tx) RetireSigningKey(ctx context.Context, id string, at time.Time) error {
	n, err := t.Q.Exec(ctx, `UPDATE oidc_keys SET retired_at = $1 WHERE id = $2 AND retired_at = 0`, Micros(at), id)
	if err != nil {
		return fmt.Errorf("retire signing key: %w", err)
	}
	if n == 0 {
		var one int
		if err := t.Q.QueryRow(ctx, `SELECT 1 FROM oidc_keys WHERE id = $1`, id).Scan(&one); err != nil {
			return NotFound("retire signing key", err)
		}
		return fmt.Errorf("retire signing key: %w", tacit.ErrConflict)
	}
	return nil
}

// DeleteSigningKeys removes the keys retired before t.
func (t *Tx) DeleteSigningKeys(ctx context.Context, retiredBefore time.Time) error {
	_, err := t.Q.Exec(ctx, `DELETE FROM oidc_keys WHERE retired_at <> 0 AND retired_at < $1`, Micros(retiredBefore))
	if err != nil {
		return fmt.Errorf("delete signing keys: %w", err)
	}
	return nil
}

// Subject returns an account's subject id.
func (t *Tx) Subject(ctx context.Context, accountID int64) (string, error) {
	var sub string
	err := t.Q.QueryRow(ctx, `SELECT subject FROM oidc_subjects WHERE account_id = $1`, accountID).Scan(&sub)
	if err != nil {
		return "", NotFound("subject", err)
	}
	return sub, nil
}

// CreateSubject gives an account its subject id.
func (t *Tx) CreateSubject(ctx context.Context, accountID int64, subject string) error {
	_, err := t.Q.Exec(ctx, `INSERT INTO oidc_subjects (account_id, subject) VALUES ($1, $2)`, accountID, subject)
	return t.created("create subject", err)
}

// AccountBySubject returns the account with this subject id.
func (t *Tx) AccountBySubject(ctx context.Context, subject string) (int64, error) {
	var id int64
	err := t.Q.QueryRow(ctx, `SELECT account_id FROM oidc_subjects WHERE subject = $1`, subject).Scan(&id)
	if err != nil {
		return 0, NotFound("account by subject", err)
	}
	return id, nil
}

const authRequestColumns = `id, client_id, request, account_id, auth_time, code_hash, grant_id, created_at, expires_at`

func scanAuthRequest(row Row) (tacit.AuthRequest, error) {
	var r tacit.AuthRequest
	var account *int64
	var grant *string
	var authTime, created, expires int64
	err := row.Scan(&r.ID, &r.ClientID, &r.Request, &account, &authTime, &r.CodeHash, &grant, &created, &expires)
	if account != nil {
		r.AccountID = *account
	}
	if grant != nil {
		r.GrantID = *grant
	}
	r.AuthTime, r.CreatedAt, r.ExpiresAt = FromMicros(authTime), FromMicros(created), FromMicros(expires)
	return r, err
}

// CreateAuthRequest inserts r.
func (t *Tx) CreateAuthRequest(ctx context.Context, r tacit.AuthRequest) error {
	_, err := t.Q.Exec(ctx,
		`INSERT INTO oidc_auth_requests (id, client_id, request, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		r.ID, r.ClientID, r.Request, Micros(r.CreatedAt), Micros(r.ExpiresAt))
	return t.created("create auth request", err)
}

// AuthRequestByID finds an unexpired request by ID.
func (t *Tx) AuthRequestByID(ctx context.Context, id string, now time.Time) (tacit.AuthRequest, error) {
	row := t.Q.QueryRow(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests
		WHERE id = $1 AND expires_at > $2`+t.lock(), id, Micros(now))
	r, err := scanAuthRequest(row)
	if err != nil {
		return r, NotFound("auth request", err)
	}
	return r, nil
}

// AuthRequestByCode finds an unexpired request by its code's hash. The row
// is locked in a write transaction, so a code spent twice at once is
// spent once.
func (t *Tx) AuthRequestByCode(ctx context.Context, h []byte, now time.Time) (tacit.AuthRequest, error) {
	row := t.Q.QueryRow(ctx, `SELECT `+authRequestColumns+` FROM oidc_auth_requests
		WHERE code_hash = $1 AND expires_at > $2`+t.lock(), h, Micros(now))
	r, err := scanAuthRequest(row)
	if err != nil {
		return r, NotFound("auth request by code", err)
	}
	return r, nil
}

// CompleteAuthRequest records a sign-in on a request that has no code
// yet.
func (t *Tx) CompleteAuthRequest(ctx context.Context, id string, accountID int64, authTime time.Time) error {
	n, err := t.Q.Exec(ctx, `UPDATE oidc_auth_requests SET account_id = $1, auth_time = $2 WHERE id = $3 AND code_hash IS NULL`,
		accountID, Micros(authTime), id)
	return oneRow("complete auth request", n, err)
}

// SetAuthRequestCode records the hash of a request's code, once.
func (t *Tx) SetAuthRequestCode(ctx context.Context, id string, h []byte) error {
	n, err := t.Q.Exec(ctx, `UPDATE oidc_auth_requests SET code_hash = $1 WHERE id = $2 AND code_hash IS NULL`, h, id)
	if err == nil && n == 0 {
		if _, err := t.AuthRequestByID(ctx, id, time.Time{}); err != nil {
			return err
		}
		return fmt.Errorf("set auth request code: %w", tacit.ErrConflict)
	}
	return t.created("set auth request code", err)
}

// SpendAuthRequest records the grant a request's code was exchanged
// for, once: the condition and the write are one statement.
func (t *Tx) SpendAuthRequest(ctx context.Context, id, grantID string) error {
	n, err := t.Q.Exec(ctx, `UPDATE oidc_auth_requests SET grant_id = $1 WHERE id = $2 AND grant_id IS NULL`, grantID, id)
	if err == nil && n == 0 {
		if _, err := t.AuthRequestByID(ctx, id, time.Time{}); err != nil {
			return err
		}
		return fmt.Errorf("spend auth request: %w", tacit.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("spend auth request: %w", err)
	}
	return nil
}

// DeleteAuthRequest removes a request.
func (t *Tx) DeleteAuthRequest(ctx context.Context, id string) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM oidc_auth_requests WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete auth request: %w", err)
	}
	return nil
}

const grantColumns = `id, account_id, client_id, scopes, auth_time, password_stamp, refresh_hash, access_hash, access_expires_at, created_at, expires_at`

func scanGrant(row Row) (tacit.Grant, error) {
	var g tacit.Grant
	var scopes string
	var authTime, accessExp, created, expires int64
	err := row.Scan(&g.ID, &g.AccountID, &g.ClientID, &scopes, &authTime, &g.PasswordStamp,
		&g.RefreshHash, &g.AccessHash, &accessExp, &created, &expires)
	g.Scopes = unlines(scopes)
	g.AuthTime, g.AccessExpiresAt = FromMicros(authTime), FromMicros(accessExp)
	g.CreatedAt, g.ExpiresAt = FromMicros(created), FromMicros(expires)
	return g, err
}

// CreateGrant inserts g.
func (t *Tx) CreateGrant(ctx context.Context, g tacit.Grant) error {
	_, err := t.Q.Exec(ctx, `INSERT INTO oidc_grants (`+grantColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		g.ID, g.AccountID, g.ClientID, lines(g.Scopes), Micros(g.AuthTime), g.PasswordStamp,
		g.RefreshHash, g.AccessHash, Micros(g.AccessExpiresAt), Micros(g.CreatedAt), Micros(g.ExpiresAt))
	return t.created("create grant", err)
}

// GrantByID finds an unexpired grant.
func (t *Tx) GrantByID(ctx context.Context, id string, now time.Time) (tacit.Grant, error) {
	row := t.Q.QueryRow(ctx, `SELECT `+grantColumns+` FROM oidc_grants WHERE id = $1 AND expires_at > $2`+t.lock(), id, Micros(now))
	g, err := scanGrant(row)
	if err != nil {
		return g, NotFound("grant", err)
	}
	return g, nil
}

// RotateGrant replaces a grant's tokens if its refresh token is still
// oldRefresh.
func (t *Tx) RotateGrant(ctx context.Context, g tacit.Grant, oldRefresh []byte) error {
	n, err := t.Q.Exec(ctx, `UPDATE oidc_grants SET refresh_hash = $1, access_hash = $2, access_expires_at = $3, expires_at = $4
		WHERE id = $5 AND refresh_hash = $6`,
		g.RefreshHash, g.AccessHash, Micros(g.AccessExpiresAt), Micros(g.ExpiresAt), g.ID, oldRefresh)
	if err != nil {
		return fmt.Errorf("rotate grant: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("rotate grant: %w", tacit.ErrConflict)
	}
	return nil
}

// RevokeAccessToken clears a grant's access token.
func (t *Tx) RevokeAccessToken(ctx context.Context, id string) error {
	if _, err := t.Q.Exec(ctx, `UPDATE oidc_grants SET access_hash = NULL WHERE id = $1`, id); err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	}
	return nil
}

// DeleteGrant removes a grant.
func (t *Tx) DeleteGrant(ctx context.Context, id string) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM oidc_grants WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete grant: %w", err)
	}
	return nil
}

// DeleteGrants removes an account's grants to a client, or to all.
func (t *Tx) DeleteGrants(ctx context.Context, accountID int64, clientID string) error {
	_, err := t.Q.Exec(ctx, `DELETE FROM oidc_grants WHERE account_id = $1 AND ($2 = '' OR client_id = $2)`, accountID, clientID)
	if err != nil {
		return fmt.Errorf("delete grants: %w", err)
	}
	return nil
}

const clientColumns = `id, name, secret_hash, redirect_uris, post_logout_redirect_uris, first_party, id_token_alg, created_at`

func scanOIDCClient(row Row) (tacit.OIDCClient, error) {
	var c tacit.OIDCClient
	var redirects, logouts string
	var created int64
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &redirects, &logouts, &c.FirstParty, &c.IDTokenAlg, &created)
	c.RedirectURIs, c.PostLogoutRedirectURIs, c.CreatedAt = unlines(redirects), unlines(logouts), FromMicros(created)
	return c, err
}

// CreateOIDCClient inserts c.
func (t *Tx) CreateOIDCClient(ctx context.Context, c tacit.OIDCClient) error {
	_, err := t.Q.Exec(ctx, `INSERT INTO oidc_clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.ID, c.Name, c.SecretHash, lines(c.RedirectURIs), lines(c.PostLogoutRedirectURIs), c.FirstParty, c.IDTokenAlg, Micros(c.CreatedAt))
	return t.created("create client", err)
}

// OIDCClientByID finds a stored client.
func (t *Tx) OIDCClientByID(ctx context.Context, id string) (tacit.OIDCClient, error) {
	c, err := scanOIDCClient(t.Q.QueryRow(ctx, `SELECT `+clientColumns+` FROM oidc_clients WHERE id = $1`, id))
	if err != nil {
		return c, NotFound("client", err)
	}
	return c, nil
}

// OIDCClients lists the stored clients.
func (t *Tx) OIDCClients(ctx context.Context) ([]tacit.OIDCClient, error) {
	list, err := collect(ctx, t.Q, scanOIDCClient, `SELECT `+clientColumns+` FROM oidc_clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("clients: %w", err)
	}
	return list, nil
}

// DeleteOIDCClient removes a stored client with its grants and consents.
func (t *Tx) DeleteOIDCClient(ctx context.Context, id string) error {
	for _, q := range []string{`DELETE FROM oidc_grants WHERE client_id = $1`, `DELETE FROM oidc_consents WHERE client_id = $1`,
		`DELETE FROM oidc_auth_requests WHERE client_id = $1`} {
		if _, err := t.Q.Exec(ctx, q, id); err != nil {
			return fmt.Errorf("delete client: %w", err)
		}
	}
	n, err := t.Q.Exec(ctx, `DELETE FROM oidc_clients WHERE id = $1`, id)
	return oneRow("delete client", n, err)
}

// SaveConsent records a consent, replacing the earlier one.
func (t *Tx) SaveConsent(ctx context.Context, c tacit.Consent) error {
	_, err := t.Q.Exec(ctx, `INSERT INTO oidc_consents (account_id, client_id, scopes, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id, client_id) DO UPDATE SET scopes = excluded.scopes, created_at = excluded.created_at`,
		c.AccountID, c.ClientID, lines(c.Scopes), Micros(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("save consent: %w", err)
	}
	return nil
}

func scanConsent(row Row) (tacit.Consent, error) {
	var c tacit.Consent
	var scopes string
	var created int64
	err := row.Scan(&c.AccountID, &c.ClientID, &scopes, &created)
	c.Scopes, c.CreatedAt = unlines(scopes), FromMicros(created)
	return c, err
}

// Consents lists an account's consents.
func (t *Tx) Consents(ctx context.Context, accountID int64) ([]tacit.Consent, error) {
	list, err := collect(ctx, t.Q, scanConsent,
		`SELECT account_id, client_id, scopes, created_at FROM oidc_consents WHERE account_id = $1 ORDER BY client_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("consents: %w", err)
	}
	return list, nil
}

// DeleteConsent forgets a consent and ends the client's grants for the
// account.
func (t *Tx) DeleteConsent(ctx context.Context, accountID int64, clientID string) error {
	n, err := t.Q.Exec(ctx, `DELETE FROM oidc_consents WHERE account_id = $1 AND client_id = $2`, accountID, clientID)
	if err := oneRow("delete consent", n, err); err != nil {
		return err
	}
	return t.DeleteGrants(ctx, accountID, clientID)
}

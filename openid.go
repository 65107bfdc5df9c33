package tacit

import (
	"context"
	"time"
)

// SigningKey is a key the OpenID Connect provider signs ID tokens with.
// Every instance on one database signs with the same key.
type SigningKey struct {
	ID         string
	Algorithm  string // JOSE name: "ES256", or "RS256" for clients that ask for it
	PrivateKey []byte // PKCS #8, DER
	CreatedAt  time.Time
	// RetiredAt is zero for the key that signs (one per algorithm). A
	// retired key no longer signs but is still published, so tokens it
	// signed stay verifiable until they expire; then it is deleted.
	RetiredAt time.Time
}

// AuthRequest is an OpenID Connect authorization request: stored when a
// client sends the browser to /authorize, completed by a sign-in, then
// given a code the client exchanges once.
type AuthRequest struct {
	ID       string // random, in the browser's URL while it signs in
	ClientID string
	Request  []byte // the parsed request, JSON
	// AccountID and AuthTime are set once a sign-in completes the request.
	AccountID int64
	AuthTime  time.Time
	CodeHash  []byte // SHA-256 of the code, once one is issued
	// GrantID is the grant the code was exchanged for: a spent request is
	// kept until it expires, so a code presented again ends that grant.
	GrantID   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Grant is what one code exchange gave a client, and every refresh after:
// the current access token and, with offline_access, the current refresh
// token of its rotation family. Tokens are stored hashed.
type Grant struct {
	ID        string
	AccountID int64
	ClientID  string
	Scopes    []string
	AuthTime  time.Time
	// PasswordStamp is PasswordStamp(account's hash) at sign-in: a
	// password changed since kills the grant's tokens.
	PasswordStamp   []byte
	RefreshHash     []byte // nil without a refresh token
	AccessHash      []byte // nil once the access token is revoked
	AccessExpiresAt time.Time
	CreatedAt       time.Time
	ExpiresAt       time.Time // the grant's end: its refresh token's, or its access token's
}

// OIDCClient is a relying party added from the command line (those of the
// configuration file are not stored).
type OIDCClient struct {
	ID                     string
	Name                   string
	SecretHash             []byte // nil for a public client
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	FirstParty             bool // asks no consent
	// IDTokenAlg is "RS256" for a client that verifies only RSA
	// signatures; "" signs its ID tokens with ES256.
	IDTokenAlg string
	CreatedAt  time.Time
}

// Consent is an account's remembered consent to a client's scopes.
type Consent struct {
	AccountID int64
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
}

// OpenIDStore keeps the OpenID Connect provider's state: signing keys,
// subject ids, authorization requests, grants, clients and consents.
type OpenIDStore interface {
	// SigningKeys lists every signing key, newest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// CreateSigningKey inserts k; ErrConflict if its ID is taken.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// RetireSigningKey sets RetiredAt to at on the key with this id if it
	// still signs; ErrConflict if it was retired already (another
	// instance rotated it first), ErrNotFound if there is no such key.
	RetireSigningKey(ctx context.Context, id string, at time.Time) error
	// DeleteSigningKeys removes the keys retired before t.
	DeleteSigningKeys(ctx context.Context, retiredBefore time.Time) error

	// Subject returns an account's subject id; ErrNotFound if it has
	// none yet.
	Subject(ctx context.Context, accountID int64) (string, error)
	// CreateSubject gives an account its subject id; ErrConflict if the
	// account has one or the id is taken.
	CreateSubject(ctx context.Context, accountID int64, subject string) error
	// AccountBySubject returns the ID of the account with this subject id.
	AccountBySubject(ctx context.Context, subject string) (int64, error)

	// CreateAuthRequest inserts r.
	CreateAuthRequest(ctx context.Context, r AuthRequest) error
	// AuthRequestByID finds the request with this ID whose ExpiresAt is
	// after now.
	AuthRequestByID(ctx context.Context, id string, now time.Time) (AuthRequest, error)
	// AuthRequestByCode finds the request whose code hash is h and whose
	// ExpiresAt is after now.
	AuthRequestByCode(ctx context.Context, h []byte, now time.Time) (AuthRequest, error)
	// CompleteAuthRequest records the sign-in of accountID at authTime
	// on a request; ErrNotFound if there is no such request or it has a
	// code already (its sign-in can no longer change).
	CompleteAuthRequest(ctx context.Context, id string, accountID int64, authTime time.Time) error
	// SetAuthRequestCode records the hash of the request's code;
	// ErrNotFound if there is no such request, ErrConflict if it has a
	// code already.
	SetAuthRequestCode(ctx context.Context, id string, h []byte) error
	// SpendAuthRequest records that a request's code was exchanged for
	// grant grantID; ErrConflict if it was spent already, ErrNotFound if
	// there is no such request.
	SpendAuthRequest(ctx context.Context, id, grantID string) error
	// DeleteAuthRequest removes a request; a missing one is not an error.
	DeleteAuthRequest(ctx context.Context, id string) error

	// CreateGrant inserts g.
	CreateGrant(ctx context.Context, g Grant) error
	// GrantByID finds the grant with this ID whose ExpiresAt is after now.
	GrantByID(ctx context.Context, id string, now time.Time) (Grant, error)
	// RotateGrant replaces the tokens of grant g.ID with g's, if its
	// refresh token hash is still oldRefresh; otherwise (another request
	// rotated it first) it changes nothing and returns ErrConflict. The
	// comparison and the write are one statement.
	RotateGrant(ctx context.Context, g Grant, oldRefresh []byte) error
	// RevokeAccessToken clears a grant's access token hash.
	RevokeAccessToken(ctx context.Context, id string) error
	// DeleteGrant removes a grant; a missing one is not an error.
	DeleteGrant(ctx context.Context, id string) error
	// DeleteGrants removes every grant of an account to a client, or to
	// any client if clientID is "".
	DeleteGrants(ctx context.Context, accountID int64, clientID string) error

	// CreateOIDCClient inserts c; ErrConflict if its ID is taken.
	CreateOIDCClient(ctx context.Context, c OIDCClient) error
	// OIDCClientByID finds a stored client.
	OIDCClientByID(ctx context.Context, id string) (OIDCClient, error)
	// OIDCClients lists the stored clients by ID.
	OIDCClients(ctx context.Context) ([]OIDCClient, error)
	// DeleteOIDCClient removes a stored client, with its grants and
	// consents; ErrNotFound if there is none.
	DeleteOIDCClient(ctx context.Context, id string) error

	// SaveConsent records c, replacing the account's earlier consent to
	// the client.
	SaveConsent(ctx context.Context, c Consent) error
	// Consents lists an account's consents by client ID.
	Consents(ctx context.Context, accountID int64) ([]Consent, error)
	// DeleteConsent forgets an account's consent to a client, and ends
	// the client's grants for it; ErrNotFound if there was none.
	DeleteConsent(ctx context.Context, accountID int64, clientID string) error
}

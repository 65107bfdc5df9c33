package openid

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/tacitauth/tacit"
)

// storage is op.Storage over tacit.Store.
type storage struct {
	store   tacit.Store
	cfg     Config
	clients map[string]*client
	ensure  sync.Mutex // one RSA key made on first need, not one per request
}

var _ op.Storage = (*storage)(nil)

func newStorage(store tacit.Store, cfg Config) (*storage, error) {
	clients, err := configClients(cfg.Clients, cfg.IDTokenLifetime)
	if err != nil {
		return nil, err
	}
	return &storage{store: store, cfg: cfg, clients: clients}, nil
}

// randomID returns 128 random bits, base64url.
func randomID() string {
	b := make([]byte, 16)
	rand.Read(b) // crypto/rand.Read never fails; it crashes the program instead.
	return base64.RawURLEncoding.EncodeToString(b)
}

// errPKCE refuses an authorization request without an S256 code
// challenge where one is required, or with another method.
func errPKCE(text string) error { return oidc.ErrInvalidRequest().WithDescription("%s", text) }

// CreateAuthRequest stores an authorization request the op package has
// checked against its client. PKCE is S256 only (plain protects nothing
// against a code read in transit), and required of public clients.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, err := s.clientByID(ctx, req.ClientID)
	if err != nil {
		return nil, err
	}
	switch {
	case req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, errPKCE("code_challenge_method must be S256")
	case req.CodeChallenge == "" && c.public():
		return nil, errPKCE("a public client must send a code_challenge (PKCE, S256)")
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	stored := tacit.AuthRequest{ID: randomID(), ClientID: req.ClientID, Request: body, CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeLifetime)}
	if err := s.store.Update(ctx, func(tx tacit.Tx) error { return tx.CreateAuthRequest(ctx, stored) }); err != nil {
		return nil, fmt.Errorf("create auth request: %w", err)
	}
	return &authRequest{stored: stored, req: *req}, nil
}

// load turns a stored request into an authRequest, with its subject if
// a sign-in completed it.
func load(ctx context.Context, tx tacit.Tx, stored tacit.AuthRequest) (*authRequest, error) {
	a := &authRequest{stored: stored}
	if err := json.Unmarshal(stored.Request, &a.req); err != nil {
		return nil, fmt.Errorf("auth request %s: %w", stored.ID, err)
	}
	if stored.AccountID != 0 {
		sub, err := tx.Subject(ctx, stored.AccountID)
		if err != nil {
			return nil, err
		}
		a.subject = sub
	}
	return a, nil
}

// notFound is what the op package gets for anything missing: it answers
// it as an invalid request or grant, never as a server error.
type notFound struct{ error }

func (notFound) IsNotFound() {}

func lookupErr(what string, err error) error {
	if errors.Is(err, tacit.ErrNotFound) {
		return notFound{fmt.Errorf("%s: %w", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// AuthRequestByID finds an unexpired authorization request.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, err := s.authRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (s *storage) authRequest(ctx context.Context, id string) (*authRequest, error) {
	var a *authRequest
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		stored, err := tx.AuthRequestByID(ctx, id, s.cfg.Now())
		if err != nil {
			return err
		}
		if stored.GrantID != "" {
			// Its code was exchanged: the request is over.
			return tacit.ErrNotFound
		}
		a, err = load(ctx, tx, stored)
		return err
	})
	if err != nil {
		return nil, lookupErr("auth request", err)
	}
	return a, nil
}

// AuthRequestByCode finds the completed request a code was issued for.
// A code exchanged already is presented again: the code leaked, and
// whoever exchanged it first may be the thief, so the grant it gave
// ends (RFC 6749 section 4.1.2) and the request is refused.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	var a *authRequest
	var spent string
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		stored, err := tx.AuthRequestByCode(ctx, tacit.HashToken(code), s.cfg.Now())
		if err != nil {
			return err
		}
		if stored.GrantID != "" {
			spent = stored.GrantID
			return tacit.ErrNotFound
		}
		if stored.AccountID == 0 {
			return tacit.ErrNotFound
		}
		a, err = load(ctx, tx, stored)
		return err
	})
	if spent != "" {
		s.kill(ctx, spent)
	}
	if err != nil {
		return nil, lookupErr("auth request by code", err)
	}
	return a, nil
}

// SaveAuthCode records the hash of the code issued for a request.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.store.Update(ctx, func(tx tacit.Tx) error { return tx.SetAuthRequestCode(ctx, id, tacit.HashToken(code)) })
}

// DeleteAuthRequest forgets a request, unless its code was exchanged:
// the op package calls it once the code is exchanged, but a spent
// request is kept until it expires, so that the code presented again
// ends its grant (see AuthRequestByCode); the purge removes it.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.store.Update(ctx, func(tx tacit.Tx) error {
		r, err := tx.AuthRequestByID(ctx, id, time.Time{})
		if errors.Is(err, tacit.ErrNotFound) || (err == nil && r.GrantID != "") {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.DeleteAuthRequest(ctx, id)
	})
}

// CreateAccessToken issues an access token without a refresh token.
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	id, _, exp, err := s.grant(ctx, req, false)
	return id, exp, err
}

// CreateAccessAndRefreshTokens issues an access token and a refresh token:
// a new grant for a code, or the next pair of a grant's rotation for a
// refresh token.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	if current == "" {
		return s.grant(ctx, req, true)
	}
	return s.rotate(ctx, current)
}

// grant starts a grant for an exchanged code. Marking the request spent
// in the same transaction spends the code: of two exchanges of one code,
// only one marks it and gets tokens; the other ends the grant the first
// got (a code used twice has leaked).
func (s *storage) grant(ctx context.Context, req op.TokenRequest, refresh bool) (accessID, refreshToken string, exp time.Time, err error) {
	a, ok := req.(*authRequest)
	if !ok {
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	now := s.cfg.Now().UTC()
	g := tacit.Grant{ID: randomID(), ClientID: a.GetClientID(), Scopes: a.GetScopes(), AuthTime: a.stored.AuthTime,
		AccountID: a.stored.AccountID, CreatedAt: now, AccessExpiresAt: now.Add(s.cfg.AccessTokenLifetime)}
	g.ExpiresAt = g.AccessExpiresAt
	accessSecret, accessHash := tacit.NewToken()
	g.AccessHash = accessHash
	if refresh {
		var refreshSecret string
		refreshSecret, g.RefreshHash = tacit.NewToken()
		refreshToken = g.ID + "." + refreshSecret
		g.ExpiresAt = now.Add(s.cfg.RefreshTokenLifetime)
	}
	var spent string
	err = s.store.Update(ctx, func(tx tacit.Tx) error {
		stored, err := tx.AuthRequestByCode(ctx, a.stored.CodeHash, now)
		if err != nil || stored.ID != a.stored.ID {
			return oidc.ErrInvalidGrant().WithDescription("invalid code")
		}
		if stored.GrantID != "" {
			spent = stored.GrantID
			return oidc.ErrInvalidGrant().WithDescription("invalid code")
		}
		if err := tx.SpendAuthRequest(ctx, stored.ID, g.ID); err != nil {
			return err
		}
		acct, err := tx.AccountByID(ctx, g.AccountID)
		if err != nil {
			return err
		}
		g.PasswordStamp = tacit.PasswordStamp(acct.PasswordHash)
		return tx.CreateGrant(ctx, g)
	})
	if spent != "" {
		s.kill(ctx, spent)
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	return g.ID + "." + accessSecret, refreshToken, g.AccessExpiresAt, nil
}

// splitToken splits "grant.secret".
func splitToken(t string) (grant, secret string, ok bool) {
	grant, secret, ok = strings.Cut(t, ".")
	return grant, secret, ok && grant != "" && tacit.WellFormedToken(secret)
}

// rotate replaces a grant's refresh token (already checked by
// TokenRequestByRefreshToken) and access token with new ones. If another
// request rotated it in between, the token was used twice: the grant
// dies.
func (s *storage) rotate(ctx context.Context, current string) (string, string, time.Time, error) {
	id, secret, ok := splitToken(current)
	if !ok {
		return "", "", time.Time{}, op.ErrInvalidRefreshToken
	}
	now := s.cfg.Now().UTC()
	var g tacit.Grant
	var accessSecret, refreshSecret string
	err := s.store.Update(ctx, func(tx tacit.Tx) error {
		var err error
		if g, err = tx.GrantByID(ctx, id, now); err != nil {
			return err
		}
		accessSecret, g.AccessHash = tacit.NewToken()
		refreshSecret, g.RefreshHash = tacit.NewToken()
		g.AccessExpiresAt = now.Add(s.cfg.AccessTokenLifetime)
		g.ExpiresAt = now.Add(s.cfg.RefreshTokenLifetime)
		return tx.RotateGrant(ctx, g, tacit.HashToken(secret))
	})
	if errors.Is(err, tacit.ErrConflict) {
		s.kill(ctx, id)
	}
	if err != nil {
		return "", "", time.Time{}, op.ErrInvalidRefreshToken
	}
	return g.ID + "." + accessSecret, g.ID + "." + refreshSecret, g.AccessExpiresAt, nil
}

// kill ends a grant whose refresh token or code was used twice: one of
// the two users is a thief, and neither can be told apart, so both lose
// it.
func (s *storage) kill(ctx context.Context, id string) {
	err := s.store.Update(context.WithoutCancel(ctx), func(tx tacit.Tx) error { return tx.DeleteGrant(ctx, id) })
	if err != nil {
		s.cfg.Logger.Error("openid: end a grant whose refresh token or code was reused", "err", err)
	}
}

// liveGrant reads grant id with the account it belongs to, and checks
// that the account may still use it: not disabled, and its password
// unchanged since the sign-in (a password change ends every grant).
func (s *storage) liveGrant(ctx context.Context, tx tacit.Tx, id string) (tacit.Grant, string, error) {
	g, err := tx.GrantByID(ctx, id, s.cfg.Now())
	if err != nil {
		return g, "", err
	}
	a, err := tx.AccountByID(ctx, g.AccountID)
	if err != nil {
		return g, "", err
	}
	if a.Disabled || subtle.ConstantTimeCompare(tacit.PasswordStamp(a.PasswordHash), g.PasswordStamp) != 1 {
		return g, "", tacit.ErrNotFound
	}
	sub, err := tx.Subject(ctx, g.AccountID)
	return g, sub, err
}

// TokenRequestByRefreshToken checks a refresh token. One that is not its
// grant's current token (already rotated) means the token was copied:
// the grant dies, for the thief and the owner alike.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	id, secret, ok := splitToken(token)
	if !ok {
		return nil, op.ErrInvalidRefreshToken
	}
	var r *refreshRequest
	reused := false
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		g, sub, err := s.liveGrant(ctx, tx, id)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(g.RefreshHash, tacit.HashToken(secret)) != 1 {
			reused = g.RefreshHash != nil
			return tacit.ErrNotFound
		}
		r = &refreshRequest{grant: g, subject: sub, token: token}
		return nil
	})
	if reused {
		s.kill(ctx, id)
	}
	if err != nil {
		if !errors.Is(err, tacit.ErrNotFound) {
			return nil, err
		}
		return nil, op.ErrInvalidRefreshToken
	}
	return r, nil
}

// TerminateSession ends a user's grants to a client (RP-initiated
// logout).
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	return s.store.Update(ctx, func(tx tacit.Tx) error {
		id, err := tx.AccountBySubject(ctx, userID)
		if errors.Is(err, tacit.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.DeleteGrants(ctx, id, clientID)
	})
}

// refreshPrefix marks the token ID GetRefreshTokenInfo hands to
// RevokeToken, to tell it from an access token's. The ID is the refresh
// token itself, checked again by RevokeToken: the op package passes a
// token it could not identify to RevokeToken as it came, so an ID any
// client could write (the grant's id alone) would revoke without the
// token.
const refreshPrefix = "refresh:"

// GetRefreshTokenInfo identifies a refresh token for revocation.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	r, err := s.TokenRequestByRefreshToken(ctx, token)
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	if r.GetClientID() != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return r.GetSubject(), refreshPrefix + token, nil
}

// RevokeToken revokes a refresh token (its whole grant) or an access
// token. A token of another client, or none, is not an error (RFC 7009).
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _, clientID string) *oidc.Error {
	err := s.store.Update(ctx, func(tx tacit.Tx) error {
		if token, ok := strings.CutPrefix(tokenOrID, refreshPrefix); ok {
			id, secret, ok := splitToken(token)
			if !ok {
				return nil
			}
			g, err := tx.GrantByID(ctx, id, s.cfg.Now())
			if err != nil || g.ClientID != clientID || subtle.ConstantTimeCompare(g.RefreshHash, tacit.HashToken(secret)) != 1 {
				return nil
			}
			return tx.DeleteGrant(ctx, id)
		}
		id, secret, ok := splitToken(tokenOrID)
		if !ok {
			return nil
		}
		g, err := tx.GrantByID(ctx, id, s.cfg.Now())
		if err != nil || g.ClientID != clientID || subtle.ConstantTimeCompare(g.AccessHash, tacit.HashToken(secret)) != 1 {
			return nil
		}
		return tx.RevokeAccessToken(ctx, id)
	})
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// SigningKey returns the newest key that signs with the algorithm of the
// client the token request is for (see withClient): ES256, or RS256 for
// a client configured for it. The RSA key is made on first need.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	alg := jose.ES256
	if id, ok := ctx.Value(clientKey{}).(string); ok {
		if c, err := s.clientByID(ctx, id); err == nil && c.idTokenAlg != "" {
			alg = c.idTokenAlg
		}
	}
	k, err := s.signingKey(ctx, alg)
	if err != nil || k != nil {
		return k, err
	}
	s.ensure.Lock()
	defer s.ensure.Unlock()
	if err := EnsureKey(ctx, s.store, alg, s.cfg.Now()); err != nil {
		return nil, err
	}
	if k, err = s.signingKey(ctx, alg); err == nil && k == nil {
		err = fmt.Errorf("openid: no %s signing key", alg)
	}
	return k, err
}

// signingKey returns the newest key of alg that signs, or nil.
func (s *storage) signingKey(ctx context.Context, alg jose.SignatureAlgorithm) (op.SigningKey, error) {
	keys, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	if l := live(keys, alg); len(l) > 0 {
		p, err := parseKey(l[0])
		if err != nil {
			return nil, err
		}
		return signingKey{p}, nil
	}
	return nil, nil
}

// clientKey is the context key of the client a token request names.
type clientKey struct{}

func (s *storage) keys(ctx context.Context) ([]tacit.SigningKey, error) {
	var keys []tacit.SigningKey
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		keys, err = tx.SigningKeys(ctx)
		return err
	})
	return keys, err
}

// SignatureAlgorithms lists the algorithms ID tokens may be signed with.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return Algorithms, nil
}

// KeySet publishes every key, retired ones included (see RotateKey).
func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		p, err := parseKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, publicKey{p})
	}
	return out, nil
}

// GetClientByClientID finds a client. An unknown one is invalid_client
// (401 at the token endpoint, as a wrong secret is), not a server error.
func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.clientByID(ctx, id)
	if errors.Is(err, errUnknownClient) {
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.clientByID(ctx, id)
	if errors.Is(err, errUnknownClient) {
		// Spend the same comparison as for a known client.
		(&client{secretHash: make([]byte, 32)}).checkSecret(secret)
		return oidc.ErrInvalidClient()
	}
	if err != nil {
		return err
	}
	if !c.checkSecret(secret) {
		return oidc.ErrInvalidClient()
	}
	return nil
}

// userinfo fills the claims the scopes allow for an account.
func userinfo(info *oidc.UserInfo, sub string, a tacit.Account, scopes []string) {
	info.Subject = sub
	if slices.Contains(scopes, oidc.ScopeEmail) {
		// Accounts exist only once their address is confirmed.
		info.Email, info.EmailVerified = a.Email, true
	}
}

// SetUserinfoFromScopes fills the ID token's claims.
func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, sub, _ string, scopes []string) error {
	return s.store.View(ctx, func(tx tacit.Tx) error {
		id, err := tx.AccountBySubject(ctx, sub)
		if err != nil {
			return err
		}
		a, err := tx.AccountByID(ctx, id)
		if err != nil {
			return err
		}
		userinfo(info, sub, a, scopes)
		return nil
	})
}

// accessGrant checks an access token's ID and returns its grant, the
// subject and the account.
func (s *storage) accessGrant(ctx context.Context, tokenID string) (tacit.Grant, string, tacit.Account, error) {
	var (
		g   tacit.Grant
		sub string
		a   tacit.Account
	)
	id, secret, ok := splitToken(tokenID)
	if !ok {
		return g, sub, a, errors.New("invalid access token")
	}
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		if g, sub, err = s.liveGrant(ctx, tx, id); err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(g.AccessHash, tacit.HashToken(secret)) != 1 || !s.cfg.Now().Before(g.AccessExpiresAt) {
			return tacit.ErrNotFound
		}
		a, err = tx.AccountByID(ctx, g.AccountID)
		return err
	})
	if err != nil {
		return g, sub, a, fmt.Errorf("access token: %w", err)
	}
	return g, sub, a, nil
}

// SetUserinfoFromToken answers the userinfo endpoint.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	g, sub, a, err := s.accessGrant(ctx, tokenID)
	if err != nil {
		return err
	}
	if sub != subject {
		return errors.New("access token: subject mismatch")
	}
	userinfo(info, sub, a, g.Scopes)
	return nil
}

// SetIntrospectionFromToken answers the introspection endpoint for the
// client the token was issued to; for any other token the answer stays
// inactive.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	g, sub, a, err := s.accessGrant(ctx, tokenID)
	if err != nil || sub != subject || g.ClientID != clientID {
		return errors.New("access token: not active")
	}
	var info oidc.UserInfo
	userinfo(&info, sub, a, g.Scopes)
	resp.SetUserInfo(&info)
	resp.Active = true
	resp.Scope = oidc.SpaceDelimitedArray(g.Scopes)
	resp.ClientID = g.ClientID
	resp.Audience = []string{g.ClientID}
	resp.Expiration = oidc.FromTime(g.AccessExpiresAt)
	resp.IssuedAt = oidc.FromTime(g.CreatedAt)
	resp.TokenType = oidc.BearerToken
	return nil
}

// GetPrivateClaimsFromScopes adds no claims of its own.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID: JWT client authentication is not offered.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt is not supported")
}

// ValidateJWTProfileScopes: the JWT profile grant is not offered.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

// Health reports the storage as healthy; /readyz checks the database.
func (s *storage) Health(context.Context) error { return nil }

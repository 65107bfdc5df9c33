package openid

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/tacitauth/tacit"
)

// client is a relying party as the op package sees it (op.Client), from
// the configuration file or the store.
type client struct {
	id, name             string
	secretHash           []byte // nil for a public client
	redirects, postLogin []string
	firstParty           bool
	idTokenLifetime      time.Duration
	idTokenAlg           jose.SignatureAlgorithm // "" for ES256
}

// hashSecret is how client secrets are kept: SHA-256 (they are random
// and long, so a slow hash adds nothing).
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte("tacit client secret\x00" + secret))
	return h[:]
}

func (c *client) public() bool                        { return c.secretHash == nil }
func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirects }
func (c *client) PostLogoutRedirectURIs() []string    { return c.postLogin }
func (c *client) LoginURL(id string) string           { return PathResume + "?id=" + id }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return c.idTokenLifetime }

// DevMode lets an http redirect URI registered for a public client be
// used: redirect URIs are matched exactly, so which schemes and hosts are
// allowed is the administrator's choice when registering them.
func (c *client) DevMode() bool { return true }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts the email claims in the ID token
// too: many relying parties read them only there.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

// ApplicationType: a public client is a user-agent or native app, which
// cannot keep a secret; a confidential one is a web server.
func (c *client) ApplicationType() op.ApplicationType {
	if c.public() {
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (c *client) AuthMethod() oidc.AuthMethod {
	if c.public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

// errUnknownClient is every lookup of a client that does not exist.
var errUnknownClient = errors.New("unknown client")

// clientByID finds a client of the configuration file, then of the store.
func (s *storage) clientByID(ctx context.Context, id string) (*client, error) {
	if c, ok := s.clients[id]; ok {
		return c, nil
	}
	var stored tacit.OIDCClient
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		stored, err = tx.OIDCClientByID(ctx, id)
		return err
	})
	if errors.Is(err, tacit.ErrNotFound) {
		return nil, errUnknownClient
	}
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return &client{id: stored.ID, name: stored.Name, secretHash: stored.SecretHash, redirects: stored.RedirectURIs,
		postLogin: stored.PostLogoutRedirectURIs, firstParty: stored.FirstParty, idTokenLifetime: s.cfg.IDTokenLifetime,
		idTokenAlg: jose.SignatureAlgorithm(stored.IDTokenAlg)}, nil
}

// checkSecret reports whether secret is the client's, in time that does
// not depend on where they differ.
func (c *client) checkSecret(secret string) bool {
	if c.public() {
		return false
	}
	return subtle.ConstantTimeCompare(hashSecret(secret), c.secretHash) == 1
}

// configClients turns the clients of the configuration file into
// clients, checking them.
func configClients(list []Client, idLifetime time.Duration) (map[string]*client, error) {
	out := map[string]*client{}
	for _, c := range list {
		if c.ID == "" || len(c.RedirectURIs) == 0 {
			return nil, fmt.Errorf("openid: client %q needs an id and at least one redirect URI", c.ID)
		}
		if _, dup := out[c.ID]; dup {
			return nil, fmt.Errorf("openid: client %q is listed twice", c.ID)
		}
		alg, err := ParseIDTokenAlg(c.IDTokenAlg)
		if err != nil {
			return nil, fmt.Errorf("openid: client %q: %w", c.ID, err)
		}
		cl := &client{id: c.ID, name: c.Name, redirects: c.RedirectURIs, postLogin: c.PostLogoutRedirectURIs,
			firstParty: c.FirstParty, idTokenLifetime: idLifetime, idTokenAlg: alg}
		if cl.name == "" {
			cl.name = c.ID
		}
		if c.Secret != "" {
			cl.secretHash = hashSecret(c.Secret)
		}
		out[c.ID] = cl
	}
	return out, nil
}

// ParseIDTokenAlg reads a client's id_token_alg setting: "" or "ES256"
// (the default, returned as ""), or "RS256" for relying parties that
// verify only RSA signatures.
func ParseIDTokenAlg(s string) (jose.SignatureAlgorithm, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", string(jose.ES256):
		return "", nil
	case string(jose.RS256):
		return jose.RS256, nil
	}
	return "", fmt.Errorf("id_token_alg must be ES256 or RS256, not %q", s)
}

// NewClient makes a client for the store, with a fresh secret unless it is
// public; the secret is returned once and only its hash is stored.
func NewClient(id, name string, redirects, postLogout []string, public, firstParty bool, now time.Time) (tacit.OIDCClient, string) {
	c := tacit.OIDCClient{ID: id, Name: name, RedirectURIs: redirects, PostLogoutRedirectURIs: postLogout, FirstParty: firstParty, CreatedAt: now.UTC()}
	if public {
		return c, ""
	}
	secret, _ := tacit.NewToken()
	c.SecretHash = hashSecret(secret)
	return c, secret
}

// Package openid is tacit's OpenID Connect provider: the authorization
// code flow with PKCE, refresh tokens with rotation, discovery, JWKS,
// userinfo, introspection, revocation and RP-initiated logout, built on
// github.com/zitadel/oidc's op package over tacit.Store. Sign-in itself is
// not here: /authorize sends the browser to tacit's own pages (see
// Resume), so every rule of the sign-in flows (throttling, MFA, the
// uniform answers) applies unchanged.
package openid

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/tacitauth/tacit"
)

// Paths of the provider's endpoints, under the issuer.
const (
	PathDiscovery     = "/.well-known/openid-configuration"
	PathAuthorize     = "/authorize"
	PathCallback      = "/authorize/callback"
	PathToken         = "/oauth/token"
	PathIntrospect    = "/oauth/introspect"
	PathRevoke        = "/oauth/revoke"
	PathUserinfo      = "/userinfo"
	PathEndSession    = "/end_session"
	PathKeys          = "/keys"
	PathResume        = "/authorize/resume" // served by Resume
	PathConsent       = "/authorize/consent"
	pathLoginTemplate = "/login"
)

// Config is the provider's configuration.
type Config struct {
	// Issuer is the public base URL, the "iss" of every token.
	Issuer string
	// Clients are the relying parties of the configuration file; those
	// added with `tacit clients add` are in the store.
	Clients []Client
	// Lifetimes; zero takes the default.
	CodeLifetime, AccessTokenLifetime, IDTokenLifetime, RefreshTokenLifetime time.Duration
	// Insecure allows an http issuer (development on localhost).
	Insecure bool
	Logger   *slog.Logger
	Now      func() time.Time
}

// Client is a relying party of the configuration file.
type Client struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Secret is the client secret of a confidential client; empty for a
	// public client (a single-page or mobile app), which must use PKCE.
	Secret                 string   `yaml:"secret"`
	RedirectURIs           []string `yaml:"redirect_uris"`
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	// FirstParty skips the consent screen: the client belongs to whoever
	// runs tacit.
	FirstParty bool `yaml:"first_party"`
}

// Default lifetimes.
const (
	DefaultCodeLifetime         = 10 * time.Minute
	DefaultAccessTokenLifetime  = 10 * time.Minute
	DefaultIDTokenLifetime      = time.Hour
	DefaultRefreshTokenLifetime = 30 * 24 * time.Hour
)

func (c Config) withDefaults() Config {
	if c.CodeLifetime <= 0 {
		c.CodeLifetime = DefaultCodeLifetime
	}
	if c.AccessTokenLifetime <= 0 {
		c.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if c.IDTokenLifetime <= 0 {
		c.IDTokenLifetime = DefaultIDTokenLifetime
	}
	if c.RefreshTokenLifetime <= 0 {
		c.RefreshTokenLifetime = DefaultRefreshTokenLifetime
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	return c
}

// Provider is the OpenID Connect provider.
type Provider struct {
	cfg     Config
	storage *storage
	op      *op.Provider
}

// New returns the provider over store, making its first signing key if
// the store has none.
func New(ctx context.Context, store tacit.Store, cfg Config) (*Provider, error) {
	cfg = cfg.withDefaults()
	st, err := newStorage(store, cfg)
	if err != nil {
		return nil, err
	}
	if err := EnsureKey(ctx, store, cfg.Now()); err != nil {
		return nil, err
	}
	// Access tokens are the grant's token id encrypted with this key;
	// every instance on the database shares it.
	secret, err := store.Secret(ctx, "openid-token-key")
	if err != nil {
		return nil, fmt.Errorf("openid: %w", err)
	}
	opc := &op.Config{
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedUILocales:    []language.Tag{language.English},
		SupportedScopes:       supportedScopes,
		SupportedClaims:       []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "at_hash", "c_hash", "azp", "email", "email_verified"},
		CryptoKeyId:           "1",
	}
	copy(opc.CryptoKey[:], secret)
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(PathAuthorize[1:]), op.NewEndpoint(PathToken[1:]), op.NewEndpoint(PathUserinfo[1:]),
			op.NewEndpoint(PathRevoke[1:]), op.NewEndpoint(PathEndSession[1:]), op.NewEndpoint(PathKeys[1:])),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathIntrospect[1:])),
		// Browser apps on any origin may call the endpoints that take a
		// client's credentials or a bearer token, but never with the
		// browser's cookies (the op package's default allows them).
		op.WithCORSOptions(&cors.Options{
			AllowedOrigins: []string{"*"},
			AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
			AllowedHeaders: []string{"Accept", "Authorization", "Content-Type"},
		}),
	}
	if cfg.Insecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(opc, st, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("openid: %w", err)
	}
	return &Provider{cfg: cfg, storage: st, op: p}, nil
}

// supportedScopes are the scopes a client may ask for.
var supportedScopes = []string{"openid", "email", "profile", "offline_access"}

// Handler serves the provider's endpoints (every Path* but PathResume and
// PathConsent, which the web layer serves with Resume and Consent).
func (p *Provider) Handler() http.Handler { return p.op }

// Paths lists the paths Handler serves.
func Paths() []string {
	return []string{PathDiscovery, PathAuthorize, PathCallback, PathToken, PathIntrospect, PathRevoke, PathUserinfo, PathEndSession, PathKeys}
}

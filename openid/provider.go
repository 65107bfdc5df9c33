// Package openid is tacit's OpenID Connect provider: the authorization
// code flow with PKCE, refresh tokens with rotation, discovery, JWKS,
// userinfo, introspection, revocation and RP-initiated logout, built on
// github.com/zitadel/oidc's op package over tacit.Store. Sign-in itself is
// not here: /authorize sends the browser to tacit's own pages (see
// Resume), so every rule of the sign-in flows (throttling, MFA, the
// uniform answers) applies unchanged.
package openid

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
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
	// KeyRotation is how long a signing key signs before the scheduled
	// rotation (RotateKeysDue) replaces it; zero takes the default.
	KeyRotation time.Duration
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
	// IDTokenAlg is "RS256" for a relying party that verifies only RSA
	// signatures; empty (or "ES256") signs its ID tokens with ES256.
	IDTokenAlg string `yaml:"id_token_alg,omitempty"`
}

// Default lifetimes.
const (
	DefaultCodeLifetime         = 10 * time.Minute
	DefaultAccessTokenLifetime  = 10 * time.Minute
	DefaultIDTokenLifetime      = time.Hour
	DefaultRefreshTokenLifetime = 30 * 24 * time.Hour
	DefaultKeyRotation          = 30 * 24 * time.Hour
	// KeyMargin is how long a retired key stays published beyond the
	// longest lifetime of a token it signed: for clocks that differ and
	// relying parties that cache the JWKS.
	KeyMargin = time.Hour
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
	if c.KeyRotation <= 0 {
		c.KeyRotation = DefaultKeyRotation
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
	if err := EnsureKey(ctx, store, jose.ES256, cfg.Now()); err != nil {
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
// PathConsent, which the web layer serves with Resume and Consent). A
// token request carries the client it names in its context, so that
// the ID token is signed with that client's algorithm.
func (p *Provider) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case PathToken:
			r = r.WithContext(context.WithValue(r.Context(), clientKey{}, TokenClientID(r)))
		case PathDiscovery:
			p.discovery(w, r)
			return
		}
		p.op.ServeHTTP(w, r)
	})
}

// discovery serves the op package's discovery document with what it does
// not know to say: prompt_values_supported (with create).
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	c := &captured{header: http.Header{}, status: http.StatusOK}
	p.op.ServeHTTP(c, r)
	body := c.body.Bytes()
	var doc map[string]json.RawMessage
	if c.status == http.StatusOK && json.Unmarshal(body, &doc) == nil {
		doc["prompt_values_supported"], _ = json.Marshal(promptValues)
		if b, err := json.Marshal(doc); err == nil {
			body = b
		}
	}
	maps.Copy(w.Header(), c.header)
	w.Header().Del("Content-Length")
	w.WriteHeader(c.status)
	w.Write(body)
}

// captured is a response kept to be changed before it is sent.
type captured struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captured) Header() http.Header         { return c.header }
func (c *captured) WriteHeader(status int)      { c.status = status }
func (c *captured) Write(b []byte) (int, error) { return c.body.Write(b) }

// TokenClientID returns the client a request to the token, introspection
// or revocation endpoint names, as the op package reads it: the user of
// HTTP Basic authentication (form-encoded, RFC 6749 section 2.3.1), else
// the client_id form field. It says nothing about whether the client
// authenticated. It reads the form (r.ParseForm).
func TokenClientID(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(id); err == nil {
			return u
		}
		return id
	}
	if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.PostForm.Get("client_id")
}

// KeyLifetime is how long a retired key stays published: the longest
// lifetime of a token it signed (an ID token; access tokens are opaque,
// but the longer of the two counts), plus KeyMargin.
func (p *Provider) KeyLifetime() time.Duration { return keyLifetime(p.cfg) }

func keyLifetime(cfg Config) time.Duration {
	return max(cfg.IDTokenLifetime, cfg.AccessTokenLifetime) + KeyMargin
}

// RotateKeysDue is the scheduled key rotation the housekeeping runs:
// each key that has signed for Config.KeyRotation is replaced (once,
// however many instances run it), and keys retired more than KeyLifetime
// ago leave the JWKS. It reports the algorithms it rotated.
func (p *Provider) RotateKeysDue(ctx context.Context) ([]jose.SignatureAlgorithm, error) {
	return RotateDue(ctx, p.storage.store, p.cfg.Now(), p.cfg.KeyRotation, p.KeyLifetime())
}

// KeyRotation is the rotation period in force.
func (p *Provider) KeyRotation() time.Duration { return p.cfg.KeyRotation }

// Paths lists the paths Handler serves.
func Paths() []string {
	return []string{PathDiscovery, PathAuthorize, PathCallback, PathToken, PathIntrospect, PathRevoke, PathUserinfo, PathEndSession, PathKeys}
}

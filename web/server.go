// Package web is tacit's HTTP surface: the JSON API, the server-rendered
// HTML pages, the forward-auth endpoint and, in development, the mailbox.
// It maps the public outcomes of package flow to responses in one place
// (outcome.go) and never learns whether an address has an account: the
// flows do not tell it. An Instance is all of tacit inside a Go program:
// this surface, with the mail worker and the storage upkeep alongside.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/metrics"
	"github.com/tacitauth/tacit/openid"
)

// DefaultMaxBodyBytes bounds every request body unless Config says
// otherwise. The largest legitimate body is a few hundred bytes of form.
const DefaultMaxBodyBytes = 64 << 10

// Config is what the HTTP surface needs besides the flows. The zero value
// of each field means its value in DefaultConfig.
type Config struct {
	// Product is shown in page titles.
	Product string
	// BaseURL is the public URL. When it is https, responses carry HSTS.
	BaseURL *url.URL
	// SecureCookies gives cookies the "__Host-" prefix and the Secure
	// attribute. Turn it off only for plain-HTTP development on localhost.
	SecureCookies bool
	// DevMailbox, if set, serves captured mail at GET /_dev/mailbox (JSON)
	// and GET /_dev/mail (a page). When nil those paths do not exist.
	DevMailbox tacit.DevMailbox
	// Logger receives one line per request and every internal error.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// RequestTimeout bounds each request: its context is cancelled this
	// long after it arrives, so a request waiting on an unreachable
	// database gives up and is answered 500. Include the envelope in it.
	// The http.Server's WriteTimeout must leave time after it to write
	// the answer. 0 means no bound.
	RequestTimeout time.Duration
	// Ready reports whether this instance can serve: its database is
	// reachable and migrated. GET /readyz answers 503 while it returns an
	// error; nil means always ready.
	Ready func(ctx context.Context) error
	// TrustedProxies are the reverse proxies in front of tacit. A request
	// whose TCP peer is in one of them has its client address read from
	// X-Forwarded-For (the right-most entry that is not itself a trusted
	// proxy); any other request's client is its TCP peer, whatever the
	// header says. The client address keys the per-client throttling
	// rules, so list only proxies that append to X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// Metrics, if set, counts requests by route and status, and the
	// instance's throttle decisions, sessions and mail. MetricsRoute
	// also serves it at GET /metrics on this handler; without it the
	// caller serves Metrics.Handler where it likes (an address of its
	// own).
	Metrics      *metrics.Metrics
	MetricsRoute bool
	// ForwardAuth configures the forward-auth endpoints: which proxies
	// may say what request they ask about, and what each host needs.
	ForwardAuth ForwardAuth
	// AdminAPI serves the operators' administration API under
	// /admin/api/ on this handler. Its answers say whether an address
	// has an account, so it is off by default; to serve it on an
	// address of its own instead, leave this off and serve
	// NewAdminServer (or Instance.AdminHandler) there.
	AdminAPI bool
	// OpenID, if set, is the OpenID Connect provider to serve
	// (/authorize, /oauth/token, /.well-known/openid-configuration, …).
	OpenID *openid.Provider

	storage *storageWatch // set by withDefaults; shared by copies
}

// DefaultConfig returns the settings the HTTP surface uses where Config
// leaves a field zero: the product name "tacit" and DefaultMaxBodyBytes.
// The rest has no default: no base URL (no HSTS), plain cookies, no dev
// mailbox, a logger that discards, no request timeout, always ready, and
// no trusted proxies.
func DefaultConfig() Config {
	return Config{
		Product:      "tacit",
		MaxBodyBytes: DefaultMaxBodyBytes,
	}
}

// withDefaults returns c with each zero field set from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Product == "" {
		c.Product = d.Product
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	c.TrustedProxies = normalisePrefixes(c.TrustedProxies)
	if c.storage == nil {
		c.storage = &storageWatch{}
	}
	return c
}

// NewServer returns the whole HTTP surface of tacit as one handler: every
// route of routes.go behind the security middleware.
func NewServer(svc *flow.Service, cfg Config) http.Handler {
	cfg = cfg.withDefaults()
	ck := newCookies(cfg.SecureCookies)
	v := newViews(cfg.Product, ck, cfg.Logger, svc.PasskeysOn())
	v.fa = newForwardAuth(cfg.ForwardAuth, cfg.BaseURL)

	mux := http.NewServeMux()
	addRoutes(mux, svc, cfg, ck, v)

	// Innermost first. limitBody is outermost so that it wraps the
	// server's own ResponseWriter (see limitBody).
	var h http.Handler = mux
	if cfg.Metrics != nil {
		h = notePattern(h)
	}
	h = withStorageWatch(h, cfg.storage)
	h = crossOriginProtection(h, v)
	h = securityHeaders(h, hstsFor(cfg.BaseURL))
	h = withDevice(h, ck)
	h = withClientIP(h, cfg.TrustedProxies)
	h = limitTime(h, cfg.RequestTimeout)
	h = logRequests(h, cfg.Logger)
	h = limitBody(h, cfg.MaxBodyBytes)
	if cfg.Metrics != nil {
		h = countRequests(h, cfg.Metrics)
	}
	// Forward-auth checks are served ahead of the pages' middleware
	// (and count in the request metrics on their own): they are the hot
	// path.
	return serveChecks(h, checkRoutes(svc, cfg, ck, v.fa), cfg)
}

// hstsFor returns the Strict-Transport-Security value for a public URL, or
// "" when it is not https (the header would be ignored, and a wrong one on a
// development host is hard to undo).
func hstsFor(base *url.URL) string {
	if base == nil || base.Scheme != "https" {
		return ""
	}
	return "max-age=63072000; includeSubDomains"
}

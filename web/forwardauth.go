package web

import (
	"cmp"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/metrics"
)

// ForwardAuth configures the forward-auth endpoints that reverse proxies
// ask about each request they guard: /auth/check (Traefik ForwardAuth,
// Caddy forward_auth) and /auth/request (nginx auth_request).
type ForwardAuth struct {
	// Proxies are the addresses whose X-Original-URL, X-Forwarded-Proto,
	// X-Forwarded-Host, X-Forwarded-Uri and X-Forwarded-Method headers
	// say which request a check is about. Anyone else could name any
	// host with them, so from anyone else they are ignored. Nil means
	// loopback only (DefaultForwardAuthProxies).
	Proxies []netip.Prefix
	// Hosts are the rules per host, the first that matches applying.
	// With none, every host needs a session; with some, a host that no
	// rule matches is refused (403).
	Hosts []HostRule
}

// DefaultForwardAuthProxies are the proxies believed when
// ForwardAuth.Proxies is nil: a proxy on the same machine.
var DefaultForwardAuthProxies = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
}

// Policy is what a host asks of the request a proxy checks.
type Policy string

const (
	// PolicyPublic lets every request through, signed in or not.
	PolicyPublic Policy = "public"
	// PolicySession needs a live session.
	PolicySession Policy = "session"
	// PolicyMFA needs a live session made with two factors (the
	// password and a second step, or a passkey sign-in:
	// tacit.SessionMethod.MultiFactor). Any other session is answered as
	// no session: a browser is sent to sign in again, anything else gets
	// 401.
	PolicyMFA Policy = "mfa"
	// PolicyDeny refuses every request (403).
	PolicyDeny Policy = "deny"
)

// HostRule gives the hosts matching Host a Policy.
type HostRule struct {
	// Host is a host name ("app.example.com", matched without regard to
	// case or port) or "*." and a domain ("*.example.com": every name
	// below it, not the domain itself).
	Host   string
	Policy Policy
}

// matches reports whether the rule covers host, a lower-case name without
// port.
func (h HostRule) matches(host string) bool {
	pattern := strings.ToLower(h.Host)
	if domain, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+domain)
	}
	return host == pattern
}

// forwardAuth is ForwardAuth with its defaults applied.
type forwardAuth struct {
	ForwardAuth
	base *url.URL // tacit's own public URL, if set
}

func newForwardAuth(c ForwardAuth, base *url.URL) forwardAuth {
	if c.Proxies == nil {
		c.Proxies = DefaultForwardAuthProxies
	}
	c.Proxies = normalisePrefixes(c.Proxies)
	return forwardAuth{ForwardAuth: c, base: base}
}

// policy returns the rule for host ("name" or "name:port").
func (f forwardAuth) policy(host string) Policy {
	if len(f.Hosts) == 0 {
		return PolicySession
	}
	name := hostName(host)
	for _, h := range f.Hosts {
		if h.matches(name) {
			return h.Policy
		}
	}
	return PolicyDeny
}

// hostName returns host without its port, in lower case.
func hostName(host string) string {
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.Contains(host, "]") {
		host = h
	} else if strings.HasPrefix(host, "[") {
		host, _, _ = strings.Cut(strings.TrimPrefix(host, "["), "]")
	}
	return strings.ToLower(host)
}

// mayReturnTo reports whether an absolute URL is a place sign-in may send
// a browser back to: http or https on tacit's own host, on the host the
// sign-in page itself is served on (reqHost), or on a host a rule lets
// through. Anything else would make /login an open redirect.
func (f forwardAuth) mayReturnTo(u *url.URL, reqHost string) bool {
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return false
	}
	name := hostName(u.Host)
	if name == hostName(reqHost) || (f.base != nil && name == hostName(f.base.Host)) {
		return true
	}
	for _, h := range f.Hosts {
		if h.matches(name) {
			return h.Policy != PolicyDeny
		}
	}
	return false
}

// original returns the URL and method of the request a proxy is asking
// about, from the proxy's headers, or nil if the peer is not a trusted
// proxy or said nothing usable. nginx sends X-Original-URL; Traefik and
// Caddy send X-Forwarded-Proto, -Host and -Uri.
func (f forwardAuth) original(r *http.Request) (*url.URL, string) {
	peer, ok := parseIP(r.RemoteAddr)
	if !ok || !isTrusted(peer, f.Proxies) {
		return nil, r.Method
	}
	method := r.Method
	if m := r.Header.Get("X-Forwarded-Method"); m != "" {
		method = m
	}
	raw := r.Header.Get("X-Original-URL")
	if raw == "" {
		proto, host := r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host")
		if host == "" {
			return nil, method
		}
		if proto == "" {
			proto = "http"
		}
		raw = proto + "://" + host + cmp.Or(r.Header.Get("X-Forwarded-Uri"), "/")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		strings.ContainsAny(u.Host, "/\\@") {
		return nil, method
	}
	return u, method
}

// serveChecks answers the forward-auth routes in checks and passes every
// other request to next. A check carries no body, sets no cookie and
// answers nothing a page could show, so it skips what the pages and API
// need (body limit, client address, device cookie, cross-origin
// protection, security headers, request id); it keeps the request
// timeout, for a check that must read the database, its log line
// (logRequests) when DEBUG is on, and the request metrics (countChecks),
// by the path as route.
func serveChecks(next http.Handler, checks map[string]http.Handler, cfg Config) http.Handler {
	wrapped := make(map[string]http.Handler, len(checks))
	logged := make(map[string]http.Handler, len(checks))
	for path, h := range checks {
		h = limitTime(noStore(h), cfg.RequestTimeout)
		l := logRequests(h, cfg.Logger)
		if cfg.Metrics != nil {
			route := cfg.Metrics.Route(path)
			h, l = countChecks(h, route), countChecks(l, route)
		}
		wrapped[path], logged[path] = h, l
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := wrapped[r.URL.Path]
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if cfg.Logger.Enabled(r.Context(), slog.LevelDebug) {
			h = logged[r.URL.Path]
		}
		h.ServeHTTP(w, r)
	})
}

// countChecks counts each check in the request metrics, by its status,
// with counters looked up once (metrics.RouteRequests): a check is the
// hot path, and countRequests' route slot in the context would cost it an
// allocation and a copy of the request.
func countChecks(next http.Handler, route *metrics.RouteRequests) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route.Count(rec.code())
	})
}

// noStore keeps a check's answer, which a proxy may pass to the browser,
// out of every cache.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// isCheck reports whether r is a forward-auth check.
func isCheck(r *http.Request) bool {
	return r.URL.Path == "/auth/check" || r.URL.Path == "/auth/request"
}

// handleAuthCheck is the forward-auth endpoint for reverse proxies: 200
// with the identity in headers (X-Tacit-Account-Id, X-Tacit-Email) when
// the host's rule lets the request through, 403 when it never will
// (PolicyDeny). Without a live session (or, for PolicyMFA, without one
// made with two factors) a browser loading a page is sent to sign in on
// the original URL's host, and back there afterwards; anything else gets
// 401. The redirect is a 302 (Traefik and Caddy pass it to the browser)
// or, with headerRedirect (nginx, whose auth_request passes on only 401
// and 403), a 401 with the target in Location for the proxy's error_page.
// Proxies may call it with the method of the request they guard, so any
// method is accepted.
func handleAuthCheck(svc *flow.Service, s sessions, fa forwardAuth, headerRedirect bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orig, method := fa.original(r)
		host := r.Host
		if orig != nil {
			host = orig.Host
		}
		pol := fa.policy(host)
		switch pol {
		case PolicyPublic:
			// The identity headers, empty: a proxy that copies them onto
			// the request (Traefik's authResponseHeaders, Caddy's
			// copy_headers) then replaces any a client sent, and Caddy
			// 2.6 would otherwise write its unexpanded placeholder
			// ("{http.reverse_proxy.header.X-Tacit-Email}") there.
			w.Header()["X-Tacit-Account-Id"] = []string{""}
			w.Header()["X-Tacit-Email"] = []string{""}
			w.WriteHeader(http.StatusOK)
			return
		case PolicyDeny:
			w.WriteHeader(http.StatusForbidden)
			return
		}
		id, ok, err := identifyCached(r, svc, s.ck)
		if err != nil {
			if storageRefused(w, r, s.log, err) {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			logError(s.log, r, "auth check", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		// A session made with one factor does not meet the mfa rule,
		// whatever the account has on now: it is answered as no session,
		// so a browser signs in again, with its second step, and the
		// sign-in page says why (else an account without a second step
		// would go round in a loop, signing in and being sent back).
		if !ok || (pol == PolicyMFA && !id.Session.Method.MultiFactor()) {
			signInFirst(w, r, orig, method, headerRedirect, ok)
			return
		}
		w.Header().Set("X-Tacit-Account-Id", strconv.FormatInt(id.Account.ID, 10))
		w.Header().Set("X-Tacit-Email", id.Account.Email)
		w.WriteHeader(http.StatusOK)
	})
}

// signInFirst answers a check without a live session: a browser loading
// a page is sent to /login on the original URL's host with next set to
// that URL, anything else gets 401. When the original URL is unknown (no
// trusted proxy said it), the browser goes to /login of whatever host it
// is on, with no way back: a URL from anyone else could send it anywhere.
// twoStep (a session made with one factor, on an mfa host) adds
// need=two-step, for the sign-in page to say a second step is asked for.
func signInFirst(w http.ResponseWriter, r *http.Request, orig *url.URL, method string, headerRedirect, twoStep bool) {
	page := (method == http.MethodGet || method == http.MethodHead) &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
	if !page {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	q := url.Values{}
	if twoStep {
		q.Set("need", "two-step")
	}
	to := (&url.URL{Path: "/login", RawQuery: q.Encode()}).String()
	if orig != nil {
		q.Set("next", orig.String())
		to = (&url.URL{Scheme: orig.Scheme, Host: orig.Host, Path: "/login", RawQuery: q.Encode()}).String()
	}
	w.Header().Set("Location", to)
	if headerRedirect {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusFound)
}

package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// identityKey is the context key under which RequireSession stores the
// signed-in identity.
type identityKey struct{}

// RequireSession protects a handler of an application that embeds tacit
// as a Go library: next runs only for a request carrying a live session,
// and finds who is signed in with IdentityFrom. cfg must be the Config
// given to NewServer, whose handler serves tacit's own pages and API on
// the same host (the session cookie is host-only).
//
// A request without a live session: a browser loading a page (GET or HEAD
// accepting text/html) is sent to /login with 303 See Other, and back to
// the page once signed in (/login?next=/the/page); anything else
// gets 401 with {"error":"unauthenticated"}, as from GET /api/session. A
// failure to read the session store is answered 500 and logged to
// cfg.Logger.
func RequireSession(svc *flow.Service, cfg Config, next http.Handler) http.Handler {
	cfg = cfg.withDefaults()
	s := sessions{svc: svc, ck: newCookies(cfg.SecureCookies), log: cfg.Logger}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		switch {
		case err != nil:
			respond(w, r, s, tacit.Outcome{}, err)
		case ok:
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
		case wantsPage(r):
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, "/login?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
		default:
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, nil)
		}
	})
}

// IdentityFrom returns the identity RequireSession found for the request
// whose context ctx is, and whether there is one: the account's id,
// address and creation time and the session's, never a secret.
func IdentityFrom(ctx context.Context) (flow.Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(flow.Identity)
	return id, ok
}

// wantsPage reports whether r is a browser loading a page rather than a
// script calling an API: only such a request is worth redirecting.
func wantsPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

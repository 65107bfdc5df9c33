package web

import (
	"net/http"
	"strconv"

	"github.com/tacitauth/tacit/flow"
)

// isCheck reports whether r is a forward-auth check.
func isCheck(r *http.Request) bool {
	return r.URL.Path == "/auth/check"
}

// handleAuthCheck is the forward-auth endpoint for reverse proxies (nginx
// auth_request, Traefik ForwardAuth, Caddy forward_auth): 200 with the
// identity in headers for a valid session, else 401. Proxies may call it
// with the method of the request they guard, so any method is accepted.
func handleAuthCheck(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identifyCached(r, svc, s.ck)
		if err != nil {
			logError(s.log, r, "auth check", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Tacit-Account-Id", strconv.FormatInt(id.Account.ID, 10))
		w.Header().Set("X-Tacit-Email", id.Account.Email)
		w.WriteHeader(http.StatusOK)
	})
}

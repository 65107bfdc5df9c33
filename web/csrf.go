package web

import (
	"crypto/subtle"
	"net/http"

	"github.com/tacitauth/tacit"
)

// CSRF protection for forms is a double-submit token: a random value in a
// cookie and the same value in a hidden field. Another site can make a
// browser send the cookie (on top-level navigations), but cannot read it to
// fill in the field. The "__Host-" name stops a subdomain from planting a
// known cookie, and http.CrossOriginProtection (middleware.go) refuses
// cross-site POSTs before they get here.

// csrfField is the hidden form field that carries the token.
const csrfField = "csrf_token"

// csrfToken returns the request's CSRF token, issuing a new cookie when
// the request has none (or a malformed one). Pages with forms call it.
func (c cookies) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(c.csrfName); err == nil && tacit.WellFormedToken(ck.Value) {
		return ck.Value
	}
	token, _ := tacit.NewToken()
	http.SetCookie(w, c.base(c.csrfName, token))
	return token
}

// validCSRF reports whether the submitted field matches the cookie, in
// constant time.
func (c cookies) validCSRF(r *http.Request, submitted string) bool {
	ck, err := r.Cookie(c.csrfName)
	if err != nil || !tacit.WellFormedToken(ck.Value) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(ck.Value), []byte(submitted)) == 1
}

package web

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// cookies knows the names and attributes of tacit's cookies: the session,
// the CSRF token, the pending second step of a sign-in with MFA, and the
// device token.
//
// With secure set, names carry the "__Host-" prefix: browsers then accept
// the cookie only with Secure, Path=/ and no Domain, so neither a sibling
// subdomain nor a plain-HTTP page can plant or overwrite it. Without secure
// (plain-HTTP localhost development) the names are bare and Secure is off,
// since browsers drop Secure cookies on http://.
type cookies struct {
	secure      bool
	sessionName string
	csrfName    string
	mfaName     string
	deviceName  string
	passkeyName string
	signupName  string
}

func newCookies(secure bool) cookies {
	c := cookies{secure: secure, sessionName: "tacit_session", csrfName: "tacit_csrf", mfaName: "tacit_mfa", deviceName: "tacit_device", passkeyName: "tacit_passkey", signupName: "tacit_signup_next"}
	if secure {
		c.sessionName = "__Host-" + c.sessionName
		c.csrfName = "__Host-" + c.csrfName
		c.mfaName = "__Host-" + c.mfaName
		c.deviceName = "__Host-" + c.deviceName
		c.passkeyName = "__Host-" + c.passkeyName
		c.signupName = "__Host-" + c.signupName
	}
	return c
}

// base is the attribute set every cookie shares: HttpOnly so script cannot
// read them, SameSite=Lax so other sites' POSTs do not carry them.
func (c cookies) base(name, value string) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/",
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	}
}

// setSession hands the client a session token that the browser keeps
// until the session's absolute expiry.
func (c cookies) setSession(w http.ResponseWriter, token string, expires time.Time) {
	ck := c.base(c.sessionName, token)
	ck.Expires = expires.UTC()
	http.SetCookie(w, ck)
}

// clearSession tells the browser to drop the session cookie.
func (c cookies) clearSession(w http.ResponseWriter) { c.clear(w, c.sessionName) }

// session returns the request's session token, or "".
func (c cookies) session(r *http.Request) string { return value(r, c.sessionName) }

// clear tells the browser to drop cookie name. The deletion must repeat
// Secure and Path or a browser ignores it for a __Host- name.
func (c cookies) clear(w http.ResponseWriter, name string) {
	ck := c.base(name, "")
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

// value returns the request's cookie name, or "".
func value(r *http.Request, name string) string {
	ck, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}

// setMFA hands the client the token of a sign-in's second step, kept only
// as long as the step lasts. It is set only after a correct password.
func (c cookies) setMFA(w http.ResponseWriter, token string) {
	ck := c.base(c.mfaName, token)
	ck.MaxAge = int(flow.ChallengeTTL / time.Second)
	http.SetCookie(w, ck)
}

// clearMFA tells the browser to drop the second-step cookie.
func (c cookies) clearMFA(w http.ResponseWriter) { c.clear(w, c.mfaName) }

// mfa returns the request's second-step token, or "".
func (c cookies) mfa(r *http.Request) string { return value(r, c.mfaName) }

// setPasskey binds a passkey ceremony to this browser: its challenge,
// kept only as long as the ceremony waits. A sign-in with a passkey needs
// it, so a challenge seen elsewhere cannot be answered from here.
func (c cookies) setPasskey(w http.ResponseWriter, token string) {
	ck := c.base(c.passkeyName, token)
	ck.MaxAge = int(flow.PasskeyTTL / time.Second)
	http.SetCookie(w, ck)
}

// takePasskey returns the request's passkey ceremony and tells the
// browser to drop it: a ceremony is answered once.
func (c cookies) takePasskey(w http.ResponseWriter, r *http.Request) string {
	tok := value(r, c.passkeyName)
	if tok != "" {
		c.clear(w, c.passkeyName)
	}
	return tok
}

// signupNextAge is how long a browser remembers where a sign-up started
// from: long enough to fetch the mail and follow its link.
const signupNextAge = time.Hour

// setSignupNext remembers in this browser where to go once a sign-up it
// starts is complete (an OpenID Connect request with prompt=create): the
// mailed link carries nothing of it, so following the link in the same
// browser goes on where the sign-up began. next is a local path.
func (c cookies) setSignupNext(w http.ResponseWriter, next string) {
	ck := c.base(c.signupName, base64.RawURLEncoding.EncodeToString([]byte(next)))
	ck.MaxAge = int(signupNextAge / time.Second)
	http.SetCookie(w, ck)
}

// signupNext returns the local path setSignupNext remembered, or "".
func (c cookies) signupNext(r *http.Request) string {
	b, err := base64.RawURLEncoding.DecodeString(value(r, c.signupName))
	if err != nil {
		return ""
	}
	return localPath(string(b))
}

// deviceCookieAge is how long a browser keeps its device token: long
// enough that an owner's usual browsers still hold one when an outsider
// locks the address, within what browsers allow (400 days).
const deviceCookieAge = 180 * 24 * time.Hour

// setDevice hands the client the device token of a sign-in or a reset
// (tacit.Outcome.Device). It outlives sign-out: it says that this browser
// has proved control of an address before, not that it is signed in.
func (c cookies) setDevice(w http.ResponseWriter, token string) {
	ck := c.base(c.deviceName, token)
	ck.MaxAge = int(deviceCookieAge / time.Second)
	http.SetCookie(w, ck)
}

// keepDevice sets the device cookie when an outcome carries a token.
func (c cookies) keepDevice(w http.ResponseWriter, o tacit.Outcome) {
	if o.Device != "" {
		c.setDevice(w, o.Device)
	}
}

type deviceKey struct{}

// withDevice keeps the request's device token, if any, in its context for
// clientOf: the flows check it against the address being signed in to.
func withDevice(next http.Handler, c cookies) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := value(r, c.deviceName); tok != "" {
			r = r.WithContext(context.WithValue(r.Context(), deviceKey{}, tok))
		}
		next.ServeHTTP(w, r)
	})
}

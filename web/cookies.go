package web

import (
	"net/http"
	"time"
)

// cookies knows the names and attributes of tacit's two cookies.
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
}

func newCookies(secure bool) cookies {
	c := cookies{secure: secure, sessionName: "tacit_session", csrfName: "tacit_csrf"}
	if secure {
		c.sessionName = "__Host-" + c.sessionName
		c.csrfName = "__Host-" + c.csrfName
	}
	return c
}

// base is the attribute set both cookies share: HttpOnly so script cannot
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

// clearSession tells the browser to drop the session cookie. The deletion
// must repeat Secure and Path or a browser ignores it for a __Host- name.
func (c cookies) clearSession(w http.ResponseWriter) {
	ck := c.base(c.sessionName, "")
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

// session returns the request's session token, or "".
func (c cookies) session(r *http.Request) string {
	ck, err := r.Cookie(c.sessionName)
	if err != nil {
		return ""
	}
	return ck.Value
}

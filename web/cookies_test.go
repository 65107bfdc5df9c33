package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/internal/accountstate"
)

// setCookieLine returns the raw Set-Cookie line for name, masked.
func setCookieLine(t *testing.T, r reply, name string) string {
	t.Helper()
	for _, line := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return maskCookie(line)
		}
	}
	t.Fatalf("no Set-Cookie %s in %v", name, r.Header.Values("Set-Cookie"))
	return ""
}

// TestCookieAttributes checks both cookies, exactly, in both modes.
func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{true, false} {
		prefix, flag := "", ""
		if secure {
			prefix, flag = "__Host-", "; Secure"
		}
		t.Run(map[bool]string{true: "secure", false: "development"}[secure], func(t *testing.T) {
			h := newHarness(t, options{secure: secure})
			email := h.arranged(accountstate.Verified)

			r := h.get("/login")
			want := prefix + "tacit_csrf=<value>; Path=/; HttpOnly" + flag + "; SameSite=Lax"
			if got := setCookieLine(t, r, prefix+"tacit_csrf"); got != want {
				t.Errorf("CSRF cookie:\n got %s\nwant %s", got, want)
			}

			before := time.Now()
			r = h.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword}))
			want = prefix + "tacit_session=<value>; Path=/; Expires=<time>; HttpOnly" + flag + "; SameSite=Lax"
			if got := setCookieLine(t, r, prefix+"tacit_session"); got != want {
				t.Errorf("session cookie:\n got %s\nwant %s", got, want)
			}
			c := r.cookie(prefix + "tacit_session")
			if wantExp := before.Add(7 * 24 * time.Hour); c.Expires.Before(wantExp.Add(-2*time.Second)) || c.Expires.After(wantExp.Add(2*time.Second)) {
				t.Errorf("session cookie expires %v, want about %v (the session's absolute expiry)", c.Expires, wantExp)
			}

			r = h.postJSON("/api/logout", "", &http.Cookie{Name: c.Name, Value: c.Value})
			want = prefix + "tacit_session=<empty>; Path=/; Max-Age=0; HttpOnly" + flag + "; SameSite=Lax"
			if got := setCookieLine(t, r, prefix+"tacit_session"); r.StatusCode != 204 || got != want {
				t.Errorf("logout: %d\n got %s\nwant %s", r.StatusCode, got, want)
			}
		})
	}
}

// TestSessionLifecycle: rotation at sign-in, logout, and the answers for
// unknown, idle and expired sessions.
func TestSessionLifecycle(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	login := func(b *browser) reply {
		return b.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword}))
	}
	sessionWith := func(tok string) int {
		return h.get("/api/session", &http.Cookie{Name: h.ck.sessionName, Value: tok}).StatusCode
	}

	b := h.browser()
	wantStatus(t, "first login", login(b), 200, `{"status":"signed_in"}`)
	first := b.session()
	wantStatus(t, "second login", login(b), 200, `{"status":"signed_in"}`)
	second := b.session()
	if second == "" || second == first {
		t.Fatal("sign-in did not rotate the session token")
	}
	if sessionWith(first) != 401 || sessionWith(second) != 200 {
		t.Errorf("after rotation: old session %d (want 401), new %d (want 200)", sessionWith(first), sessionWith(second))
	}

	// Rotation through the form, too.
	b.get("/login")
	wantRedirect(t, "form login", b.postForm("/login", url.Values{"email": {email}, "password": {arrangedPassword}}), "/account")
	if third := b.session(); third == second || sessionWith(second) != 401 || sessionWith(third) != 200 {
		t.Error("form sign-in did not rotate the session")
	}

	wantStatus(t, "unknown session", h.get("/api/session", &http.Cookie{Name: h.ck.sessionName, Value: fixedToken}), 401, `{"error":"unauthenticated"}`)
	wantStatus(t, "garbage session", h.get("/api/session", &http.Cookie{Name: h.ck.sessionName, Value: "x"}), 401, `{"error":"unauthenticated"}`)

	tok := b.session()
	h.skew.Store(int64(25 * time.Hour)) // past the idle limit
	if got := sessionWith(tok); got != 401 {
		t.Errorf("idle session: %d, want 401", got)
	}
	h.skew.Store(0)
	wantStatus(t, "fresh login", login(b), 200, "")
	tok = b.session()
	for i := 1; i <= 8; i++ { // keep it in use, past the absolute limit
		h.skew.Store(int64(time.Duration(i) * 23 * time.Hour))
		if got, want := sessionWith(tok), map[bool]int{true: 200, false: 401}[i*23 < 7*24]; got != want {
			t.Errorf("after %dh of use: %d, want %d", i*23, got, want)
		}
	}
	// Still at the last clock: the session is past its absolute expiry.
	wantRedirect(t, "account with an expired session", h.get("/account", &http.Cookie{Name: h.ck.sessionName, Value: tok}), "/login")
	if r := h.get("/auth/check", &http.Cookie{Name: h.ck.sessionName, Value: tok}); r.StatusCode != 401 || len(r.body) != 0 {
		t.Errorf("auth check with an expired session: %d %q", r.StatusCode, r.text())
	}
	h.skew.Store(0)
}

// TestHeaders: the security headers on every kind of answer; HSTS only
// for an https public URL.
func TestHeaders(t *testing.T) {
	want := map[string]string{
		"Content-Security-Policy":    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"X-Frame-Options":            "DENY",
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	h := newHarness(t, options{})
	answers := map[string]reply{
		"page":      h.get("/login"),
		"api":       h.postJSON("/api/login", `{}`),
		"not found": h.get("/nope"),
		"redirect":  h.get("/account"),
		"refused":   h.postJSON("/api/logout", "", &http.Cookie{Name: "x", Value: "y"}),
		"style":     h.get("/static/style.css"),
		"script":    h.get("/static/tacit.js"),
	}
	ids := map[string]bool{}
	for name, r := range answers {
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", name, k, got, v)
			}
		}
		if r.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS on a plain-HTTP deployment", name)
		}
		cache := r.Header.Get("Cache-Control")
		static := name == "style" || name == "script"
		if static && cache != "public, max-age=31536000, immutable" || !static && cache != "no-store" {
			t.Errorf("%s: Cache-Control %q", name, cache)
		}
		id := r.Header.Get("X-Request-Id")
		if len(id) != 24 || ids[id] {
			t.Errorf("%s: X-Request-Id %q is not a fresh id", name, id)
		}
		ids[id] = true
	}
	if ct := answers["style"].Header.Get("Content-Type"); ct != "text/css; charset=utf-8" {
		t.Errorf("stylesheet Content-Type %q", ct)
	}
	if ct := answers["not found"].Header.Get("Content-Type"); answers["not found"].StatusCode != 404 || ct != "text/html; charset=utf-8" {
		t.Errorf("404 page: %d %q", answers["not found"].StatusCode, ct)
	}

	hs := newHarness(t, options{publicURL: "https://auth.example.com"})
	if got := hs.get("/login").Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
		t.Errorf("HSTS with an https public URL: %q", got)
	}
}

// TestDevMailboxOnlyWhenEnabled: without the dev mail driver the mailbox
// paths do not exist.
func TestDevMailboxOnlyWhenEnabled(t *testing.T) {
	h := newHarness(t, options{noDevMailbox: true})
	if r := h.get("/_dev/mailbox"); r.StatusCode != 404 || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("/_dev/mailbox: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := h.get("/_dev/mail"); r.StatusCode != 404 {
		t.Errorf("/_dev/mail: %d", r.StatusCode)
	}
	on := newHarness(t, options{})
	if r := on.get("/_dev/mailbox"); r.StatusCode != 200 || r.text() != "[]\n" {
		t.Errorf("empty /_dev/mailbox: %d %q", r.StatusCode, r.text())
	}
}

// TestLogsHoldNoSecrets: passwords, tokens and addresses from requests do
// not reach the log.
func TestLogsHoldNoSecrets(t *testing.T) {
	h := newHarness(t, options{})
	email := newAddress()
	b := h.browser()
	b.postJSON("/api/register", jsonBody(map[string]string{"email": email}))
	h.deliver()
	token := mailboxLink(t, h, email, "/register/complete")
	b.get("/register/complete?token=" + token)
	b.postJSON("/api/register/complete", jsonBody(map[string]string{"token": token, "password": chosenPassword, "password_confirm": chosenPassword}))
	b.get("/api/session")
	logs := h.logs.String()
	for _, secret := range []string{email, token, chosenPassword, b.session()} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "path=/register/complete status=200") {
		t.Errorf("request not logged:\n%s", logs)
	}
}

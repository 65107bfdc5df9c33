package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/passkeytest"
)

// forwardRules are the per-host rules of the forward-auth tests.
var forwardRules = []HostRule{
	{Host: "app.example.com", Policy: PolicySession},
	{Host: "admin.example.com", Policy: PolicyMFA},
	{Host: "public.example.com", Policy: PolicyPublic},
	{Host: "*.tools.example.com", Policy: PolicySession},
}

// check asks the handler about a request as a proxy at peer would: the
// headers are the proxy's (X-Forwarded-*, X-Original-URL, Accept), the
// session cookie the guarded request's.
func (h *harness) check(path, peer, session string, headers map[string]string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Host = "auth.example.com"
	req.RemoteAddr = peer
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: h.ck.sessionName, Value: session})
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, req)
	return w
}

const (
	proxyPeer  = "127.0.0.1:40000" // a proxy on this machine: trusted by default
	outsider   = "198.51.100.9:40000"
	htmlAccept = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
)

func forwarded(host, uri, accept string) map[string]string {
	return map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": host, "X-Forwarded-Uri": uri, "Accept": accept}
}

func wantCheck(t *testing.T, what string, w *httptest.ResponseRecorder, status int, location string) {
	t.Helper()
	if w.Code != status || w.Header().Get("Location") != location {
		t.Errorf("%s: %d Location %q, want %d Location %q", what, w.Code, w.Header().Get("Location"), status, location)
	}
}

// TestForwardAuthConventions: the original URL comes from a trusted
// proxy's headers; a browser without a session is sent to sign in on that
// host and back, an API gets 401; each host gets its rule.
func TestForwardAuthConventions(t *testing.T) {
	h := newHarness(t, options{forwardAuth: ForwardAuth{Hosts: forwardRules}})
	ctx := context.Background()
	if err := accountstate.Arrange(ctx, h.store, h.hasher, accountstate.Verified, "fay@example.com", arrangedPassword); err != nil {
		t.Fatal(err)
	}
	login := "https://app.example.com/login?next=" + url.QueryEscape("https://app.example.com/orders?id=7")

	// Signed out.
	wantCheck(t, "browser, Traefik/Caddy headers", h.check("/auth/check", proxyPeer, "", forwarded("app.example.com", "/orders?id=7", htmlAccept)), 302, login)
	wantCheck(t, "browser, nginx header", h.check("/auth/check", proxyPeer, "", map[string]string{
		"X-Original-URL": "https://app.example.com/orders?id=7", "Accept": htmlAccept}), 302, login)
	wantCheck(t, "browser, nginx endpoint", h.check("/auth/request", proxyPeer, "", map[string]string{
		"X-Original-URL": "https://app.example.com/orders?id=7", "Accept": htmlAccept}), 401, login)
	wantCheck(t, "API", h.check("/auth/check", proxyPeer, "", forwarded("app.example.com", "/api/orders", "application/json")), 401, "")
	wantCheck(t, "form post", h.check("/auth/check", proxyPeer, "", map[string]string{
		"X-Original-URL": "https://app.example.com/orders", "X-Forwarded-Method": "POST", "Accept": htmlAccept}), 401, "")
	wantCheck(t, "subdomain rule", h.check("/auth/check", proxyPeer, "", forwarded("ci.tools.example.com", "/", "application/json")), 401, "")
	pub := h.check("/auth/check", proxyPeer, "", forwarded("public.example.com", "/", htmlAccept))
	wantCheck(t, "public host", pub, 200, "")
	// Its identity headers are there, empty, for the proxy to copy over
	// any a client sent.
	for _, name := range []string{"X-Tacit-Email", "X-Tacit-Account-Id"} {
		if v, ok := pub.Header()[name]; !ok || len(v) != 1 || v[0] != "" {
			t.Errorf("public host: %s = %q, want one empty value", name, v)
		}
	}
	wantCheck(t, "host without a rule", h.check("/auth/check", proxyPeer, "", forwarded("other.example.com", "/", htmlAccept)), 403, "")
	wantCheck(t, "the domain of a *. rule", h.check("/auth/check", proxyPeer, "", forwarded("tools.example.com", "/", htmlAccept)), 403, "")

	// Signed in, without two-step sign-in.
	b := h.browser()
	b.signIn("fay@example.com", arrangedPassword)
	w := h.check("/auth/check", proxyPeer, b.session(), forwarded("App.Example.com:443", "/", htmlAccept))
	wantCheck(t, "signed in", w, 200, "")
	if w.Header().Get("X-Tacit-Email") != "fay@example.com" || w.Header().Get("X-Tacit-Account-Id") == "" {
		t.Errorf("signed in: identity headers %v", w.Header())
	}
	// The mfa host asks for a session made with two factors: this one was
	// made with the password alone, so it is answered as no session, and
	// the sign-in page is told a second step is asked for.
	adminLogin := "https://admin.example.com/login?need=two-step&next=" + url.QueryEscape("https://admin.example.com/")
	wantCheck(t, "mfa host, password-only session", h.check("/auth/check", proxyPeer, b.session(), forwarded("admin.example.com", "/", htmlAccept)), 302, adminLogin)
}

// TestForwardAuthMFARule: the mfa rule lets through a session made with
// two factors (the password and a second step, or a passkey sign-in) and
// answers any other as no session (302 for a browser, 401 otherwise), on
// both endpoints: whatever the account has on now, since a session made
// before two-step sign-in was turned on proved only the password.
func TestForwardAuthMFARule(t *testing.T) {
	h := newHarness(t, options{passkeys: true, forwardAuth: ForwardAuth{Hosts: forwardRules}})
	email := h.arranged(accountstate.Verified)
	page := forwarded("admin.example.com", "/console", htmlAccept)
	api := forwarded("admin.example.com", "/api/users", "application/json")
	nginxPage := map[string]string{"X-Original-URL": "https://admin.example.com/console", "Accept": htmlAccept}
	login := "https://admin.example.com/login?need=two-step&next=" + url.QueryEscape("https://admin.example.com/console")
	refused := func(what, session string) {
		t.Helper()
		wantCheck(t, what+", browser", h.check("/auth/check", proxyPeer, session, page), 302, login)
		wantCheck(t, what+", API", h.check("/auth/check", proxyPeer, session, api), 401, "")
		wantCheck(t, what+", nginx", h.check("/auth/request", proxyPeer, session, nginxPage), 401, login)
		// The same session passes a host that asks only for a session.
		wantCheck(t, what+", session host", h.check("/auth/check", proxyPeer, session, forwarded("app.example.com", "/", htmlAccept)), 200, "")
	}
	passes := func(what, session string) {
		t.Helper()
		for range 2 { // read, then cached
			w := h.check("/auth/check", proxyPeer, session, page)
			wantCheck(t, what, w, 200, "")
			if w.Header().Get("X-Tacit-Email") != email {
				t.Errorf("%s: identity headers %v", what, w.Header())
			}
			wantCheck(t, what+", nginx", h.check("/auth/request", proxyPeer, session, nginxPage), 200, "")
		}
	}

	// Without a session, the sign-in is asked for plainly.
	wantCheck(t, "no session", h.check("/auth/check", proxyPeer, "", page), 302,
		"https://admin.example.com/login?next="+url.QueryEscape("https://admin.example.com/console"))

	// An account with the password alone: sent to sign in, and the page
	// says a second step is asked for (else it goes round in a loop).
	before := h.browser()
	before.signIn(email, arrangedPassword)
	refused("password-only account", before.session())
	const notice = "The site you came from asks for two-step sign-in."
	if r := h.get("/login?need=two-step&next=%2Fconsole"); r.StatusCode != 200 || !strings.Contains(r.text(), notice) {
		t.Errorf("sign-in page sent from an mfa host: %d, no notice that a second step is asked for", r.StatusCode)
	}
	if r := h.get("/login?next=%2Fconsole"); strings.Contains(r.text(), notice) {
		t.Error("sign-in page without need=two-step says a second step is asked for")
	}

	// Two-step sign-in turned on: the session made before it still proved
	// only the password.
	secret, codes := enrolJSON(t, h, before)
	refused("session made before two-step sign-in was on", before.session())

	// The password and an authenticator code.
	b := passwordStep(t, h, email)
	wantStatus(t, "second step", b.postJSON("/api/login/mfa", codeBody(h.code(secret, 0))), 200, `{"status":"signed_in"}`)
	passes("password and authenticator code", b.session())

	// The password and a recovery code.
	c := passwordStep(t, h, email)
	wantStatus(t, "recovery code", c.postJSON("/api/login/mfa", codeBody(codes[0])), 200, `{"status":"signed_in"}`)
	passes("password and recovery code", c.session())

	// A passkey sign-in, and the password with a passkey as second step.
	p := b.addPasskey("laptop")
	d := h.browser()
	if r := d.passkeyLogin(p, passkeytest.Honest); r.StatusCode != http.StatusOK || d.session() == "" {
		t.Fatalf("passkey sign-in: %d %s", r.StatusCode, r.text())
	}
	passes("passkey sign-in", d.session())
	e := passwordStep(t, h, email)
	r := e.postJSON("/api/login/mfa/passkey/options", "")
	cred, err := h.authenticator().Get(r.body, p, passkeytest.Honest)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.postJSON("/api/login/mfa/passkey", withCredential(nil, cred)); r.StatusCode != http.StatusOK || e.session() == "" {
		t.Fatalf("passkey second step: %d %s", r.StatusCode, r.text())
	}
	passes("password and passkey", e.session())

	// Turning two-step sign-in off ends no session and changes none of
	// them: the two-factor ones still pass, the older one still does not.
	wantStatus(t, "disable", b.postJSON("/api/mfa/totp/disable", jsonBody(map[string]string{"password": arrangedPassword})), 204, "")
	passes("two-factor session after two-step sign-in was turned off", b.session())
	refused("password-only session after two-step sign-in was turned off", before.session())
}

// TestForwardAuthSpoofedHeaders: a client that is not a trusted proxy
// cannot say which host a check is about: its X-Forwarded-Host and
// X-Original-URL are ignored, so it can neither borrow a public host's
// rule nor steer the sign-in redirect to a host of its choice.
func TestForwardAuthSpoofedHeaders(t *testing.T) {
	t.Run("rules", func(t *testing.T) {
		h := newHarness(t, options{forwardAuth: ForwardAuth{Hosts: forwardRules}})
		wantCheck(t, "spoofed public host", h.check("/auth/check", outsider, "", forwarded("public.example.com", "/", htmlAccept)), 403, "")
		wantCheck(t, "spoofed original URL", h.check("/auth/check", outsider, "", map[string]string{
			"X-Original-URL": "https://public.example.com/", "Accept": htmlAccept}), 403, "")
		// From a trusted proxy the same headers are believed.
		wantCheck(t, "proxy", h.check("/auth/check", proxyPeer, "", forwarded("public.example.com", "/", htmlAccept)), 200, "")
	})
	t.Run("redirect", func(t *testing.T) {
		h := newHarness(t, options{})
		for _, hdr := range []map[string]string{
			forwarded("evil.example", "/x", htmlAccept),
			{"X-Original-URL": "https://evil.example/x", "Accept": htmlAccept},
		} {
			w := h.check("/auth/check", outsider, "", hdr)
			wantCheck(t, "spoofed host", w, 302, "/login")
		}
	})
	t.Run("proxies setting", func(t *testing.T) {
		// Only the configured proxies are believed, loopback included.
		only := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
		h := newHarness(t, options{forwardAuth: ForwardAuth{Proxies: only, Hosts: forwardRules}})
		wantCheck(t, "loopback, not listed", h.check("/auth/check", proxyPeer, "", forwarded("public.example.com", "/", htmlAccept)), 403, "")
		wantCheck(t, "listed proxy", h.check("/auth/check", "192.0.2.10:5000", "", forwarded("public.example.com", "/", htmlAccept)), 200, "")
	})
}

// TestSignInReturnTargets: /login takes next or rd, and follows it after
// sign-in only to a path of its own host or an absolute URL on a host
// forward auth lets through: never an open redirect.
func TestSignInReturnTargets(t *testing.T) {
	h := newHarness(t, options{forwardAuth: ForwardAuth{Hosts: append(forwardRules, HostRule{Host: "closed.example.com", Policy: PolicyDeny})}})
	ctx := context.Background()
	if err := accountstate.Arrange(ctx, h.store, h.hasher, accountstate.Verified, "gil@example.com", arrangedPassword); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ param, target, want string }{
		{"next", "/orders?id=7", "/orders?id=7"},
		{"rd", "/orders", "/orders"},
		{"next", "https://app.example.com/orders?id=7", "https://app.example.com/orders?id=7"},
		{"rd", "https://ci.tools.example.com/", "https://ci.tools.example.com/"},
		{"rd", "https://public.example.com/", "https://public.example.com/"},
		{"next", "https://evil.example/", ""},
		{"rd", "https://evil.example/", ""},
		{"next", "https://closed.example.com/", ""},
		{"next", "//evil.example/", ""},
		{"next", "https://app.example.com@evil.example/", ""},
		{"next", "https://evil.example\\@app.example.com/", ""},
		{"next", "https://evil.example/.app.example.com", ""},
		{"next", "https://app.example.com.evil.example/", ""},
		{"next", "javascript://app.example.com/%0aalert(1)", ""},
		{"next", "ftp://app.example.com/", ""},
	} {
		page := h.browser().get("/login?" + url.Values{c.param: {c.target}}.Encode())
		kept := strings.Contains(page.text(), `name="next" value="`)
		if kept != (c.want != "") {
			t.Errorf("GET /login?%s=%s: next kept %v, want %v", c.param, c.target, kept, c.want != "")
		}
		b := h.browser()
		b.get("/login")
		r := b.postForm("/login", url.Values{"email": {"gil@example.com"}, "password": {arrangedPassword}, c.param: {c.target}})
		want := c.want
		if want == "" {
			want = "/account"
		}
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("sign-in with %s=%s: %d to %q, want 303 to %q", c.param, c.target, r.StatusCode, r.Header.Get("Location"), want)
		}
	}
}

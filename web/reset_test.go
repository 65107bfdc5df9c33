package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/internal/accountstate"
)

const newPassword = "fresh staple battery 3"

// newestMail returns the newest captured mail to addr, failing without one.
func newestMail(t *testing.T, h *harness, addr string) (subject, text string) {
	t.Helper()
	ms := h.mailsTo(addr)
	if len(ms) == 0 {
		t.Fatalf("no mail to %s", addr)
	}
	return ms[0].Subject, ms[0].Text
}

// sessionStatus is the status of GET /api/session with a session token.
func sessionStatus(h *harness, token string) int {
	return h.get("/api/session", &http.Cookie{Name: h.ck.sessionName, Value: token}).StatusCode
}

func loginStatus(h *harness, email, password string) int {
	return h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": password})).StatusCode
}

// tamper changes one character in the middle of a token.
func tamper(token string) string {
	b := []byte(token)
	if b[20] == 'A' {
		b[20] = 'B'
	} else {
		b[20] = 'A'
	}
	return string(b)
}

// TestResetEndToEnd: forgot → mail → reset page → new password, through
// the pages, with a forged Host on the request that starts it.
func TestResetEndToEnd(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	before := h.browser()
	before.signIn(email, arrangedPassword)

	// The reset link comes from the configured base URL, never from the
	// request's Host or X-Forwarded-Host.
	req := h.newRequest(http.MethodPost, "/api/password/forgot", strings.NewReader(jsonBody(map[string]string{"email": email})))
	req.Header.Set("Content-Type", "application/json")
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	wantStatus(t, "forgot with a forged Host", h.do(req), 202, `{"status":"check_inbox"}`)
	h.deliver()
	subject, text := newestMail(t, h, email)
	if subject != "Reset your tacit password" || !strings.Contains(text, h.url+"/password/reset?token=") {
		t.Fatalf("reset mail: %q\n%s", subject, text)
	}
	for _, m := range h.mailsTo(email) {
		if strings.Contains(m.Text, "evil.example") || strings.Contains(m.HTML, "evil.example") {
			t.Fatalf("reset mail points at the forged host:\n%s", m.Text)
		}
	}
	token := mailboxLink(t, h, email, "/password/reset")

	// The way there: the sign-in page links to the forgot form, whose
	// answer is one page for every address.
	b := h.browser()
	if login := b.get("/login"); !strings.Contains(login.text(), `<a href="/password/forgot">Forgot your password?</a>`) {
		t.Errorf("sign-in page lacks the forgot link:\n%s", login.text())
	}
	b.get("/password/forgot")
	wantRedirect(t, "forgot form", b.postForm("/password/forgot", url.Values{"email": {newAddress()}}), "/password/forgot/sent")
	if sent := b.get("/password/forgot/sent"); !strings.Contains(sent.text(), "If an account exists for that address, we've sent instructions") {
		t.Errorf("sent page:\n%s", sent.text())
	}

	form := b.get("/password/reset?token=" + token)
	wantStatus(t, "reset form", form, 200, "")
	if !strings.Contains(form.text(), `name="token" value="`+token+`"`) || !strings.Contains(form.text(), `autocomplete="new-password"`) {
		t.Fatalf("reset form lacks the token or autocomplete:\n%s", form.text())
	}
	if form.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("reset page Referrer-Policy %q", form.Header.Get("Referrer-Policy"))
	}

	r := b.postForm("/password/reset", url.Values{"token": {token}, "password": {newPassword}, "password_confirm": {"something else"}})
	wantStatus(t, "reset with a mismatch", r, 422, "")
	if !strings.Contains(r.text(), "The two passwords are different.") || !strings.Contains(r.text(), `name="token" value="`+token+`"`) {
		t.Fatalf("mismatch page:\n%s", r.text())
	}
	r = b.postForm("/password/reset", url.Values{"token": {token}, "password": {newPassword}, "password_confirm": {newPassword}})
	wantRedirect(t, "reset", r, "/password/reset/done")
	if r.cookie(h.ck.sessionName) != nil {
		t.Error("reset signed in; it must not")
	}
	done := b.get("/password/reset/done")
	if done.StatusCode != 200 || !strings.Contains(done.text(), "<h1>Password changed</h1>") ||
		!strings.Contains(done.text(), "Sign in with your new password.") || !strings.Contains(done.text(), `href="/login"`) {
		t.Fatalf("done page: %d\n%s", done.StatusCode, done.text())
	}

	if got := sessionStatus(h, before.session()); got != 401 {
		t.Errorf("session from before the reset: %d, want 401", got)
	}
	if got := loginStatus(h, email, arrangedPassword); got != 401 {
		t.Errorf("old password: %d, want 401", got)
	}
	if got := loginStatus(h, email, newPassword); got != 200 {
		t.Errorf("new password: %d, want 200", got)
	}
	h.deliver()
	if subject, _ := newestMail(t, h, email); subject != "Your tacit password was changed" {
		t.Errorf("newest mail %q, want the password-changed notice", subject)
	}

	// The link is spent: the form says so and points to a new one.
	for _, path := range []string{"/password/reset?token=" + token, "/password/reset?token=" + tamper(token), "/password/reset", "/password/reset?token=short"} {
		dead := b.get(path)
		if dead.StatusCode != 400 || !strings.Contains(dead.text(), "has expired or was already used. Ask for a new one.") ||
			!strings.Contains(dead.text(), `href="/password/forgot"`) || dead.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: %d\n%s", path, dead.StatusCode, dead.text())
		}
	}
	r = b.postForm("/password/reset", url.Values{"token": {token}, "password": {newPassword}, "password_confirm": {newPassword}})
	if r.StatusCode != 400 || !strings.Contains(r.text(), `href="/password/forgot"`) {
		t.Errorf("reusing the link by form: %d\n%s", r.StatusCode, r.text())
	}
}

// TestResetJSON: the JSON API's answers, a tampered token, and a token
// made dead by a later password change.
func TestResetJSON(t *testing.T) {
	h := newHarness(t, options{})
	reset := func(token, pw, confirm string) reply {
		return h.browser().postJSON("/api/password/reset", jsonBody(map[string]string{"token": token, "password": pw, "password_confirm": confirm}))
	}
	forgot := func(email string) string {
		t.Helper()
		wantStatus(t, "forgot", h.browser().postJSON("/api/password/forgot", jsonBody(map[string]string{"email": email})), 202, `{"status":"check_inbox"}`)
		h.deliver()
		return mailboxLink(t, h, email, "/password/reset")
	}

	t.Run("use, reuse and tamper", func(t *testing.T) {
		email := h.arranged(accountstate.Verified)
		token := forgot(email)
		wantStatus(t, "tampered", reset(tamper(token), newPassword, newPassword), 400, `{"error":"invalid_token"}`)
		wantStatus(t, "too short", reset(token, "short", "short"), 422, `{"error":"invalid_input","fields":{"password":"too_short"}}`)
		wantStatus(t, "reset", reset(token, newPassword, newPassword), 204, "")
		wantStatus(t, "reuse", reset(token, newPassword+"x", newPassword+"x"), 400, `{"error":"invalid_token"}`)
		if loginStatus(h, email, newPassword) != 200 || loginStatus(h, email, newPassword+"x") != 401 {
			t.Error("the reset did not set exactly the new password")
		}
	})

	t.Run("dead after a password change", func(t *testing.T) {
		email := h.arranged(accountstate.Verified)
		token := forgot(email)
		b := h.browser()
		b.signIn(email, arrangedPassword)
		r := b.postJSON("/api/password/change", jsonBody(map[string]string{
			"current_password": arrangedPassword, "password": newPassword, "password_confirm": newPassword,
		}))
		wantStatus(t, "change password", r, 204, "")
		wantStatus(t, "reset with the older token", reset(token, "another good password 5", "another good password 5"), 400, `{"error":"invalid_token"}`)
		if loginStatus(h, email, newPassword) != 200 {
			t.Error("the changed password does not work")
		}
	})

	t.Run("using one link kills the others", func(t *testing.T) {
		email := h.arranged(accountstate.Verified)
		first := forgot(email)
		second := forgot(email)
		if first == second {
			t.Fatal("two requests gave the same token")
		}
		wantStatus(t, "second", reset(second, newPassword, newPassword), 204, "")
		wantStatus(t, "first after the second", reset(first, newPassword, newPassword), 400, `{"error":"invalid_token"}`)
	})
}

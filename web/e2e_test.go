package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

var tokenLink = regexp.MustCompile(`https?://\S+\?token=([A-Za-z0-9_-]{43})`)

// mailboxLink reads GET /_dev/mailbox and returns the token of the newest
// link with path in the mail to addr.
func mailboxLink(t *testing.T, h *harness, addr, path string) string {
	t.Helper()
	r := h.get("/_dev/mailbox")
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /_dev/mailbox: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	var mails []tacit.DevMail
	if err := json.Unmarshal(r.body, &mails); err != nil {
		t.Fatal(err)
	}
	for _, m := range mails {
		if m.To != addr {
			continue
		}
		for _, match := range tokenLink.FindAllStringSubmatch(m.Text, -1) {
			u, err := url.Parse(match[0])
			if err != nil {
				t.Fatal(err)
			}
			if u.Path == path {
				return match[1]
			}
		}
	}
	t.Fatalf("no %s link in the mail to %s; mailbox: %s", path, addr, r.text())
	return ""
}

func wantStatus(t *testing.T, what string, r reply, status int, body string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.StatusCode, status, r.text())
	}
	if body != "" && strings.TrimSpace(r.text()) != body {
		t.Fatalf("%s: body %s, want %s", what, r.text(), body)
	}
}

// TestEndToEndJSON: sign up by the JSON API in email-first mode, finish
// from the mailed link, use the session, sign out and back in.
func TestEndToEndJSON(t *testing.T) {
	h := newHarness(t, options{})
	fresh, existing := newAddress(), h.arranged(accountstate.Verified)
	b := h.browser()
	wantStatus(t, "register new", b.postJSON("/api/register", jsonBody(map[string]string{"email": fresh})), 202, `{"status":"check_inbox"}`)
	wantStatus(t, "register existing", b.postJSON("/api/register", jsonBody(map[string]string{"email": existing})), 202, `{"status":"check_inbox"}`)
	h.deliver()

	if m := h.mailsTo(existing); len(m) != 1 || !strings.HasPrefix(m[0].Subject, "You already have an account") {
		t.Fatalf("existing address got %+v, want the already-registered mail", m)
	}
	if m := h.mailsTo(fresh); len(m) != 1 || !strings.HasPrefix(m[0].Subject, "Finish signing up") {
		t.Fatalf("new address got %+v, want the finish-sign-up mail", m)
	}
	token := mailboxLink(t, h, fresh, "/register/complete")

	r := b.postJSON("/api/register/complete", jsonBody(map[string]string{"token": token, "password": chosenPassword, "password_confirm": "different"}))
	wantStatus(t, "complete with mismatch", r, 422, `{"error":"invalid_input","fields":{"password_confirm":"mismatch"}}`)
	r = b.postJSON("/api/register/complete", jsonBody(map[string]string{"token": token, "password": chosenPassword, "password_confirm": chosenPassword}))
	wantStatus(t, "complete", r, 201, `{"status":"account_created"}`)
	if b.session() == "" {
		t.Fatal("no session cookie after completing sign-up")
	}
	r = b.postJSON("/api/register/complete", jsonBody(map[string]string{"token": token, "password": chosenPassword, "password_confirm": chosenPassword}))
	wantStatus(t, "complete twice", r, 400, `{"error":"invalid_token"}`)

	r = b.get("/api/session")
	wantStatus(t, "session", r, 200, "")
	var got sessionBody
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Account.Email != fresh || got.Account.ID == 0 || got.Session.ExpiresAt.Before(got.Session.CreatedAt) {
		t.Fatalf("session = %+v", got)
	}
	for _, key := range []string{`"account":{"id":`, `"email":"` + fresh + `"`, `"created_at":`, `"session":{"created_at":`, `"expires_at":`} {
		if !strings.Contains(r.text(), key) {
			t.Errorf("session JSON lacks %s: %s", key, r.text())
		}
	}

	r = b.get("/auth/check")
	wantStatus(t, "auth check", r, 200, "")
	if r.Header.Get("X-Tacit-Email") != fresh || r.Header.Get("X-Tacit-Account-Id") != jsonNumber(got.Account.ID) {
		t.Fatalf("auth check headers: %v", r.Header)
	}

	old := b.session()
	wantStatus(t, "logout", b.postJSON("/api/logout", ""), 204, "")
	if b.session() != "" {
		t.Fatal("logout did not clear the session cookie")
	}
	wantStatus(t, "old session", h.get("/api/session", &http.Cookie{Name: h.ck.sessionName, Value: old}), 401, `{"error":"unauthenticated"}`)
	wantStatus(t, "auth check signed out", b.get("/auth/check"), 401, "")

	r = b.postJSON("/api/login", jsonBody(map[string]string{"email": fresh, "password": chosenPassword}))
	wantStatus(t, "login", r, 200, `{"status":"signed_in"}`)
	wantStatus(t, "session after login", b.get("/api/session"), 200, "")
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestEndToEndForms: the same journey through the HTML pages, in both modes.
func TestEndToEndForms(t *testing.T) {
	t.Run("email first", func(t *testing.T) {
		h := newHarness(t, options{})
		email := newAddress()
		b := h.browser()
		registerByForm(t, b, email)
		h.deliver()

		page := b.get("/_dev/mail")
		wantStatus(t, "dev mail page", page, 200, "")
		if !strings.Contains(page.text(), "Development mailbox") || !strings.Contains(page.text(), `<a href="`+h.url+`/register/complete?token=`) {
			t.Fatalf("dev mail page lacks the banner or a clickable link:\n%s", page.text())
		}
		token := mailboxLink(t, h, email, "/register/complete")

		form := b.get("/register/complete?token=" + token)
		wantStatus(t, "complete form", form, 200, "")
		if !strings.Contains(form.text(), `name="token" value="`+token+`"`) || !strings.Contains(form.text(), `autocomplete="new-password"`) {
			t.Fatalf("complete form lacks the token or autocomplete:\n%s", form.text())
		}
		r := b.postForm("/register/complete", url.Values{"token": {token}, "password": {chosenPassword}, "password_confirm": {chosenPassword}})
		wantRedirect(t, "complete", r, "/account")
		if r.cookie(h.ck.sessionName) == nil {
			t.Fatal("no session cookie after completing sign-up")
		}
		accountThenSignOutAndIn(t, h, b, email)
	})

	t.Run("full form", func(t *testing.T) {
		h := newHarness(t, options{mode: flow.FullForm})
		email := newAddress()
		b := h.browser()
		registerByForm(t, b, email, "password", chosenPassword, "password_confirm", chosenPassword)
		h.deliver()
		token := mailboxLink(t, h, email, "/verify")

		// Opening the link (as a mail scanner would) confirms nothing.
		form := b.get("/verify?token=" + token)
		wantStatus(t, "verify form", form, 200, "")
		if !strings.Contains(form.text(), "Confirm my address") {
			t.Fatalf("verify page lacks its button:\n%s", form.text())
		}
		wantStatus(t, "login before confirming", b.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": chosenPassword})), 401, "")

		r := b.postForm("/verify", url.Values{"token": {token}, "password": {chosenPassword}})
		wantRedirect(t, "verify", r, "/account")
		wantStatus(t, "verify twice", b.postForm("/verify", url.Values{"token": {token}, "password": {chosenPassword}}), 400, "")
		accountThenSignOutAndIn(t, h, b, email)
	})
}

func registerByForm(t *testing.T, b *browser, email string, extra ...string) {
	t.Helper()
	form := b.get("/register")
	wantStatus(t, "register form", form, 200, "")
	vals := url.Values{"email": {email}}
	for i := 0; i+1 < len(extra); i += 2 {
		vals.Set(extra[i], extra[i+1])
	}
	wantRedirect(t, "register", b.postForm("/register", vals), "/register/sent")
	sent := b.get("/register/sent")
	if sent.StatusCode != 200 || !strings.Contains(sent.text(), "Check your inbox") {
		t.Fatalf("sent page: %d\n%s", sent.StatusCode, sent.text())
	}
}

func accountThenSignOutAndIn(t *testing.T, h *harness, b *browser, email string) {
	t.Helper()
	acct := b.get("/account")
	wantStatus(t, "account", acct, 200, "")
	if !strings.Contains(acct.text(), email) || !strings.Contains(acct.text(), `action="/logout"`) {
		t.Fatalf("account page lacks the address or sign-out form:\n%s", acct.text())
	}
	home := b.get("/")
	if !strings.Contains(home.text(), "signed in as <strong>"+email) {
		t.Fatalf("home page does not show the signed-in address:\n%s", home.text())
	}

	wantStatus(t, "logout page", b.get("/logout"), 200, "")
	wantRedirect(t, "logout", b.postForm("/logout", url.Values{}), "/login")
	if b.session() != "" {
		t.Fatal("sign-out did not clear the session cookie")
	}
	wantRedirect(t, "account signed out", b.get("/account"), "/login")

	b.get("/login")
	r := b.postForm("/login", url.Values{"email": {email}, "password": {wrongPassword}})
	wantStatus(t, "login with a wrong password", r, 401, "")
	if !strings.Contains(r.text(), loginFailed) || !strings.Contains(r.text(), `value="`+email+`"`) {
		t.Fatalf("failed login page lacks the message or the typed address:\n%s", r.text())
	}
	if strings.Contains(r.text(), wrongPassword) {
		t.Fatal("failed login page shows the password again")
	}
	wantRedirect(t, "login", b.postForm("/login", url.Values{"email": {email}, "password": {chosenPassword}}), "/account")
	wantStatus(t, "account after login", b.get("/account"), 200, "")
}

func wantRedirect(t *testing.T, what string, r reply, to string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != to {
		t.Fatalf("%s: %d to %q, want 303 to %q; body %s", what, r.StatusCode, r.Header.Get("Location"), to, r.text())
	}
}

package web

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/internal/accountstate"
)

// TestActivityAndNotMe: the account page and the API show the sign-in
// with the failed sign-ins before it; "this wasn't me" signs every device
// out, this one too, and mails a reset link.
func TestActivityAndNotMe(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	for range 2 {
		h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": wrongPassword}))
	}
	b, other := h.browser(), h.browser()
	b.ua = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	b.signIn(email, arrangedPassword)
	other.signIn(email, arrangedPassword)
	page := b.get("/account").text()
	for _, want := range []string{"Recent activity", "Signed in, after 2 failed sign-ins on your address", "This wasn't me", `action="/account/not-me"`} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	r := b.get("/api/account/activity")
	wantStatus(t, "activity", r, 200, "")
	var got struct {
		Activity []eventJSON `json:"activity"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Activity) != 2 || got.Activity[1].FailedBefore != 2 || got.Activity[1].Kind != "signed_in" || !strings.Contains(got.Activity[1].UserAgent, "Firefox") {
		t.Fatalf("activity = %s", r.text())
	}
	wantStatus(t, "activity without session", h.browser().get("/api/account/activity"), 401, `{"error":"unauthenticated"}`)

	wantRedirect(t, "not me", b.postForm("/account/not-me", nil), "/account/secured")
	if b.session() != "" {
		t.Error("the session cookie outlived not-me")
	}
	wantStatus(t, "other device", other.get("/api/session"), 401, `{"error":"unauthenticated"}`)
	if r := b.get("/account/secured"); r.StatusCode != 200 || !strings.Contains(r.text(), "Signed out everywhere") {
		t.Fatalf("secured page: %d", r.StatusCode)
	}
	h.deliver()
	token := mailboxLink(t, h, email, "/password/reset")
	wantStatus(t, "reset", h.browser().postJSON("/api/password/reset", jsonBody(map[string]string{"token": token, "password": chosenPassword, "password_confirm": chosenPassword})), 204, "")

	// The JSON API does the same.
	c := h.browser()
	c.signIn(email, chosenPassword)
	wantStatus(t, "not me by API", c.postJSON("/api/account/not-me", "{}"), 204, "")
	wantStatus(t, "session after", c.get("/api/session"), 401, `{"error":"unauthenticated"}`)
}

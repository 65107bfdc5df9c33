package web

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/internal/accountstate"
)

// sessionEmail is the address GET /api/session shows for b.
func sessionEmail(t *testing.T, b *browser) string {
	t.Helper()
	r := b.get("/api/session")
	wantStatus(t, "session", r, 200, "")
	var got sessionBody
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	return got.Account.Email
}

// TestEmailChangeEndToEnd: change → confirmation to the new address and a
// notice to the old → confirm by the page's button → the account has the
// new address. A taken new address gets the same answer and a different
// mail.
func TestEmailChangeEndToEnd(t *testing.T) {
	h := newHarness(t, options{})
	owner, taken := h.arranged(accountstate.Verified), h.arranged(accountstate.Verified)
	other := h.arranged(accountstate.Verified)
	fresh := newAddress()

	b := h.browser()
	b.signIn(owner, arrangedPassword)
	change := func(b *browser, email, password string) reply {
		return b.postJSON("/api/email/change", jsonBody(map[string]string{"email": email, "password": password}))
	}
	wantStatus(t, "wrong password", change(b, fresh, wrongPassword), 401, `{"error":"invalid_credentials"}`)
	wantStatus(t, "bad address", change(b, "nobody", arrangedPassword), 422, `{"error":"invalid_input","fields":{"email":"invalid_email"}}`)
	wantStatus(t, "no session", h.browser().postJSON("/api/email/change", jsonBody(map[string]string{"email": fresh, "password": arrangedPassword})), 401, `{"error":"unauthenticated"}`)
	free := change(b, fresh, arrangedPassword)
	wantStatus(t, "change to a free address", free, 202, `{"status":"check_inbox"}`)

	ob := h.browser()
	ob.signIn(other, arrangedPassword)
	takenReply := change(ob, taken, arrangedPassword)
	sameResponse(t, "change to a taken vs a free address", free, takenReply, fresh, taken)
	h.deliver()

	if s, text := newestMail(t, h, fresh); s != "Confirm your new address for tacit" || !strings.Contains(text, h.url+"/email/confirm?token=") {
		t.Fatalf("mail to the new address: %q\n%s", s, text)
	}
	if s, text := newestMail(t, h, owner); s != "Address change requested for your tacit account" || !strings.Contains(text, fresh) {
		t.Fatalf("notice to the old address: %q\n%s", s, text)
	}
	if s, text := newestMail(t, h, taken); s != "This address already has an account with tacit" || strings.Contains(text, "token=") {
		t.Fatalf("mail to the taken address: %q\n%s", s, text)
	}
	if s, _ := newestMail(t, h, other); s != "Address change requested for your tacit account" {
		t.Fatalf("notice to the requester of the taken address: %q", s)
	}
	token := mailboxLink(t, h, fresh, "/email/confirm")

	// Opening the link changes nothing.
	page := h.browser().get("/email/confirm?token=" + token)
	wantStatus(t, "confirm page", page, 200, "")
	if !strings.Contains(page.text(), "Confirm my new address") || !strings.Contains(page.text(), `name="token" value="`+token+`"`) {
		t.Fatalf("confirm page:\n%s", page.text())
	}
	if got := sessionEmail(t, b); got != owner {
		t.Fatalf("after opening the link the account has %s", got)
	}

	cb := h.browser()
	cb.get("/email/confirm?token=" + token)
	wantRedirect(t, "confirm", cb.postForm("/email/confirm", url.Values{"token": {token}}), "/email/confirm/done")
	if done := cb.get("/email/confirm/done"); !strings.Contains(done.text(), "<h1>Address changed</h1>") {
		t.Errorf("done page:\n%s", done.text())
	}
	if got := sessionEmail(t, b); got != fresh {
		t.Errorf("after confirming the account has %s, want %s", got, fresh)
	}
	h.deliver()
	if s, text := newestMail(t, h, owner); s != "The address of your tacit account was changed" || !strings.Contains(text, fresh) {
		t.Errorf("change notice to the old address: %q\n%s", s, text)
	}
	if loginStatus(h, fresh, arrangedPassword) != 200 || loginStatus(h, owner, arrangedPassword) != 401 {
		t.Error("sign-in does not follow the new address")
	}
	r := h.browser().postJSON("/api/email/confirm", jsonBody(map[string]string{"token": token}))
	wantStatus(t, "confirm twice", r, 400, `{"error":"invalid_token"}`)
	if got := sessionEmail(t, ob); got != other {
		t.Errorf("the request for a taken address changed the account to %s", got)
	}
}

// TestEmailChangeJSONConfirm: the JSON confirmation answers 204, and the
// form on the account page starts a change.
func TestEmailChangeJSONConfirm(t *testing.T) {
	h := newHarness(t, options{})
	owner, fresh := h.arranged(accountstate.Verified), newAddress()
	b := h.browser()
	b.signIn(owner, arrangedPassword)
	b.get("/account")
	r := b.postForm("/account/email", url.Values{"email": {fresh}, "password": {wrongPassword}})
	wantStatus(t, "form with a wrong password", r, 401, "")
	if !strings.Contains(r.text(), "This is not your password.") || !strings.Contains(r.text(), `value="`+fresh+`"`) {
		t.Errorf("account page after a wrong password:\n%s", r.text())
	}
	r = b.postForm("/account/email", url.Values{"email": {""}, "password": {""}})
	wantStatus(t, "empty form", r, 422, "")
	for _, msg := range []string{"Enter the new address.", "Enter your password.", `href="#em-email"`, `id="em-password"`} {
		if !strings.Contains(r.text(), msg) {
			t.Errorf("empty email form lacks %q", msg)
		}
	}
	wantRedirect(t, "form", b.postForm("/account/email", url.Values{"email": {fresh}, "password": {arrangedPassword}}), "/account?done=email_sent")
	if p := b.get("/account?done=email_sent"); !strings.Contains(p.text(), "We have sent a link to the new address.") {
		t.Errorf("account page lacks the notice:\n%s", p.text())
	}
	h.deliver()
	token := mailboxLink(t, h, fresh, "/email/confirm")
	wantStatus(t, "confirm", h.browser().postJSON("/api/email/confirm", jsonBody(map[string]string{"token": token})), 204, "")
	if got := sessionEmail(t, b); got != fresh {
		t.Errorf("account has %s, want %s", got, fresh)
	}
	wantStatus(t, "tampered", h.browser().postJSON("/api/email/confirm", jsonBody(map[string]string{"token": tamper(token)})), 400, `{"error":"invalid_token"}`)
}

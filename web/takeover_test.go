package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// intrudersPassword is the password of someone who signs up an address
// that is not theirs.
const intrudersPassword = "intruder chose 2"

// TestSignUpTakeoverEndToEnd, through the real server:
// the owner of an address signs up with the full form; before they
// confirm, an intruder signs up the same address with a password of their
// own and asks for the link again, which mails the newest sign-up's link
// (the intruder's) to the owner. The owner follows it. Before the fix the
// account got the intruder's password and the intruder signed in.
func TestSignUpTakeoverEndToEnd(t *testing.T) {
	h := newHarness(t, options{mode: flow.FullForm})

	signUpTwice := func(t *testing.T) (owner string, ob *browser) {
		h.t = t
		owner, ob = newAddress(), h.browser()
		registerByForm(t, ob, owner, "password", chosenPassword, "password_confirm", chosenPassword)
		intruder := h.browser()
		wantStatus(t, "intruder's sign-up", intruder.postJSON("/api/register", jsonBody(map[string]string{
			"email": owner, "password": intrudersPassword, "password_confirm": intrudersPassword,
		})), 202, `{"status":"check_inbox"}`)
		wantStatus(t, "intruder's resend", intruder.postJSON("/api/verify/resend", jsonBody(map[string]string{"email": owner})), 202, `{"status":"check_inbox"}`)
		h.deliver()
		return owner, ob
	}

	t.Run("form", func(t *testing.T) {
		owner, ob := signUpTwice(t)
		token := mailboxLink(t, h, owner, "/verify") // the newest: the resent one
		page := ob.get("/verify?token=" + token)
		wantStatus(t, "verify page", page, 200, "")
		r := ob.postForm("/verify", url.Values{"token": {token}, "password": {chosenPassword}})
		wantRedirect(t, "owner confirms", r, "/account")
		if got := loginStatus(h, owner, intrudersPassword); got != 401 {
			t.Fatalf("the intruder's password signs in to the owner's new account: %d", got)
		}
		if got := loginStatus(h, owner, chosenPassword); got != 200 {
			t.Fatalf("the owner's password: %d", got)
		}
		if !strings.Contains(page.text(), `name="email" value="`+owner+`" autocomplete="username"`) ||
			!strings.Contains(page.text(), `autocomplete="current-password"`) {
			t.Errorf("verify page lacks the username or password field:\n%s", page.text())
		}
	})

	t.Run("form, wrong password", func(t *testing.T) {
		owner, ob := signUpTwice(t)
		token := mailboxLink(t, h, owner, "/verify")
		ob.get("/verify?token=" + token)
		r := ob.postForm("/verify", url.Values{"token": {token}, "password": {wrongPassword}, "email": {owner}})
		wantStatus(t, "wrong password", r, 401, "")
		if !strings.Contains(r.text(), "This is not the password you chose when you signed up.") || !strings.Contains(r.text(), `name="token" value="`+token+`"`) {
			t.Errorf("wrong password page:\n%s", r.text())
		}
		r = ob.postForm("/verify", url.Values{"token": {token}})
		wantStatus(t, "no password", r, 422, "")
		if !strings.Contains(r.text(), "Enter the password you chose when you signed up.") {
			t.Errorf("no password page:\n%s", r.text())
		}
		wantRedirect(t, "owner confirms", ob.postForm("/verify", url.Values{"token": {token}, "password": {chosenPassword}}), "/account")
		if loginStatus(h, owner, intrudersPassword) != 401 || loginStatus(h, owner, chosenPassword) != 200 {
			t.Fatal("the account does not have exactly the owner's password")
		}
	})

	t.Run("JSON", func(t *testing.T) {
		owner, _ := signUpTwice(t)
		token := mailboxLink(t, h, owner, "/verify")
		b := h.browser()
		verify := func(body map[string]string) reply { return b.postJSON("/api/verify", jsonBody(body)) }
		wantStatus(t, "no password", verify(map[string]string{"token": token}), 422, `{"error":"invalid_input","fields":{"password":"required"}}`)
		// The email-first completion does not take a full-form link: it
		// would set the holder's password without the check.
		wantStatus(t, "complete with a full-form link", b.postJSON("/api/register/complete", jsonBody(map[string]string{
			"token": token, "password": intrudersPassword, "password_confirm": intrudersPassword,
		})), 400, `{"error":"invalid_token"}`)
		wantStatus(t, "intruder's password", verify(map[string]string{"token": token, "password": wrongPassword}), 401, `{"error":"invalid_credentials"}`)
		wantStatus(t, "unknown token", verify(map[string]string{"token": fixedToken, "password": chosenPassword}), 400, `{"error":"invalid_token"}`)
		wantStatus(t, "owner's password", verify(map[string]string{"token": token, "password": chosenPassword}), 200, `{"status":"signed_in"}`)
		wantStatus(t, "twice", verify(map[string]string{"token": token, "password": chosenPassword}), 400, `{"error":"invalid_token"}`)
		if loginStatus(h, owner, intrudersPassword) != 401 || loginStatus(h, owner, chosenPassword) != 200 {
			t.Fatal("the account does not have exactly the owner's password")
		}
	})
}

// TestThiefsEmailChangeEndToEnd, through the real
// server: a thief with the password signs in and asks to move the account
// to their own address; the owner changes the password (signing out the
// other devices) or signs the thief's device out; then the thief confirms
// the mailed link. Before the fix it answered 204, the account carried the
// thief's address, and a reset mailed there took it.
func TestThiefsEmailChangeEndToEnd(t *testing.T) {
	h := newHarness(t, options{})
	for _, tc := range []struct {
		name     string
		takeBack func(t *testing.T, owner *browser)
	}{
		{"password change", func(t *testing.T, owner *browser) {
			wantStatus(t, "owner changes the password", owner.postJSON("/api/password/change",
				`{"current_password":"`+arrangedPassword+`","password":"`+newPassword+`","password_confirm":"`+newPassword+`","end_other_sessions":true}`), 204, "")
		}},
		{"sign out the other devices", func(t *testing.T, owner *browser) {
			wantStatus(t, "owner signs out the others", owner.delete("/api/sessions"), 204, "")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			email, loot := h.arranged(accountstate.Verified), newAddress()
			owner, thief := h.signedIn(email, "owner"), h.signedIn(email, "thief")
			wantStatus(t, "thief asks to move the account", thief.postJSON("/api/email/change", jsonBody(map[string]string{
				"email": loot, "password": arrangedPassword,
			})), 202, `{"status":"check_inbox"}`)
			h.deliver()
			token := mailboxLink(t, h, loot, "/email/confirm")

			tc.takeBack(t, owner)
			wantStatus(t, "thief's session", thief.get("/api/session"), 401, "")
			wantStatus(t, "thief confirms", h.browser().postJSON("/api/email/confirm", jsonBody(map[string]string{"token": token})), 400, `{"error":"invalid_token"}`)
			if got := sessionEmail(t, owner); got != email {
				t.Fatalf("the account moved to %s", got)
			}
			// A reset asked for the thief's address mails nothing that
			// works for the owner's account.
			wantStatus(t, "reset to the thief's address", h.browser().postJSON("/api/password/forgot", jsonBody(map[string]string{"email": loot})), 202, "")
			h.deliver()
			for _, m := range h.mailsTo(loot) {
				if strings.Contains(m.Text, "/password/reset?token=") {
					t.Fatalf("the thief's address got a reset link:\n%s", m.Text)
				}
			}
		})
	}
}

package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// TestSeedRegistrationMatrix replays the registration test table of
// seeds/002: every class of invalid input, for a new address and for one
// that already has a verified account, must get the same answer with the
// same field codes; valid input must get "check your inbox" for both; and
// signing in with the password just chosen must fail alike for both.
func TestSeedRegistrationMatrix(t *testing.T) {
	plain := newHarness(t, options{mode: flow.FullForm})
	strict := newHarness(t, options{mode: flow.FullForm, policy: tacit.PasswordPolicy{
		Min: 8, Max: 100, Require: []tacit.CharClass{tacit.Lower, tacit.Upper, tacit.Digit, tacit.Symbol},
		Blocklist: tacit.CommonPasswords(),
	}})
	const good = chosenPassword
	cases := []struct {
		name              string
		h                 *harness
		email             func(string) string // from the arranged address
		password, confirm string
		want              string // the exact JSON answer
	}{
		{"missing email", plain, func(string) string { return "" }, good, good,
			`{"error":"invalid_input","fields":{"email":"required"}}`},
		{"missing password", plain, same, "", good,
			`{"error":"invalid_input","fields":{"password":"required","password_confirm":"mismatch"}}`},
		{"missing confirmation", plain, same, good, "",
			`{"error":"invalid_input","fields":{"password_confirm":"required"}}`},
		{"bad email syntax", plain, func(e string) string { return strings.Replace(e, "@", " at ", 1) }, good, good,
			`{"error":"invalid_input","fields":{"email":"invalid_email"}}`},
		// Look-alikes of the arranged address: an invisible code point
		// inside it.
		{"zero-width space", plain, invisibleIn("\u200b"), good, good,
			`{"error":"invalid_input","fields":{"email":"invalid_email"}}`},
		{"right-to-left override", plain, invisibleIn("\u202e"), good, good,
			`{"error":"invalid_input","fields":{"email":"invalid_email"}}`},
		{"soft hyphen", plain, invisibleIn("\u00ad"), good, good,
			`{"error":"invalid_input","fields":{"email":"invalid_email"}}`},
		{"too short", plain, same, "Ab1!", "Ab1!",
			`{"error":"invalid_input","fields":{"password":"too_short"}}`},
		{"missing character classes", strict, same, "onlylowercaseletters", "onlylowercaseletters",
			`{"error":"invalid_input","fields":{"password":"missing_classes"}}`},
		{"mismatch", plain, same, good, good + "!",
			`{"error":"invalid_input","fields":{"password_confirm":"mismatch"}}`},
		{"blocklisted", plain, same, "password1", "password1",
			`{"error":"invalid_input","fields":{"password":"breached"}}`},
		{"everything wrong", strict, func(string) string { return "nobody" }, "abc", "abd",
			`{"error":"invalid_input","fields":{"email":"invalid_email","password":"too_short","password_confirm":"mismatch"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.h
			h.t = t
			fresh, existing := h.arranged(accountstate.None), h.arranged(accountstate.Verified)
			ea, eb := c.email(fresh), c.email(existing)
			body := func(e string) string {
				return jsonBody(map[string]string{"email": e, "password": c.password, "password_confirm": c.confirm})
			}
			ra, rb := h.browser().postJSON("/api/register", body(ea)), h.browser().postJSON("/api/register", body(eb))
			if ra.StatusCode != 422 || strings.TrimSpace(ra.text()) != c.want {
				t.Errorf("new address: %d %s, want 422 %s", ra.StatusCode, ra.text(), c.want)
			}
			sameResponse(t, "JSON", ra, rb, ea, eb)

			form := func(e string) reply {
				b := h.browser()
				b.get("/register")
				return b.postForm("/register", url.Values{"email": {e}, "password": {c.password}, "password_confirm": {c.confirm}})
			}
			fa, fb := form(ea), form(eb)
			if fa.StatusCode != 422 || !strings.Contains(fa.text(), `aria-invalid="true"`) {
				t.Errorf("form for new address: %d, want 422 with the fields marked", fa.StatusCode)
			}
			sameResponse(t, "form", fa, fb, ea, eb)
			if n, _ := h.worker.RunOnce(t.Context()); n != 0 {
				t.Errorf("invalid input queued %d mails", n)
			}
		})
	}

	t.Run("valid input, then sign in with the chosen password", func(t *testing.T) {
		h := plain
		h.t = t
		fresh, existing := h.arranged(accountstate.None), h.arranged(accountstate.Verified)
		body := func(e string) string {
			return jsonBody(map[string]string{"email": e, "password": good, "password_confirm": good})
		}
		ra, rb := h.browser().postJSON("/api/register", body(fresh)), h.browser().postJSON("/api/register", body(existing))
		if ra.StatusCode != 202 || ra.text() != `{"status":"check_inbox"}`+"\n" {
			t.Errorf("valid sign-up: %d %q", ra.StatusCode, ra.text())
		}
		sameResponse(t, "valid sign-up", ra, rb, fresh, existing)

		login := func(e string) reply {
			return h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": e, "password": good}))
		}
		la, lb := login(fresh), login(existing)
		if la.StatusCode != 401 || la.text() != `{"error":"invalid_credentials"}`+"\n" {
			t.Errorf("login before verification: %d %q", la.StatusCode, la.text())
		}
		sameResponse(t, "login with the chosen password", la, lb, fresh, existing)

		h.deliver()
		if m := h.mailsTo(fresh); len(m) != 1 || !strings.Contains(m[0].Text, "/verify?token=") {
			t.Errorf("new address got %+v, want one verify mail", m)
		}
		if m := h.mailsTo(existing); len(m) != 1 || !strings.Contains(m[0].Text, "/password/forgot") || strings.Contains(m[0].Text, "token=") {
			t.Errorf("existing address got %+v, want one already-registered mail", m)
		}
	})
}

func same(e string) string { return e }

// invisibleIn returns a function that puts inv after the first character
// of an address, making a look-alike of it.
func invisibleIn(inv string) func(string) string {
	return func(e string) string { return e[:1] + inv + e[1:] }
}

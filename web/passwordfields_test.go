package web

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// inputTag is an input as the layout renders it.
var inputTag = regexp.MustCompile(`<input id="[^"]*" name="([^"]+)" type="([^"]+)"[^>]*>`)

// TestPasswordFieldsMasked (ASVS 6.2.6): every field that takes a
// password, on every page that has one, is type="password" and is never
// filled in again from what was posted.
func TestPasswordFieldsMasked(t *testing.T) {
	pages := map[string]string{} // path → HTML

	full := newHarness(t, options{mode: flow.FullForm})
	pages["/register (full form)"] = full.get("/register").text()
	pages["/login"] = full.get("/login").text()
	// A refused form comes back with its values, but never the password.
	b := full.browser()
	b.get("/login")
	pages["/login, refused"] = b.postForm("/login", url.Values{"email": {"x@example.com"}, "password": {"typed secret"}}).text()
	full.postJSON("/api/register", `{"email":"vera@example.com","password":"veras password 1","password_confirm":"veras password 1"}`)
	full.deliver()
	pages["/verify"] = full.get("/verify?token=" + mailboxLink(t, full, "vera@example.com", "/verify")).text()

	h := newHarness(t, options{})
	h.postJSON("/api/register", `{"email":"wes@example.com"}`)
	email := h.arranged(accountstate.Verified)
	h.postJSON("/api/password/forgot", `{"email":"`+email+`"}`)
	h.deliver()
	pages["/register/complete"] = h.get("/register/complete?token=" + mailboxLink(t, h, "wes@example.com", "/register/complete")).text()
	pages["/password/reset"] = h.get("/password/reset?token=" + mailboxLink(t, h, email, "/password/reset")).text()
	owner := h.browser()
	owner.signIn(email, arrangedPassword)
	owner.get("/account")
	owner.postForm("/account/mfa/setup", url.Values{})
	pages["/account (MFA off)"] = owner.get("/account").text()
	m := secretOnPage.FindStringSubmatch(pages["/account (MFA off)"])
	if m == nil {
		t.Fatal("no setup key on the account page")
	}
	owner.postForm("/account/mfa/enable", url.Values{"code": {h.code(m[1], 0)}, "password": {arrangedPassword}})
	pages["/account (MFA on)"] = owner.get("/account").text()

	if !strings.Contains(pages["/login, refused"], `value="x@example.com"`) {
		t.Error("the refused sign-in page does not keep the address: it is not the refused form")
	}
	seen := 0
	for page, html := range pages {
		for _, in := range inputTag.FindAllStringSubmatch(html, -1) {
			if !strings.Contains(in[1], "password") {
				continue
			}
			seen++
			if in[2] != "password" || strings.Contains(in[0], "value=") {
				t.Errorf("%s: %s, want type=\"password\" and no value", page, in[0])
			}
		}
	}
	t.Logf("%d password fields on %d pages", seen, len(pages))
	// register 2, login 1, verify 1, complete 2, reset 2, account
	// (change password 3, change address 1, enable 1; then disable 1,
	// renew 1).
	if seen < 15 {
		t.Errorf("%d password fields found on %d pages, want at least 15: the pattern no longer matches the layout?", seen, len(pages))
	}
}

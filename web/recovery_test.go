package web

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

var codeOnPage = regexp.MustCompile(`<li><code>([a-z2-7]{6}-[a-z2-7]{6}-[a-z2-7]{6}-[a-z2-7]{6})</code></li>`)

// codesOnPage returns the recovery codes a page lists.
func codesOnPage(page string) []string {
	var out []string
	for _, m := range codeOnPage.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestRecoveryCodesPage: turning MFA on shows the codes on a page of their
// own, with a download of them and a copy button for the script; the
// account page makes new ones with the password only, and the old ones
// then no longer sign in. The owner is mailed.
func TestRecoveryCodesPage(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	owner := h.browser()
	owner.signIn(email, arrangedPassword)
	owner.get("/account")
	wantRedirect(t, "set-up", owner.postForm("/account/mfa/setup", url.Values{}), "/account#mfa-title")
	page := owner.get("/account").text()
	m := secretOnPage.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no setup key: %s", page)
	}
	// The setup link is a link, for the phone that has the app.
	if !regexp.MustCompile(`<a class="secret" href="otpauth://totp/tacit:[^"]+secret=` + m[1]).MatchString(page) {
		t.Errorf("the setup link is not a link:\n%s", page)
	}

	r := owner.postForm("/account/mfa/enable", url.Values{"code": {h.code(m[1], 0)}, "password": {arrangedPassword}})
	wantStatus(t, "enable", r, 200, "")
	old := codesOnPage(r.text())
	if len(old) != flow.RecoveryCodes || !strings.Contains(r.text(), "<h1 id=\"codes-title\" tabindex=\"-1\" data-focus>Save your recovery codes</h1>") {
		t.Fatalf("enable shows %d codes:\n%s", len(old), r.text())
	}
	for _, want := range []string{`download="tacit-recovery-codes.txt"`, `href="data:text/plain;charset=utf-8,Recovery%20codes%20for%20your%20tacit%20account%20` + url.PathEscape(email),
		url.PathEscape(old[0]) + "%0A", `data-copy="recovery-codes" hidden>Copy the codes</button>`, `href="/account"`} {
		if !strings.Contains(r.text(), want) {
			t.Errorf("codes page lacks %s", want)
		}
	}
	if strings.Contains(r.text(), "<script>") || strings.Contains(r.text(), "onclick") {
		t.Error("inline script on the codes page")
	}
	h.nextStep()
	h.deliver()
	before := len(h.mailsTo(email))

	// The account page offers new codes; a wrong password gets none.
	if !strings.Contains(owner.get("/account").text(), `action="/account/mfa/recovery-codes"`) {
		t.Fatal("no form for new recovery codes on the account page")
	}
	r = owner.postForm("/account/mfa/recovery-codes", url.Values{"password": {wrongPassword}})
	wantStatus(t, "renew, wrong password", r, 401, "")
	if !strings.Contains(r.text(), `id="renew-password-error"`) || len(codesOnPage(r.text())) != 0 {
		t.Fatalf("renew, wrong password:\n%s", r.text())
	}
	r = owner.postForm("/account/mfa/recovery-codes", url.Values{"password": {arrangedPassword}})
	wantStatus(t, "renew", r, 200, "")
	fresh := codesOnPage(r.text())
	if len(fresh) != flow.RecoveryCodes || !strings.Contains(r.text(), "the old ones no longer work") {
		t.Fatalf("renew shows %d codes:\n%s", len(fresh), r.text())
	}
	h.deliver()
	ms := h.mailsTo(email)
	renewed := 0
	for _, m := range ms {
		if strings.HasPrefix(m.Subject, "New recovery codes") {
			renewed++
		}
	}
	if len(ms) != before+1 || renewed != 1 {
		t.Errorf("mails after renewal: %d (%d about new codes), want %d (1)", len(ms), renewed, before+1)
	}

	// An old code no longer signs in; a new one does.
	b := passwordStep(t, h, email)
	wantStatus(t, "old code", b.postJSON("/api/login/mfa", codeBody(old[0])), 401, `{"error":"invalid_credentials"}`)
	b = passwordStep(t, h, email)
	wantStatus(t, "new code", b.postJSON("/api/login/mfa", codeBody(fresh[0])), 200, `{"status":"signed_in"}`)

	// The JSON API does the same.
	r = b.postJSON("/api/mfa/recovery-codes", jsonBody(map[string]string{"password": wrongPassword}))
	wantStatus(t, "API renew, wrong password", r, 401, `{"error":"invalid_credentials"}`)
	r = b.postJSON("/api/mfa/recovery-codes", jsonBody(map[string]string{"password": arrangedPassword}))
	wantStatus(t, "API renew", r, 200, "")
	var rc recoveryCodesBody
	if err := json.Unmarshal(r.body, &rc); err != nil || len(rc.RecoveryCodes) != flow.RecoveryCodes {
		t.Fatalf("API renew: %s (%v)", r.text(), err)
	}
	c := passwordStep(t, h, email)
	wantStatus(t, "code of the web form after the API's", c.postJSON("/api/login/mfa", codeBody(fresh[1])), 401, `{"error":"invalid_credentials"}`)

	// Without MFA there is nothing to renew.
	b.get("/account")
	wantRedirect(t, "disable", b.postForm("/account/mfa/disable", url.Values{"password": {arrangedPassword}}), "/account?done=mfa_disabled")
	r = b.postJSON("/api/mfa/recovery-codes", jsonBody(map[string]string{"password": arrangedPassword}))
	wantStatus(t, "API renew without MFA", r, 409, "")
	wantRedirect(t, "renew without MFA", b.postForm("/account/mfa/recovery-codes", url.Values{"password": {arrangedPassword}}), "/account")
}

// TestLinkPagesNameTheAddress: the pages of mailed links say which
// address they are about and carry it in a hidden username field for
// password managers; a used sign-up link says so at once, and leads a
// browser signed in to the account it just made to that account.
func TestLinkPagesNameTheAddress(t *testing.T) {
	h := newHarness(t, options{})
	addr := newAddress()
	b := h.browser()
	b.get("/register")
	wantRedirect(t, "sign-up", b.postForm("/register", url.Values{"email": {addr}}), "/register/sent")
	h.deliver()
	token := mailboxLink(t, h, addr, "/register/complete")
	username := `<input type="email" name="username" value="` + addr + `" autocomplete="username" hidden readonly>`

	r := b.get("/register/complete?token=" + token)
	wantStatus(t, "choose password", r, 200, "")
	for _, want := range []string{"For the account of <strong class=\"address\">" + addr + "</strong>", username} {
		if !strings.Contains(r.text(), want) {
			t.Errorf("choose-password page lacks %s", want)
		}
	}
	other := h.browser() // another browser, not signed in
	wantRedirect(t, "create", b.postForm("/register/complete", url.Values{"token": {token}, "password": {chosenPassword}, "password_confirm": {chosenPassword}}), "/account")
	// The link again, in the browser now signed in to its account: the account.
	wantRedirect(t, "used link, signed in", b.get("/register/complete?token="+token), "/account")
	// Elsewhere, the dead link is said at once.
	r = other.get("/register/complete?token=" + token)
	wantStatus(t, "used link", r, 400, "")
	if !strings.Contains(r.text(), "<h1>This link no longer works</h1>") || strings.Contains(r.text(), `name="password"`) {
		t.Errorf("used link page:\n%s", r.text())
	}

	// The reset page, likewise.
	f := h.browser()
	f.get("/password/forgot")
	f.postForm("/password/forgot", url.Values{"email": {addr}})
	h.deliver()
	reset := mailboxLink(t, h, addr, "/password/reset")
	r = f.get("/password/reset?token=" + reset)
	wantStatus(t, "reset page", r, 200, "")
	for _, want := range []string{"For the account of <strong class=\"address\">" + addr + "</strong>", username} {
		if !strings.Contains(r.text(), want) {
			t.Errorf("reset page lacks %s", want)
		}
	}

	// The new-address page names the new address.
	fresh := newAddress()
	b.get("/account")
	wantRedirect(t, "change address", b.postForm("/account/email", url.Values{"email": {fresh}, "password": {chosenPassword}}), "/account?done=email_sent")
	h.deliver()
	confirm := mailboxLink(t, h, fresh, "/email/confirm")
	r = b.get("/email/confirm?token=" + confirm)
	if want := "Your new address: <strong class=\"address\">" + fresh + "</strong>"; !strings.Contains(r.text(), want) {
		t.Errorf("confirm page lacks %s", want)
	}
}

package web

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// code returns the TOTP code of secret at the flows' clock plus ahead.
func (h *harness) code(secret string, ahead time.Duration) string {
	h.t.Helper()
	c, err := totp.GenerateCode(secret, time.Now().Add(time.Duration(h.skew.Load())+ahead))
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// nextStep moves the flows' clock one TOTP step on, so a new code exists.
func (h *harness) nextStep() { h.skew.Add(int64(30 * time.Second)) }

func codeBody(code string) string { return jsonBody(map[string]string{"code": code}) }

// enableBody is what POST /api/mfa/totp/enable takes: the code and the
// account's password.
func enableBody(code string) string {
	return jsonBody(map[string]string{"code": code, "password": arrangedPassword})
}

// enrolJSON turns MFA on for the signed-in browser b through the JSON API
// and returns the secret and the recovery codes.
func enrolJSON(t *testing.T, h *harness, b *browser) (string, []string) {
	t.Helper()
	r := b.postJSON("/api/mfa/totp/setup", "")
	wantStatus(t, "set-up", r, 200, "")
	var setup totpSetupBody
	if err := json.Unmarshal(r.body, &setup); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(setup.URI, "otpauth://totp/tacit:") || !strings.Contains(setup.URI, "secret="+setup.Secret) {
		t.Fatalf("set-up %+v", setup)
	}
	r = b.postJSON("/api/mfa/totp/enable", enableBody(h.code(setup.Secret, 0)))
	wantStatus(t, "enable", r, 200, "")
	var rc recoveryCodesBody
	if err := json.Unmarshal(r.body, &rc); err != nil || len(rc.RecoveryCodes) != flow.RecoveryCodes {
		t.Fatalf("enable: %s (%v)", r.text(), err)
	}
	h.nextStep()
	return setup.Secret, rc.RecoveryCodes
}

// passwordStep signs a fresh browser in with the right password of an
// account with MFA on, which leaves it at the second step.
func passwordStep(t *testing.T, h *harness, email string) *browser {
	t.Helper()
	b := h.browser()
	r := b.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword}))
	wantStatus(t, "password step", r, 200, `{"status":"mfa_required"}`)
	if b.session() != "" || b.jar[h.ck.mfaName] == nil {
		t.Fatalf("after the password step: cookies %v", r.Header.Values("Set-Cookie"))
	}
	return b
}

func TestMFAEndToEndJSON(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	owner := h.browser()
	owner.signIn(email, arrangedPassword)

	r := owner.postJSON("/api/mfa/totp/enable", codeBody("123456"))
	wantStatus(t, "enable without the password", r, 422, `{"error":"invalid_input","fields":{"password":"required"}}`)
	r = owner.postJSON("/api/mfa/totp/enable", enableBody("123456"))
	wantStatus(t, "enable before set-up", r, 422, `{"error":"invalid_input","fields":{"code":"incorrect"}}`)
	secret, codes := enrolJSON(t, h, owner)
	wantStatus(t, "set-up with MFA on", owner.postJSON("/api/mfa/totp/setup", ""), 409, "")
	h.deliver()
	if ms := h.mailsTo(email); len(ms) != 1 || !strings.Contains(ms[0].Subject, "Two-step sign-in is on") {
		t.Fatalf("mails to the owner: %+v", ms)
	}

	b := passwordStep(t, h, email)
	wantStatus(t, "session at the second step", b.get("/api/session"), 401, "")
	wantStatus(t, "wrong code", b.postJSON("/api/login/mfa", codeBody(h.code(secret, 10*time.Minute))), 401, `{"error":"invalid_credentials"}`)
	code := h.code(secret, 0)
	r = b.postJSON("/api/login/mfa", codeBody(code))
	wantStatus(t, "right code", r, 200, `{"status":"signed_in"}`)
	if got := setCookieLine(t, r, h.ck.mfaName); got != "tacit_mfa=<empty>; Path=/; Max-Age=0; HttpOnly; SameSite=Lax" {
		t.Errorf("second-step cookie after sign-in: %s", got)
	}
	wantStatus(t, "session after the second step", b.get("/api/session"), 200, "")

	// The same code is refused at the next sign-in; a recovery code works
	// once.
	c := passwordStep(t, h, email)
	wantStatus(t, "replayed code", c.postJSON("/api/login/mfa", codeBody(code)), 401, `{"error":"invalid_credentials"}`)
	wantStatus(t, "recovery code", c.postJSON("/api/login/mfa", codeBody(codes[0])), 200, `{"status":"signed_in"}`)
	d := passwordStep(t, h, email)
	wantStatus(t, "used recovery code", d.postJSON("/api/login/mfa", codeBody(codes[0])), 401, `{"error":"invalid_credentials"}`)

	disable := func(pw string) reply {
		return owner.postJSON("/api/mfa/totp/disable", jsonBody(map[string]string{"password": pw}))
	}
	wantStatus(t, "disable, wrong password", disable(wrongPassword), 401, `{"error":"invalid_credentials"}`)
	wantStatus(t, "disable", disable(arrangedPassword), 204, "")
	wantStatus(t, "sign-in without MFA", h.browser().postJSON("/api/login",
		jsonBody(map[string]string{"email": email, "password": arrangedPassword})), 200, `{"status":"signed_in"}`)
}

// TestMFACookie checks the second-step cookie exactly, in both modes.
func TestMFACookie(t *testing.T) {
	for _, secure := range []bool{true, false} {
		prefix, flag := "", ""
		if secure {
			prefix, flag = "__Host-", "; Secure"
		}
		h := newHarness(t, options{secure: secure})
		email := h.arranged(accountstate.MFAEnabled)
		r := h.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword}))
		want := prefix + "tacit_mfa=<value>; Path=/; Max-Age=300; HttpOnly" + flag + "; SameSite=Lax"
		if got := setCookieLine(t, r, prefix+"tacit_mfa"); got != want {
			t.Errorf("second-step cookie:\n got %s\nwant %s", got, want)
		}
		if r.cookie(prefix+"tacit_session") != nil {
			t.Error("the password step set a session cookie")
		}
	}
}

// TestMFAFailuresLookAlike: a wrong code at a live second step, a code
// with no challenge, with a made-up one and with a spent one are answered
// identically, by the API and by the form.
func TestMFAFailuresLookAlike(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.MFAEnabled)
	secret := accountstate.TOTPSecret
	wrong := h.code(secret, 10*time.Minute)

	spent := passwordStep(t, h, email)
	wantStatus(t, "sign in", spent.postJSON("/api/login/mfa", codeBody(h.code(secret, 0))), 200, "")
	spent.jar[h.ck.mfaName] = &http.Cookie{Name: h.ck.mfaName, Value: spentChallenge(t, h, email, secret)}
	delete(spent.jar, h.ck.sessionName)
	madeUp := h.browser()
	madeUp.jar[h.ck.mfaName] = &http.Cookie{Name: h.ck.mfaName, Value: fixedToken}
	browsers := map[string]func() *browser{
		"live":    func() *browser { return passwordStep(t, h, email) },
		"none":    h.browser,
		"made-up": func() *browser { return madeUp },
		"spent":   func() *browser { return spent },
		"too long": func() *browser {
			b := h.browser()
			b.jar[h.ck.mfaName] = &http.Cookie{Name: h.ck.mfaName, Value: strings.Repeat("x", 300)}
			return b
		},
	}
	var refAPI, refForm reply
	for name, mk := range browsers {
		b := mk()
		api := b.postJSON("/api/login/mfa", codeBody(wrong))
		b.get("/login/mfa")
		form := b.postForm("/login/mfa", url.Values{"code": {wrong}})
		wantStatus(t, name+" (API)", api, 401, `{"error":"invalid_credentials"}`)
		wantStatus(t, name+" (form)", form, 401, "")
		if !strings.Contains(form.text(), "That code did not work") {
			t.Errorf("%s (form): no failure message", name)
		}
		if refAPI.Response == nil {
			refAPI, refForm = api, form
			continue
		}
		sameResponse(t, name+" (API)", refAPI, api, "-", "-")
		sameResponse(t, name+" (form)", refForm, form, "-", "-")
	}
}

// spentChallenge returns the token of a challenge for email that has been
// used to sign in.
func spentChallenge(t *testing.T, h *harness, email, secret string) string {
	t.Helper()
	h.nextStep()
	b := passwordStep(t, h, email)
	tok := b.jar[h.ck.mfaName].Value
	wantStatus(t, "sign in", b.postJSON("/api/login/mfa", codeBody(h.code(secret, 0))), 200, "")
	return tok
}

var secretOnPage = regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`)

func TestMFAForms(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	owner := h.browser()
	owner.signIn(email, arrangedPassword)
	if r := owner.get("/account"); !strings.Contains(r.text(), "Set up two-step sign-in") {
		t.Fatalf("account page without MFA: %s", r.text())
	}
	wantRedirect(t, "set-up", owner.postForm("/account/mfa/setup", url.Values{}), "/account#mfa-title")
	page := owner.get("/account").text()
	m := secretOnPage.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "otpauth://totp/tacit:") {
		t.Fatalf("account page during set-up: %s", page)
	}
	secret := m[1]
	qr := owner.get("/account/mfa/qr.png")
	wantStatus(t, "QR code", qr, 200, "")
	if img, err := png.Decode(bytes.NewReader(qr.body)); err != nil || qr.Header.Get("Content-Type") != "image/png" || img.Bounds().Dx() != 256 {
		t.Fatalf("QR code: %v, %s", err, qr.Header.Get("Content-Type"))
	}
	r := owner.postForm("/account/mfa/enable", url.Values{"code": {h.code(secret, 10*time.Minute)}, "password": {arrangedPassword}})
	wantStatus(t, "enable, wrong code", r, 422, "")
	if !strings.Contains(r.text(), "That code is not right") {
		t.Fatalf("enable, wrong code: %s", r.text())
	}
	r = owner.postForm("/account/mfa/enable", url.Values{"code": {h.code(secret, 0)}, "password": {wrongPassword}})
	wantStatus(t, "enable, wrong password", r, 401, "")
	r = owner.postForm("/account/mfa/enable", url.Values{"code": {h.code(secret, 0)}, "password": {arrangedPassword}})
	wantStatus(t, "enable", r, 200, "")
	if n := strings.Count(r.text(), "<li><code>"); n != flow.RecoveryCodes || !strings.Contains(r.text(), "will not be shown again") {
		t.Fatalf("enable shows %d recovery codes: %s", n, r.text())
	}
	wantStatus(t, "QR code once enabled", owner.get("/account/mfa/qr.png"), 404, "")
	h.nextStep()

	b := h.browser()
	b.get("/login")
	r = b.postForm("/login", url.Values{"email": {email}, "password": {arrangedPassword}, "next": {"/orders?id=7"}})
	wantRedirect(t, "password step", r, "/login/mfa?next=%2Forders%3Fid%3D7")
	page = b.get(r.Header.Get("Location")).text()
	for _, want := range []string{`autocomplete="one-time-code" inputmode="numeric"`, `<label for="code">Code</label>`,
		`name="next" value="/orders?id=7"`, `name="csrf_token"`} {
		if !strings.Contains(page, want) {
			t.Errorf("code page lacks %s:\n%s", want, page)
		}
	}
	r = b.postForm("/login/mfa", url.Values{"code": {"12345"}, "next": {"/orders?id=7"}})
	wantStatus(t, "wrong code", r, 401, "")
	// Without the CSRF token the form is refused before any check.
	r = b.postForm("/login/mfa", url.Values{"code": {h.code(secret, 0)}, csrfField: {"forged"}})
	wantStatus(t, "forged form", r, 403, "")
	wantRedirect(t, "right code", b.postForm("/login/mfa", url.Values{"code": {h.code(secret, 0)}, "next": {"/orders?id=7"}}), "/orders?id=7")
	if r := b.get("/account"); !strings.Contains(r.text(), "You have 10 unused recovery codes") {
		t.Fatalf("account page with MFA: %s", r.text())
	}

	r = b.postForm("/account/mfa/disable", url.Values{"password": {wrongPassword}})
	wantStatus(t, "disable, wrong password", r, 401, "")
	wantRedirect(t, "disable", b.postForm("/account/mfa/disable", url.Values{"password": {arrangedPassword}}), "/account?done=mfa_disabled")
	if r := b.get("/account?done=mfa_disabled"); !strings.Contains(r.text(), "Two-step sign-in is off.") {
		t.Fatalf("account page after disable: %s", r.text())
	}
}

package web

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/flow"
)

// TestEveryTemplateRenders renders each template with the data type its
// handlers give it, failed forms included: a template asking for a field
// its page does not have fails only when executed.
func TestEveryTemplateRenders(t *testing.T) {
	h := newHarness(t, options{})
	v := newViews("tacit", newCookies(true), slog.New(slog.DiscardHandler), false)
	failed := func(f *form) { f.Errors, f.Message = map[string]string{"password": "x"}, "Too many attempts." }
	register := newRegisterPage(h.svc)
	failed(&register.Form)
	resend, rf := newResendPage()
	failed(rf)
	forgot, ff := newForgotPage()
	failed(ff)
	login := newLoginPage("/next")
	failed(&login.Form)
	mfa := newLoginMFAPage("/next", true)
	failed(&mfa.Form)
	account := &accountPage{frame: frame{page: "account"},
		MFA:      flow.MFAStatus{Pending: &flow.TOTPSetup{Secret: "S", URI: "otpauth://totp/x"}},
		Sessions: []sessionRow{{ID: 1, Current: true}, {ID: 2}}, OtherDevices: true,
		Activity: []activityRow{{What: "Signed in", When: "now", Device: "Firefox", IP: "192.0.2.1"}},
		Apps:     []appRow{{ClientID: "app", Name: "App", Since: "today"}}}
	failed(&account.MFAEnableForm)
	failed(&account.DeleteForm)
	pages := []pageData{
		&frame{page: "home", SignedInAs: "a@example.com"}, register, resend, forgot, login, mfa,
		newCompletePage(h.svc, "tok"), newVerifyPage("tok", "a@example.com"), newResetPage(h.svc, "tok"),
		newEmailConfirmPage("tok", "a@example.com"), account,
		&recoveryCodesPage{frame: frame{page: "recovery_codes"}, RecoveryCodes: []string{"c1", "c2"}},
		&devMailPage{frame: frame{page: "devmail"}, Mails: []devMail{{To: "a@example.com", Parts: splitLinks("see https://x/")}}},
		&consentPage{frame: frame{page: "consent"}, ID: "id", Client: "App", Scopes: []string{"your email address"}},
		&leavingPage{frame: frame{page: "leaving", Refresh: "https://app.example/cb?code=c&state=s"}, URL: "https://app.example/cb?code=c&state=s"},
	}
	for _, name := range []string{"sent", "forgot_sent", "reset_done", "reset_expired", "signup_expired", "email_done", "logout", "error", "account_deleted", "account_secured"} {
		pages = append(pages, plain(name, name)())
	}
	seen := map[string]bool{}
	for _, p := range pages {
		name := p.base().page
		seen[name] = true
		rec := httptest.NewRecorder()
		v.render(rec, httptest.NewRequest("GET", "/", nil), 200, p)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "</main>") {
			t.Errorf("%s: %d\n%s", name, rec.Code, rec.Body)
		}
	}
	for name := range v.pages {
		if !seen[name] {
			t.Errorf("template %s is not rendered here", name)
		}
	}
}

package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/skip2/go-qrcode"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// This file is the second step of a sign-in with MFA and the account
// page's forms that turn TOTP on and off.

// mfaFailed is the one message for every failed second step, whatever the
// cause (wrong, reused or malformed code; expired or spent challenge).
const mfaFailed = "That code did not work, or this sign-in has expired. Enter the code your app shows now, or start again from the sign-in page."

// loginMFAPage is the code form. With recovery it asks for a recovery
// code in a plain text field rather than a numeric one.
func loginMFAPage(next string, recovery bool) page {
	return page{Title: "Enter your code", Order: []string{"code"}, Next: next, Recovery: recovery}
}

func handleLoginMFAForm(v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		v.render(w, r, http.StatusOK, "login_mfa", loginMFAPage(localPath(q.Get("next")), q.Get("recovery") != ""))
	})
}

func handleLoginMFA(svc *flow.Service, s sessions, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		o, err := svc.LoginMFA(r.Context(), v.ck.mfa(r), f.Get("code"), clientOf(r))
		next := localPath(f.Get("next"))
		if err == nil && o.Session != nil {
			v.ck.clearMFA(w)
			s.start(w, r, o.Session)
			s.ck.keepDevice(w, o)
			seeOther(w, r, cmp.Or(next, "/account"))
			return
		}
		p := loginMFAPage(next, f.Get("recovery") != "")
		if o.Kind == tacit.InvalidCredentials {
			p.Message = mfaFailed
		}
		v.formOutcome(w, r, p, "login_mfa", svc.Policy(), o, err)
	})
}

// handleTOTPSetupForm starts a set-up and shows it on the account page.
func handleTOTPSetupForm(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, _ url.Values, id flow.Identity) {
		_, err := svc.SetupTOTP(r.Context(), id, v.product)
		if err != nil && !errors.Is(err, flow.ErrMFAEnabled) {
			v.internalError(w, r, err)
			return
		}
		seeOther(w, r, "/account#mfa-title")
	})
}

// handleTOTPQR serves the QR code of the set-up in progress, which the
// account page shows. It is an image of this origin, which the
// Content-Security-Policy admits (img-src 'self'), where a data: URL would
// need the policy loosened. Without a set-up in progress it is 404.
func handleTOTPQR(svc *flow.Service, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := v.signedIn(w, r, svc)
		if !ok {
			return
		}
		st, err := svc.MFAStatus(r.Context(), id, v.product)
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		if st.Pending == nil {
			v.errorPage(w, r, http.StatusNotFound, "Page not found",
				"There is no two-step sign-in being set up. Start from your account page.")
			return
		}
		png, err := qrcode.Encode(st.Pending.URI, qrcode.Medium, 256)
		if err != nil {
			v.internalError(w, r, fmt.Errorf("qr code: %w", err))
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", strconv.Itoa(len(png)))
		w.Write(png)
	})
}

// handleTOTPEnableForm turns MFA on and shows the recovery codes, this
// once: the answer is the account page itself, not a redirect, since the
// codes are stored only hashed.
func handleTOTPEnableForm(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		o, codes, err := svc.EnableTOTP(r.Context(), id, f.Get("code"), f.Get("password"), clientOf(r))
		if errors.Is(err, flow.ErrMFAEnabled) {
			seeOther(w, r, "/account")
			return
		}
		if err == nil && o.Kind == tacit.Done {
			p, err := accountPage(r.Context(), svc, id, v.product)
			if err != nil {
				v.internalError(w, r, err)
				return
			}
			p.RecoveryCodes = codes
			v.render(w, r, http.StatusOK, "account", p)
			return
		}
		v.accountFailure(w, r, svc, id, passwordFailure(func(p *page) *page { return p.MFAEnableForm }, o), o, err)
	})
}

func handleTOTPDisableForm(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		o, err := svc.DisableTOTP(r.Context(), id, f.Get("password"), clientOf(r))
		if err == nil && o.Kind == tacit.Done {
			seeOther(w, r, "/account?done=mfa_disabled")
			return
		}
		v.accountFailure(w, r, svc, id, passwordFailure(func(p *page) *page { return p.MFADisableForm }, o), o, err)
	})
}

// passwordFailure is accountFailure's fill for the MFA forms: it picks the
// form that posted and, when the password was wrong, says so at its field.
func passwordFailure(form func(p *page) *page, o tacit.Outcome) func(p *page) *page {
	return func(p *page) *page {
		f := form(p)
		if o.Kind == tacit.InvalidCredentials {
			f.Errors = map[string]string{"password": "This is not your password."}
		}
		return f
	}
}

// Field messages of the MFA forms.
var (
	enableMFAWording = map[string]string{
		"code:" + tacit.CodeRequired:  "Enter the 6-digit code from your app.",
		"code:" + tacit.CodeIncorrect: "That code is not right. Enter the code your app shows now, and check that your phone's clock is right.",
	}
	disableMFAWording = map[string]string{
		"password:" + tacit.CodeRequired: "Enter your password.",
	}
)

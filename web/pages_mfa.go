package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// This file is the second step of a sign-in with MFA and the account
// page's forms that turn TOTP on and off.

// mfaFailed is the one message for every failed second step, whatever the
// cause (wrong, reused or malformed code; expired or spent challenge).
const mfaFailed = "That code did not work, or this sign-in has expired. Enter the code your app shows now, or start again from the sign-in page."

// loginMFAPage is the form of a sign-in's second step.
type loginMFAPage struct {
	frame
	Form form
	Next string // where to go once signed in, in a hidden field
	// Recovery asks for a recovery code in a plain text field rather
	// than for an app's code in a numeric one.
	Recovery bool
}

func newLoginMFAPage(next string, recovery bool) *loginMFAPage {
	return &loginMFAPage{frame: frame{page: "login_mfa", Title: "Enter your code"},
		Form: form{Order: []string{"code"}}, Next: next, Recovery: recovery}
}

func handleLoginMFAForm(v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		v.render(w, r, http.StatusOK, newLoginMFAPage(v.returnTarget(r, nextOf(q)), q.Get("recovery") != ""))
	})
}

func handleLoginMFA(svc *flow.Service, s sessions, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		o, err := svc.LoginMFA(r.Context(), v.ck.mfa(r), f.Get("code"), clientOf(r))
		next := v.returnTarget(r, nextOf(f))
		p := newLoginMFAPage(next, f.Get("recovery") != "")
		v.answer(w, r, o, err, formAnswer{
			again: built(p, &p.Form), policy: svc.Policy(),
			refused: refusal{text: mfaFailed}, signIn: &s, next: next,
		})
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
// once: the answer is a page of their own, not a redirect, since the codes
// are stored only hashed.
func handleTOTPEnableForm(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		o, codes, err := svc.EnableTOTP(r.Context(), id, f.Get("code"), f.Get("password"), clientOf(r))
		if errors.Is(err, flow.ErrMFAEnabled) {
			seeOther(w, r, "/account")
			return
		}
		if err == nil && o.Kind == tacit.Done {
			// The codes are stored only hashed: shown now, or never.
			v.recoveryCodes(w, r, id, "Two-step sign-in is on.", codes)
			return
		}
		v.answer(w, r, o, err, v.accountAnswer(r, svc, id, "",
			func(p *accountPage) *form { return &p.MFAEnableForm }, nil, notYourPassword))
	})
}

// recoveryCodesPage shows recovery codes just made.
type recoveryCodesPage struct {
	frame
	RecoveryCodes []string
}

// CodesText is the recovery codes as the download holds them.
func (p recoveryCodesPage) CodesText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Recovery codes for your %s account %s\n", p.Product, p.SignedInAs)
	b.WriteString("Each code signs you in once, in place of a code from your authenticator app.\n\n")
	for _, c := range p.RecoveryCodes {
		b.WriteString(c + "\n")
	}
	return b.String()
}

// CodesDownload is a data: URL of CodesText, for a download link: the
// codes are stored only hashed, so no endpoint could serve them later.
// A download is not a fetch the Content-Security-Policy governs.
func (p recoveryCodesPage) CodesDownload() template.URL {
	return template.URL("data:text/plain;charset=utf-8," + url.PathEscape(p.CodesText()))
}

// recoveryCodes shows codes just made on a page of their own, where they
// are the first thing seen, with ways to copy and download them. notice
// says what just happened.
func (v *views) recoveryCodes(w http.ResponseWriter, r *http.Request, id flow.Identity, notice string, codes []string) {
	v.render(w, r, http.StatusOK, &recoveryCodesPage{
		frame:         frame{page: "recovery_codes", Title: "Save your recovery codes", Notice: notice, SignedInAs: id.Account.Email},
		RecoveryCodes: codes,
	})
}

// handleRenewRecoveryCodesForm makes new recovery codes, with the
// password, and shows them as turning MFA on does.
func handleRenewRecoveryCodesForm(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		o, codes, err := svc.RenewRecoveryCodes(r.Context(), id, f.Get("password"), clientOf(r))
		if errors.Is(err, flow.ErrMFAOff) {
			seeOther(w, r, "/account")
			return
		}
		if err == nil && o.Kind == tacit.Done {
			v.recoveryCodes(w, r, id, "You have new recovery codes; the old ones no longer work.", codes)
			return
		}
		v.answer(w, r, o, err, v.accountAnswer(r, svc, id, "",
			func(p *accountPage) *form { return &p.RenewForm }, nil, notYourPassword))
	})
}

func handleTOTPDisableForm(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		o, err := svc.DisableTOTP(r.Context(), id, f.Get("password"), clientOf(r))
		v.answer(w, r, o, err, v.accountAnswer(r, svc, id, "/account?done=mfa_disabled",
			func(p *accountPage) *form { return &p.MFADisableForm }, nil, notYourPassword))
	})
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

package web

import (
	"net/http"
	"net/url"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// This file holds the pages reached from mail or without a session:
// password reset and the confirmation of a new address.

func newForgotPage() (pageData, *form) {
	p := &formPage{frame: frame{page: "forgot", Title: "Reset your password"}, Form: form{Order: []string{"email"}}}
	return p, &p.Form
}

func handleForgotForm(svc *flow.Service, v *views) http.Handler {
	return proofPage(svc, v, flow.GateRequests, newForgotPage)
}

// handleForgot starts a reset.
func handleForgot(svc *flow.Service, v *views) http.Handler {
	return mailingForm(svc, v, "/password/forgot/sent", newForgotPage,
		func(r *http.Request, f url.Values) (tacit.Outcome, error) {
			return svc.ForgotPassword(r.Context(), f.Get("email"), proofClient(r, f))
		})
}

func handleForgotSent(v *views) http.Handler {
	return staticPage(v, plain("forgot_sent", "Check your inbox"))
}

// newResetPage is the new-password form for a mailed reset token.
func newResetPage(svc *flow.Service, token string) *linkPage {
	return &linkPage{
		frame: frame{page: "reset", Title: "Choose a new password"}, Token: token,
		Form: form{
			Order: []string{"password", "password_confirm"},
			Hints: map[string]string{"password": passwordHint(svc.Policy())},
		},
	}
}

// handleResetForm shows the form when the link still works, and says
// plainly when it does not, before anyone types a new password for
// nothing. The token came from the mailbox, so telling whether it works
// tells nothing about who has an account.
func handleResetForm(svc *flow.Service, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		addr := svc.ResetAddress(r.Context(), tok)
		if addr == "" {
			v.resetLinkDead(w, r)
			return
		}
		p := newResetPage(svc, tok)
		p.Address = addr
		v.render(w, r, http.StatusOK, p)
	})
}

// handleReset sets the new password. It does not sign in: the new
// password does that, on the sign-in page. Done keeps the device token
// the reset hands out.
func handleReset(svc *flow.Service, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		tok := f.Get("token")
		o, err := svc.ResetPassword(r.Context(), flow.ResetInput{
			Token: tok, Password: f.Get("password"), PasswordConfirm: f.Get("password_confirm"),
		}, clientOf(r))
		v.answer(w, r, o, err, formAnswer{
			done: "/password/reset/done", policy: svc.Policy(), linkDead: v.resetLinkDead,
			again: func() (pageData, *form, error) {
				p := newResetPage(svc, tok)
				p.Address = svc.ResetAddress(r.Context(), tok)
				return p, &p.Form, nil
			},
		})
	})
}

// resetLinkDead answers a reset link that is malformed, used or expired,
// with the way to a new one.
func (v *views) resetLinkDead(w http.ResponseWriter, r *http.Request) {
	v.render(w, r, statusFor(tacit.InvalidToken), &frame{page: "reset_expired", Title: "This link no longer works"})
}

func handleResetDone(v *views) http.Handler {
	return staticPage(v, plain("reset_done", "Password changed"))
}

// newEmailConfirmPage is the button that confirms a new address.
func newEmailConfirmPage(token, address string) *linkPage {
	return &linkPage{frame: frame{page: "email_confirm", Title: "Confirm your new address"}, Token: token, Address: address}
}

// handleEmailConfirmForm shows a button that confirms the new address.
// Following the link must never confirm by itself: mail scanners fetch
// links in mail.
func handleEmailConfirmForm(svc *flow.Service, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		if !tacit.WellFormedToken(tok) {
			v.invalidLink(w, r)
			return
		}
		v.render(w, r, http.StatusOK, newEmailConfirmPage(tok, svc.EmailChangeAddress(r.Context(), tok)))
	})
}

func handleEmailConfirm(svc *flow.Service, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		o, err := svc.ConfirmEmailChange(r.Context(), f.Get("token"))
		p := newEmailConfirmPage("", "")
		v.answer(w, r, o, err, formAnswer{done: "/email/confirm/done", policy: svc.Policy(), again: built(p, &p.Form)})
	})
}

func handleEmailConfirmDone(v *views) http.Handler {
	return staticPage(v, plain("email_done", "Address changed"))
}

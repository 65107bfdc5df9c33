package web

import (
	"net/http"
	"net/url"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// This file holds the pages reached from mail or without a session:
// password reset and the confirmation of a new address.

func forgotPage() page {
	return page{Title: "Reset your password", Order: []string{"email"}}
}

func handleForgotForm(v *views) http.Handler {
	return staticPage(v, "forgot", forgotPage())
}

// handleForgot starts a reset.
func handleForgot(svc *flow.Service, v *views) http.Handler {
	return mailingForm(svc, v, "forgot", forgotPage(), "/password/forgot/sent",
		func(r *http.Request, f url.Values) (tacit.Outcome, error) {
			return svc.ForgotPassword(r.Context(), f.Get("email"), clientOf(r))
		})
}

func handleForgotSent(v *views) http.Handler {
	return staticPage(v, "forgot_sent", page{Title: "Check your inbox"})
}

// resetPage is the new-password form for a mailed reset token.
func resetPage(svc *flow.Service, token string) page {
	return page{
		Title: "Choose a new password", Token: token,
		Order: []string{"password", "password_confirm"},
		Hints: map[string]string{"password": passwordHint(svc.Policy())},
	}
}

// handleResetForm shows the form when the link still works, and says
// plainly when it does not, before anyone types a new password for
// nothing. The token came from the mailbox, so telling whether it works
// tells nothing about who has an account.
func handleResetForm(svc *flow.Service, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		if !svc.ResetTokenLive(r.Context(), tok) {
			v.resetLinkDead(w, r)
			return
		}
		v.render(w, r, http.StatusOK, "reset", resetPage(svc, tok))
	})
}

// handleReset sets the new password. It does not sign in: the new
// password does that, on the sign-in page.
func handleReset(svc *flow.Service, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		tok := f.Get("token")
		o, err := svc.ResetPassword(r.Context(), flow.ResetInput{
			Token: tok, Password: f.Get("password"), PasswordConfirm: f.Get("password_confirm"),
		}, clientOf(r))
		switch {
		case err == nil && o.Kind == tacit.Done:
			v.ck.keepDevice(w, o)
			seeOther(w, r, "/password/reset/done")
		case err == nil && o.Kind == tacit.InvalidToken:
			v.resetLinkDead(w, r)
		default:
			v.formOutcome(w, r, resetPage(svc, tok), "reset", svc.Policy(), o, err)
		}
	})
}

// resetLinkDead answers a reset link that is malformed, used or expired,
// with the way to a new one.
func (v *views) resetLinkDead(w http.ResponseWriter, r *http.Request) {
	v.render(w, r, statusFor(tacit.InvalidToken), "reset_expired", page{Title: "This link no longer works"})
}

func handleResetDone(v *views) http.Handler {
	return staticPage(v, "reset_done", page{Title: "Password changed"})
}

// handleEmailConfirmForm shows a button that confirms the new address.
// Following the link must never confirm by itself: mail scanners fetch
// links in mail.
func handleEmailConfirmForm(v *views) http.Handler {
	return linkForm(v, "email_confirm", func(tok string) page {
		return page{Title: "Confirm your new address", Token: tok}
	})
}

func handleEmailConfirm(svc *flow.Service, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		o, err := svc.ConfirmEmailChange(r.Context(), f.Get("token"))
		if err == nil && o.Kind == tacit.Done {
			seeOther(w, r, "/email/confirm/done")
			return
		}
		v.formOutcome(w, r, page{Title: "Confirm your new address"}, "email_confirm", svc.Policy(), o, err)
	})
}

func handleEmailConfirmDone(v *views) http.Handler {
	return staticPage(v, "email_done", page{Title: "Address changed"})
}

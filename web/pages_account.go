package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/openid"
)

// This file is the account page and the forms on it: change the password,
// change the address, and sign out other devices. Every post needs a valid
// session; without one it is sent to the sign-in page.

// sessionRow is one line of the account page's session list.
type sessionRow struct {
	ID       int64
	Device   string // a short name made from the User-Agent
	Agent    string // the whole User-Agent, shown on hover
	IP       string
	LastSeen string
	Current  bool // the device looking at the page
}

// accountNotices are the news the account page shows after a change. The
// redirect names one by key, so a crafted link cannot put its own words
// on the page.
var accountNotices = map[string]string{
	"password_changed":        "Your password is changed.",
	"password_changed_others": "Your password is changed, and your other devices are signed out.",
	"email_sent":              "We have sent a link to the new address. Your address changes when you follow it.",
	"session_ended":           "That device is signed out.",
	"sessions_ended":          "Your other devices are signed out.",
	"app_revoked":             "The app can no longer sign you in without asking.",
	"mfa_disabled":            "Two-step sign-in is off.",
	"passkey_added":           "Your passkey is added.",
	"passkey_renamed":         "Your passkey is renamed.",
	"passkey_removed":         "Your passkey is removed.",
}

// passkeyRow is one line of the account page's passkey list.
type passkeyRow struct {
	ID                int64
	Name              string
	Created, LastUsed string
	Synced            bool
}

// timeLayout is how the account page shows times.
const timeLayout = "2 January 2006, 15:04 UTC"

// accountPage is the account page: the address, the forms that change
// it, the password and MFA, and the list of sessions.
type accountPage struct {
	frame
	Since string // when the account was made

	PasswordForm, EmailForm form

	MFA            flow.MFAStatus
	MFAEnableForm  form
	MFADisableForm form
	RenewForm      form // new recovery codes, with the password
	DeleteForm     form // delete the account, with the password

	Sessions     []sessionRow
	OtherDevices bool // a session other than this one is live
	// SessionsForm signs out other devices; it and removing a passkey
	// ask for the password when the sign-in is older than
	// flow.FreshSignIn (SessionsNeedPassword).
	SessionsForm         form
	SessionsNeedPassword bool

	Activity    []activityRow // the newest events, newest first
	PasskeyRows []passkeyRow

	// Apps are the OpenID Connect clients the account consented to.
	Apps []appRow
}

// appRow is one remembered consent on the account page.
type appRow struct {
	ClientID, Name, Since string
}

// SetupLink is the otpauth:// link of a TOTP set-up in progress, for the
// phone that has the authenticator app. html/template would neutralise a
// URL of that scheme, so it is let through here, and only it.
func (p accountPage) SetupLink() template.URL {
	if p.MFA.Pending == nil || !strings.HasPrefix(p.MFA.Pending.URI, "otpauth://") {
		return ""
	}
	return template.URL(p.MFA.Pending.URI)
}

// newAccountPage builds the account page of id with empty forms; issuer
// names the service in an authenticator app.
func newAccountPage(ctx context.Context, svc *flow.Service, id flow.Identity, issuer string) (*accountPage, error) {
	list, err := svc.Sessions(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("account page: %w", err)
	}
	mfa, err := svc.MFAStatus(ctx, id, issuer)
	if err != nil {
		return nil, fmt.Errorf("account page: %w", err)
	}
	events, err := svc.Activity(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("account page: %w", err)
	}
	p := &accountPage{
		frame: frame{page: "account", Title: "Your account", SignedInAs: id.Account.Email},
		Since: id.Account.CreatedAt.UTC().Format("2 January 2006"),
		PasswordForm: form{
			IDPrefix: "pw-", Order: []string{"current_password", "password", "password_confirm"},
			Hints:   map[string]string{"password": passwordHint(svc.Policy())},
			Wording: changePasswordWording,
		},
		EmailForm: form{IDPrefix: "em-", Order: []string{"email", "password"}, Wording: changeEmailWording},
		MFA:       mfa,
		MFAEnableForm: form{
			IDPrefix: "mfa-", Order: []string{"code", "password"}, Wording: enableMFAWording,
			Hints: map[string]string{"password": "It keeps anyone who borrows your signed-in browser from locking you out."},
		},
		MFADisableForm: form{IDPrefix: "mfaoff-", Order: []string{"password"}, Wording: disableMFAWording},
		RenewForm:      form{IDPrefix: "renew-", Order: []string{"password"}, Wording: disableMFAWording},
		Activity:       activityRows(events),
		DeleteForm:     form{IDPrefix: "del-", Order: []string{"password"}, Wording: disableMFAWording},
		SessionsForm: form{IDPrefix: "ses-", Order: []string{"password"}, Wording: disableMFAWording,
			Hints: map[string]string{"password": "Needed to sign out another device, since you signed in more than 10 minutes ago."}},
		SessionsNeedPassword: !svc.SignedInRecently(id),
	}
	if svc.PasskeysOn() {
		keys, err := svc.Passkeys(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("account page: %w", err)
		}
		for _, k := range keys {
			used := "Never"
			if !k.LastUsedAt.IsZero() {
				used = k.LastUsedAt.UTC().Format(timeLayout)
			}
			p.PasskeyRows = append(p.PasskeyRows, passkeyRow{ID: k.ID, Name: k.Name, Created: k.CreatedAt.UTC().Format(timeLayout), LastUsed: used, Synced: k.Synced})
		}
	}
	for _, si := range list {
		p.Sessions = append(p.Sessions, sessionRow{
			ID: si.ID, Device: deviceName(si.UserAgent), Agent: si.UserAgent, IP: si.IP,
			LastSeen: si.LastSeenAt.UTC().Format(timeLayout), Current: si.Current,
		})
		p.OtherDevices = p.OtherDevices || !si.Current
	}
	return p, nil
}

func handleAccount(svc *flow.Service, op *openid.Provider, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := v.signedIn(w, r, svc)
		if !ok {
			return
		}
		p, err := newAccountPage(r.Context(), svc, id, v.product)
		if err == nil && op != nil {
			p.Apps, err = appRows(r, op, id.Account.ID)
		}
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		p.Notice = accountNotices[r.URL.Query().Get("done")]
		v.render(w, r, http.StatusOK, p)
	})
}

// accountForm is a form post on the account page, run for the signed-in
// account.
type accountForm func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity)

// accountPost checks the form's CSRF token and the session, then runs
// handle.
func accountPost(svc *flow.Service, v *views, handle accountForm) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		if id, ok := v.signedIn(w, r, svc); ok {
			handle(w, r, f, id)
		}
	})
}

// signedIn returns the identity of the request's session. Without one it
// sends the browser to the sign-in page (and on an error answers with
// one), and ok is false.
func (v *views) signedIn(w http.ResponseWriter, r *http.Request, svc *flow.Service) (id flow.Identity, ok bool) {
	id, ok, err := identify(r, svc, v.ck)
	if err != nil {
		v.internalError(w, r, err)
		return id, false
	}
	if !ok {
		seeOther(w, r, "/login")
	}
	return id, ok
}

// accountAnswer answers a form post on the account page: done is where
// success goes; a failure shows the account page again, with the failure
// in the form pick chooses, which fill may fill in; refused words a wrong
// password.
func (v *views) accountAnswer(r *http.Request, svc *flow.Service, id flow.Identity, done string,
	pick func(p *accountPage) *form, fill func(f *form), refused refusal) formAnswer {
	return formAnswer{
		done: done, policy: svc.Policy(), refused: refused,
		again: func() (pageData, *form, error) {
			p, err := newAccountPage(r.Context(), svc, id, v.product)
			if err != nil {
				return nil, nil, err
			}
			f := pick(p)
			if fill != nil {
				fill(f)
			}
			return p, f, nil
		},
	}
}

func handleChangePassword(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		keep := f.Get("keep_other_sessions") != ""
		o, err := svc.ChangePassword(r.Context(), id, flow.ChangePasswordInput{
			CurrentPassword: f.Get("current_password"),
			Password:        f.Get("password"), PasswordConfirm: f.Get("password_confirm"),
			KeepOtherSessions: keep,
		}, clientOf(r))
		done := "/account?done=password_changed_others"
		var fill func(f *form)
		if keep {
			done = "/account?done=password_changed"
			fill = func(f *form) { f.Values = map[string]string{"keep_other_sessions": "on"} }
		}
		v.answer(w, r, o, err, v.accountAnswer(r, svc, id, done,
			func(p *accountPage) *form { return &p.PasswordForm }, fill,
			refusal{"current_password", "This is not your current password."}))
	})
}

func handleChangeEmail(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		email := f.Get("email")
		o, err := svc.ChangeEmail(r.Context(), id, email, f.Get("password"), clientOf(r))
		// CheckInbox goes to the same page for every new address, whether
		// or not it has an account: only the mail to it differs.
		v.answer(w, r, o, err, v.accountAnswer(r, svc, id, "/account?done=email_sent",
			func(p *accountPage) *form { return &p.EmailForm },
			func(f *form) { f.Values = map[string]string{"email": email} },
			notYourPassword))
	})
}

// notYourPassword is the refusal of the account page's forms that ask for
// the password.
var notYourPassword = refusal{"password", "This is not your password."}

// Field messages that the account forms word differently from sign-up.
var (
	changePasswordWording = map[string]string{
		"password:" + tacit.CodeRequired: "Enter a new password.",
	}
	changeEmailWording = map[string]string{
		"email:" + tacit.CodeRequired:    "Enter the new address.",
		"password:" + tacit.CodeRequired: "Enter your password.",
	}
)

// handleEndSessionForm signs out one device from the session list.
func handleEndSessionForm(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		sid, ok := v.formID(w, r, f, "session")
		if !ok {
			return
		}
		o, err := svc.EndSession(r.Context(), id, sid, f.Get("password"), clientOf(r))
		done := "/account?done=session_ended"
		if err == nil && o.Kind == tacit.Done && sid == id.Session.ID {
			// This device signed itself out.
			v.ck.clearSession(w)
			done = "/login"
		}
		v.answer(w, r, o, err, v.accountAnswer(r, svc, id, done,
			func(p *accountPage) *form { return &p.SessionsForm }, nil, notYourPassword))
	})
}

// handleEndOtherSessionsForm signs out every device but this one.
func handleEndOtherSessionsForm(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		o, err := svc.EndOtherSessions(r.Context(), id, f.Get("password"), clientOf(r))
		v.answer(w, r, o, err, v.accountAnswer(r, svc, id, "/account?done=sessions_ended",
			func(p *accountPage) *form { return &p.SessionsForm }, nil, notYourPassword))
	})
}

// handlePasskeyRenameForm renames one of the account's passkeys.
func handlePasskeyRenameForm(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		pk, ok := v.formID(w, r, f, "passkey")
		if !ok {
			return
		}
		o, err := svc.RenamePasskey(r.Context(), id, pk, f.Get("name"))
		v.passkeyAnswer(w, r, o, err, "/account?done=passkey_renamed")
	})
}

// handlePasskeyRemoveForm removes one of the account's passkeys.
func handlePasskeyRemoveForm(svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		pk, ok := v.formID(w, r, f, "passkey")
		if !ok {
			return
		}
		o, err := svc.RemovePasskey(r.Context(), id, pk, f.Get("password"), clientOf(r))
		switch {
		case err == nil && o.Kind == tacit.Invalid:
			v.errorPage(w, r, http.StatusUnprocessableEntity, "Password needed",
				"You signed in more than 10 minutes ago: removing a passkey asks for your password. Go back and type it beside the passkey.")
			return
		case err == nil && o.Kind == tacit.InvalidCredentials:
			v.errorPage(w, r, http.StatusUnauthorized, "Wrong password",
				"That is not your password, and the passkey is still there. Go back and try again.")
			return
		}
		v.passkeyAnswer(w, r, o, err, "/account?done=passkey_removed")
	})
}

// passkeyAnswer answers a passkey form: a passkey that is not the
// account's (removed already, in another tab) or a name too long gets a
// page that says so.
func (v *views) passkeyAnswer(w http.ResponseWriter, r *http.Request, o tacit.Outcome, err error, done string) {
	switch {
	case errors.Is(err, flow.ErrNoPasskey):
		v.errorPage(w, r, http.StatusNotFound, "No such passkey",
			"That passkey is not on your account any more. Go back to your account and reload the page.")
	case err == nil && o.Kind == tacit.Invalid:
		v.errorPage(w, r, http.StatusUnprocessableEntity, "Name too long",
			fmt.Sprintf("A passkey's name can have at most %d characters. Go back and choose a shorter one.", flow.PasskeyNameMax))
	default:
		v.answer(w, r, o, err, formAnswer{done: done})
	}
}

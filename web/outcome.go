package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// statusFor is the one mapping from a flow's public outcome to an HTTP
// status, used by the JSON API and the pages alike (pages answer success
// with a redirect instead). Zero means the outcome is not one a flow may
// return: a bug, answered as an internal error.
func statusFor(k tacit.OutcomeKind) int {
	switch k {
	case tacit.CheckInbox:
		return http.StatusAccepted
	case tacit.Invalid:
		return http.StatusUnprocessableEntity
	case tacit.InvalidToken:
		return http.StatusBadRequest
	case tacit.InvalidCredentials, tacit.Unauthenticated:
		return http.StatusUnauthorized
	case tacit.Throttled:
		return http.StatusTooManyRequests
	case tacit.ProofRequired:
		return http.StatusPreconditionRequired
	case tacit.SignedIn, tacit.MFARequired:
		return http.StatusOK
	case tacit.AccountCreated:
		return http.StatusCreated
	case tacit.Done:
		return http.StatusNoContent
	}
	return 0
}

// statusBody is the JSON answer of a successful outcome.
type statusBody struct {
	Status string `json:"status"`
}

// outcomeBody is the JSON body of an outcome: {"status":…} for successes,
// {"error":…} for failures, the Invalid fields included. Nothing else of
// the outcome is ever serialised.
func outcomeBody(o tacit.Outcome) any {
	switch o.Kind {
	case tacit.CheckInbox, tacit.SignedIn, tacit.AccountCreated, tacit.MFARequired:
		return statusBody{Status: string(o.Kind)}
	case tacit.Invalid:
		return errorBody{Error: string(o.Kind), Fields: o.Fields}
	case tacit.ProofRequired:
		// Names the member to send; the challenge is at GET
		// /api/pow/challenge, so this body is the same every time.
		return errorBody{Error: string(o.Kind), Fields: map[string]string{proofField: tacit.CodeRequired}}
	}
	return errorBody{Error: string(o.Kind)}
}

// retryAfterSeconds is a throttled outcome's wait in whole seconds, rounded
// up so a client that waits exactly that long is not refused again; at
// least one second. The header and the pages' message both use it.
func retryAfterSeconds(d time.Duration) int64 {
	secs := int64(math.Ceil(d.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return secs
}

// setRetryAfter sets Retry-After in whole seconds.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.FormatInt(retryAfterSeconds(d), 10))
}

// respond answers the JSON API with a flow's result: its status and body,
// the cookies of an outcome that signs in (sessions.signIn), Retry-After
// when throttled.
// A flow error is logged and answered with a bare internal error.
func respond(w http.ResponseWriter, r *http.Request, s sessions, o tacit.Outcome, err error) {
	status := statusFor(o.Kind)
	if err == nil && status == 0 {
		err = fmt.Errorf("flow returned unknown outcome %q", o.Kind)
	}
	if err != nil {
		if storageRefused(w, r, s.log, err) {
			encodeError(w, http.StatusServiceUnavailable, "unavailable", "")
			return
		}
		logError(s.log, r, "flow failed", err)
		encodeError(w, http.StatusInternalServerError, "internal_error", "")
		return
	}
	s.signIn(w, r, o)
	if o.Kind == tacit.Throttled {
		setRetryAfter(w, o.RetryAfter)
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	encode(w, status, outcomeBody(o))
}

// sessions sets and ends session cookies for the handlers that sign in or
// out.
type sessions struct {
	svc *flow.Service
	ck  cookies
	log *slog.Logger
}

// signIn hands the client the cookies an outcome carries, for the JSON API
// and the pages alike: the session of SignedIn and AccountCreated, the
// second-step cookie of MFARequired, the device token. A second-step
// cookie the request carried is cleared once a session starts: its
// challenge is spent, or moot.
func (s sessions) signIn(w http.ResponseWriter, r *http.Request, o tacit.Outcome) {
	if o.Session != nil {
		if s.ck.mfa(r) != "" {
			s.ck.clearMFA(w)
		}
		s.start(w, r, o.Session)
	}
	if o.Challenge != nil {
		s.ck.setMFA(w, o.Challenge.Token)
	}
	s.ck.keepDevice(w, o)
}

// start hands a new session to the client. If the request carried an
// older session, that one is ended: sign-in rotates the session, so a
// token planted in the browser before sign-in (session fixation) or left
// from an earlier sign-in is worthless afterwards.
func (s sessions) start(w http.ResponseWriter, r *http.Request, ns *tacit.NewSession) {
	s.ck.setSession(w, ns.Token, ns.ExpiresAt)
	old := s.ck.session(r)
	if old == "" || old == ns.Token {
		return
	}
	// The new session is already made; a failure here only leaves the
	// old one to expire, so it is logged, not answered. The old session
	// ends even if the client hangs up now, hence WithoutCancel.
	if _, err := s.svc.Logout(context.WithoutCancel(r.Context()), old); err != nil {
		logError(s.log, r, "end replaced session", err)
	}
}

// end ends the request's session, if any, and clears the cookie whether or
// not there was one.
func (s sessions) end(w http.ResponseWriter, r *http.Request) error {
	s.ck.clearSession(w)
	if tok := s.ck.session(r); tok != "" {
		if _, err := s.svc.Logout(r.Context(), tok); err != nil {
			return fmt.Errorf("logout: %w", err)
		}
	}
	return nil
}

// formAnswer is what the pages need to answer the outcome of one form
// post; the mapping itself, the same for every form, is views.answer.
type formAnswer struct {
	// again builds the page to show the form on again after a failure,
	// and returns the form in it that was posted, where the failure is
	// shown. It runs only on a failure, so a success builds no page.
	again  func() (pageData, *form, error)
	policy tacit.PasswordPolicy // words the Invalid field errors
	// refused words InvalidCredentials at the form.
	refused refusal
	// done is where Done and CheckInbox send the browser.
	done string
	// linkDead answers InvalidToken; nil means views.invalidLink.
	linkDead func(w http.ResponseWriter, r *http.Request)
	// signIn is set for forms whose flow can sign in: SignedIn,
	// AccountCreated and MFARequired go to finishSignIn, with next.
	signIn *sessions
	next   string
	// gate, with svc, puts a browser check on the form shown again when
	// the client now needs one (attachProof).
	gate flow.ProofGate
	svc  *flow.Service
}

// refusal is how a form words InvalidCredentials: a sentence at one of
// its fields, or about the whole form when field is "".
type refusal struct{ field, text string }

// built is formAnswer.again for a page built already.
func built(p pageData, f *form) func() (pageData, *form, error) {
	return func() (pageData, *form, error) { return p, f, nil }
}

// answer is the one mapping from a flow's outcome to a page, as respond
// is for the JSON API, with the same statuses (statusFor). A success
// redirects (a sign-in through finishSignIn), so reloading the next page
// posts nothing again; a failure to fix shows the form again with what
// to fix; a dead link, a missing session or a flow error has a page of
// its own.
func (v *views) answer(w http.ResponseWriter, r *http.Request, o tacit.Outcome, err error, a formAnswer) {
	status := statusFor(o.Kind)
	switch {
	case err != nil:
		v.internalError(w, r, err)
	case status == 0:
		v.internalError(w, r, fmt.Errorf("flow returned unknown outcome %q", o.Kind))
	case o.Kind == tacit.SignedIn || o.Kind == tacit.AccountCreated || o.Kind == tacit.MFARequired:
		if a.signIn == nil {
			v.internalError(w, r, fmt.Errorf("form cannot sign in: outcome %q", o.Kind))
			return
		}
		a.signIn.finishSignIn(w, r, o, a.next)
	case (o.Kind == tacit.Done || o.Kind == tacit.CheckInbox) && a.done == "":
		v.internalError(w, r, fmt.Errorf("form cannot show outcome %q", o.Kind))
	case o.Kind == tacit.Done || o.Kind == tacit.CheckInbox:
		v.ck.keepDevice(w, o)
		seeOther(w, r, a.done)
	case o.Kind == tacit.InvalidToken && a.linkDead != nil:
		a.linkDead(w, r)
	case o.Kind == tacit.InvalidToken:
		v.invalidLink(w, r)
	case o.Kind == tacit.Unauthenticated:
		seeOther(w, r, "/login")
	default: // Invalid, InvalidCredentials, Throttled: the form again
		p, f, err := a.again()
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		switch o.Kind {
		case tacit.Invalid:
			f.Errors = fieldMessages(o.Fields, a.policy, f.Wording)
		case tacit.InvalidCredentials:
			a.refused.show(f)
		case tacit.Throttled:
			// The wait is the flow's, alike for every address.
			setRetryAfter(w, o.RetryAfter)
			f.Message = throttledMessage(o.RetryAfter)
		case tacit.ProofRequired:
			f.Message = proofMessage
		}
		if a.svc != nil && a.gate != "" {
			if err := attachProof(r, a.svc, a.gate, f); err != nil {
				v.internalError(w, r, err)
				return
			}
		}
		v.render(w, r, status, p)
	}
}

// show puts the refusal on form f.
func (rf refusal) show(f *form) {
	if rf.field == "" {
		f.Message = rf.text
		return
	}
	f.Errors = map[string]string{rf.field: rf.text}
}

// finishSignIn ends every sign-in the pages make, with a password, with
// the second step, or by completing or confirming a sign-up: it hands
// over the outcome's cookies (signIn) and sends the browser on, to the
// second step when the outcome asks for one (keeping next for after it),
// else to next, or to the account page.
func (s sessions) finishSignIn(w http.ResponseWriter, r *http.Request, o tacit.Outcome, next string) {
	s.signIn(w, r, o)
	if o.Kind == tacit.MFARequired {
		to := "/login/mfa"
		if next != "" {
			to += "?" + url.Values{"next": {next}}.Encode()
		}
		seeOther(w, r, to)
		return
	}
	seeOther(w, r, cmp.Or(next, "/account"))
}

// throttledMessage tells a held-back user how long to wait, in the seconds
// of the Retry-After header.
func throttledMessage(d time.Duration) string {
	n := retryAfterSeconds(d)
	if n == 1 {
		return "Too many attempts. Try again in 1 second."
	}
	return fmt.Sprintf("Too many attempts. Try again in %d seconds.", n)
}

// adminError maps what an operation of the administration API refused to
// its answer (admin.go). Unlike the flows' outcomes these may say whether
// an address has an account: only a caller with an admin token gets them.
func adminError(err error) (status int, code, message string) {
	var bad *requestError
	switch {
	case errors.As(err, &bad):
		return bad.status, bad.code, bad.message
	case errors.Is(err, flow.ErrBadAddress):
		return http.StatusBadRequest, "invalid_email", "The address is not a valid email address."
	case errors.Is(err, flow.ErrNoAccount):
		return http.StatusNotFound, "no_account", "The address has no account."
	case errors.Is(err, flow.ErrHasAccount):
		return http.StatusConflict, "has_account", "The address has an account already."
	case errors.Is(err, flow.ErrAccountDisabled):
		return http.StatusConflict, "account_disabled", "The account is disabled: enable it first."
	}
	return http.StatusInternalServerError, "internal_error", ""
}

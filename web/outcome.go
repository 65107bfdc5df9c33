package web

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
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
// the session cookie for outcomes that sign in, the second-step cookie for
// MFARequired, Retry-After when throttled.
// A flow error is logged and answered with a bare internal error.
func respond(w http.ResponseWriter, r *http.Request, s sessions, o tacit.Outcome, err error) {
	status := statusFor(o.Kind)
	if err == nil && status == 0 {
		err = fmt.Errorf("flow returned unknown outcome %q", o.Kind)
	}
	if err != nil {
		logError(s.log, r, "flow failed", err)
		encodeError(w, http.StatusInternalServerError, "internal_error", "")
		return
	}
	if o.Session != nil {
		s.start(w, r, o.Session)
	}
	if o.Challenge != nil {
		s.ck.setMFA(w, o.Challenge.Token)
	}
	s.ck.keepDevice(w, o)
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

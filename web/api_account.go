package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// This file is the JSON API of the account life cycle after sign-up:
// password reset and change, email change, and the session list.

func handleAPIForgot(svc *flow.Service, s sessions) http.Handler {
	return apiFlow(s, withProof(texts("email")), func(ctx context.Context, in fields, c flow.Client) (tacit.Outcome, error) {
		c.Proof = in.text(proofField)
		return svc.ForgotPassword(ctx, in.text("email"), c)
	})
}

func handleAPIReset(svc *flow.Service, s sessions) http.Handler {
	return apiFlow(s, texts("token", "password", "password_confirm"), func(ctx context.Context, in fields, c flow.Client) (tacit.Outcome, error) {
		return svc.ResetPassword(ctx, flow.ResetInput{
			Token: in.text("token"), Password: in.text("password"), PasswordConfirm: in.text("password_confirm"),
		}, c)
	})
}

func handleAPIConfirmEmail(svc *flow.Service, s sessions) http.Handler {
	return apiFlow(s, texts("token"), func(ctx context.Context, in fields, _ flow.Client) (tacit.Outcome, error) {
		return svc.ConfirmEmailChange(ctx, in.text("token"))
	})
}

// identityFlow runs a flow for the signed-in account.
type identityFlow func(ctx context.Context, id flow.Identity, in fields, c flow.Client) (tacit.Outcome, error)

// apiAccountFlow is apiFlow for endpoints that act for the signed-in
// account. Without a valid session it answers 401 before reading the body.
// Each of after, if any, may set headers for the outcome before it is
// answered.
func apiAccountFlow(svc *flow.Service, s sessions, sc schema, run identityFlow, after ...func(http.ResponseWriter, tacit.Outcome)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		if err != nil || !ok {
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, err)
			return
		}
		in, err := decode(r, sc)
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, err := run(r.Context(), id, in, clientOf(r))
		for _, f := range after {
			if err == nil {
				f(w, o)
			}
		}
		respond(w, r, s, o, err)
	})
}

// changePasswordSchema is the one body with boolean members. A password
// change ends the other sessions unless keep_other_sessions is true.
// end_other_sessions, the opt-in of earlier versions, is still accepted
// and changes nothing: ending them is the default now.
var changePasswordSchema = schema{
	"current_password": text, "password": text, "password_confirm": text,
	"keep_other_sessions": flag, "end_other_sessions": flag,
}

func handleAPIChangePassword(svc *flow.Service, s sessions) http.Handler {
	return apiAccountFlow(svc, s, changePasswordSchema, func(ctx context.Context, id flow.Identity, in fields, c flow.Client) (tacit.Outcome, error) {
		return svc.ChangePassword(ctx, id, flow.ChangePasswordInput{
			CurrentPassword: in.text("current_password"),
			Password:        in.text("password"), PasswordConfirm: in.text("password_confirm"),
			KeepOtherSessions: in.flag("keep_other_sessions"),
		}, c)
	})
}

func handleAPIChangeEmail(svc *flow.Service, s sessions) http.Handler {
	return apiAccountFlow(svc, s, texts("email", "password"), func(ctx context.Context, id flow.Identity, in fields, c flow.Client) (tacit.Outcome, error) {
		return svc.ChangeEmail(ctx, id, in.text("email"), in.text("password"), c)
	})
}

// sessionsBody is the answer of GET /api/sessions.
type sessionsBody struct {
	Sessions []sessionInfoJSON `json:"sessions"`
}

type sessionInfoJSON struct {
	ID         int64     `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

func handleAPISessions(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		if err != nil || !ok {
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, err)
			return
		}
		list, err := svc.Sessions(r.Context(), id)
		if err != nil {
			respond(w, r, s, tacit.Outcome{}, err)
			return
		}
		body := sessionsBody{Sessions: []sessionInfoJSON{}} // an empty list, not null
		for _, si := range list {
			body.Sessions = append(body.Sessions, sessionInfoJSON{
				ID: si.ID, CreatedAt: stamp(si.CreatedAt), LastSeenAt: stamp(si.LastSeenAt), ExpiresAt: stamp(si.ExpiresAt),
				UserAgent: si.UserAgent, IP: si.IP, Current: si.Current,
			})
		}
		encode(w, http.StatusOK, body)
	})
}

// handleAPIEndSession signs out one session of the signed-in account. An id
// that is not the account's is answered like one that is (the flow
// touches only the account's own sessions), so the endpoint cannot be
// used to learn which ids exist.
func handleAPIEndSession(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		if err != nil || !ok {
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, err)
			return
		}
		sid, ok := sessionID(r.PathValue("id"))
		if !ok {
			encodeError(w, http.StatusNotFound, "not_found", "There is no such session.")
			return
		}
		password, err := optionalPassword(r)
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, err := svc.EndSession(r.Context(), id, sid, password, clientOf(r))
		if err == nil && sid == id.Session.ID {
			// Ending the session that made the request is signing out.
			s.ck.clearSession(w)
		}
		respond(w, r, s, o, err)
	})
}

// optionalPassword reads the body of a DELETE of sessions or of a
// passkey: none at all, or {password}, which a session signed in within
// flow.FreshSignIn may leave out (see flow's reauthenticate).
func optionalPassword(r *http.Request) (string, error) {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return "", nil
	}
	in, err := decode(r, texts("password"))
	if err != nil {
		return "", err
	}
	return in.text("password"), nil
}

// sessionID reads a session id from a path or form: a positive decimal.
func sessionID(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

func handleAPIEndOtherSessions(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		if err != nil || !ok {
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, err)
			return
		}
		password, err := optionalPassword(r)
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, err := svc.EndOtherSessions(r.Context(), id, password, clientOf(r))
		respond(w, r, s, o, err)
	})
}

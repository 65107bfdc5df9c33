package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// flowFunc runs one flow with the decoded JSON fields.
type flowFunc func(ctx context.Context, in fields, c flow.Client) (tacit.Outcome, error)

// apiFlow is the shape of every JSON endpoint that runs a flow: decode the
// body (only the members of sc), run the flow, answer its outcome.
// Requests refused by decode never reach the flow and change nothing.
func apiFlow(s sessions, sc schema, run flowFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode(r, sc)
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, err := run(r.Context(), in, clientOf(r))
		respond(w, r, s, o, err)
	})
}

// registerFields are the fields of a sign-up in the service's mode; the
// password fields of the full form are unknown fields in email-first mode.
func registerFields(svc *flow.Service) schema {
	if svc.Mode() == flow.FullForm {
		return texts("email", "password", "password_confirm")
	}
	return texts("email")
}

func handleAPIRegister(svc *flow.Service, s sessions) http.Handler {
	return apiFlow(s, withProof(registerFields(svc)), func(ctx context.Context, in fields, c flow.Client) (tacit.Outcome, error) {
		c.Proof = in.text(proofField)
		return svc.Register(ctx, flow.RegisterInput{
			Email: in.text("email"), Password: in.text("password"), PasswordConfirm: in.text("password_confirm"),
		}, c)
	})
}

func handleAPIRegisterComplete(svc *flow.Service, s sessions) http.Handler {
	return apiFlow(s, texts("token", "password", "password_confirm"), func(ctx context.Context, in fields, c flow.Client) (tacit.Outcome, error) {
		return svc.CompleteSignup(ctx, flow.CompleteInput{
			Token: in.text("token"), Password: in.text("password"), PasswordConfirm: in.text("password_confirm"),
		}, c)
	})
}

func handleAPIVerify(svc *flow.Service, s sessions) http.Handler {
	return apiFlow(s, texts("token", "password"), func(ctx context.Context, in fields, c flow.Client) (tacit.Outcome, error) {
		return svc.Verify(ctx, flow.VerifyInput{Token: in.text("token"), Password: in.text("password")}, c)
	})
}

func handleAPIVerifyResend(svc *flow.Service, s sessions) http.Handler {
	return apiFlow(s, withProof(texts("email")), func(ctx context.Context, in fields, c flow.Client) (tacit.Outcome, error) {
		c.Proof = in.text(proofField)
		return svc.ResendVerification(ctx, in.text("email"), c)
	})
}

func handleAPILogin(svc *flow.Service, s sessions) http.Handler {
	return apiFlow(s, withProof(texts("email", "password")), func(ctx context.Context, in fields, c flow.Client) (tacit.Outcome, error) {
		c.Proof = in.text(proofField)
		return svc.Login(ctx, in.text("email"), in.text("password"), c)
	})
}

// handleAPILogout ends the session and clears the cookie. It reads no body,
// so it needs no Content-Type; cross-site posts are refused by the
// cross-origin middleware.
func handleAPILogout(s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := s.end(w, r)
		respond(w, r, s, tacit.Outcome{Kind: tacit.Done}, err)
	})
}

// sessionBody is the answer of GET /api/session.
type sessionBody struct {
	Account accountJSON `json:"account"`
	Session sessionJSON `json:"session"`
}

type accountJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

type sessionJSON struct {
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is the absolute end, as in the cookie. IdleExpiresAt is
	// when the session ends if unused, never after ExpiresAt.
	ExpiresAt     time.Time `json:"expires_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
}

func handleAPISession(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		if err != nil || !ok {
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, err)
			return
		}
		idle := id.Session.LastSeenAt.Add(svc.SessionIdle())
		if idle.After(id.Session.ExpiresAt) {
			idle = id.Session.ExpiresAt
		}
		encode(w, http.StatusOK, sessionBody{
			Account: accountJSON{ID: id.Account.ID, Email: id.Account.Email, CreatedAt: stamp(id.Account.CreatedAt)},
			Session: sessionJSON{CreatedAt: stamp(id.Session.CreatedAt), ExpiresAt: stamp(id.Session.ExpiresAt), IdleExpiresAt: stamp(idle)},
		})
	})
}

// stamp is how times are shown: UTC, whole seconds.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// identify returns the identity behind the request's session cookie. ok is
// false when there is no valid session; err is for storage failures only.
func identify(r *http.Request, svc *flow.Service, ck cookies) (flow.Identity, bool, error) {
	return identifyWith(r, ck, svc.Session)
}

// identifyCached is identify for forward auth, which may answer from
// memory within flow.RevocationBound (see flow.Service.CheckSession).
func identifyCached(r *http.Request, svc *flow.Service, ck cookies) (flow.Identity, bool, error) {
	return identifyWith(r, ck, svc.CheckSession)
}

func identifyWith(r *http.Request, ck cookies, lookup func(context.Context, string) (flow.Identity, error)) (flow.Identity, bool, error) {
	tok := ck.session(r)
	if tok == "" {
		return flow.Identity{}, false, nil
	}
	id, err := lookup(r.Context(), tok)
	if errors.Is(err, flow.ErrNoSession) {
		return flow.Identity{}, false, nil
	}
	if err != nil {
		return flow.Identity{}, false, err
	}
	return id, true, nil
}

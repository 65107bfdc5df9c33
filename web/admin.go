package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// This file is the operators' administration API under /admin/api/: what
// `tacit users` does, over HTTP, through flow.Operator, for callers with
// a bearer token from `tacit admin-tokens add`. Unlike every other route
// it says whether an address has an account (404 no_account), so it is
// off unless Config.AdminAPI turns it on, or served on an address of its
// own (NewAdminServer).

// adminRealm names the administration API in WWW-Authenticate.
const adminRealm = `Bearer realm="tacit admin"`

// Admin API list pages.
const (
	adminListDefault = 50
	adminListMax     = 1000
	// adminShowEvents is how many of an account's newest events show
	// returns, as tacit users show prints.
	adminShowEvents = 20
)

// admin serves the administration API's operations.
type admin struct {
	op  *flow.Operator
	log *slog.Logger
}

// adminCall is what an operation gets: the request, the account's
// address from the path ("" for list and create, which read theirs from
// the query or the body).
type adminCall struct {
	r     *http.Request
	email string
}

// adminResult is what an operation did: the answer, and the outcome its
// audit record gives ("done" or "unchanged"), and the address it acted
// on when that came from the body.
type adminResult struct {
	status  int
	body    any
	outcome string
	email   string
}

// adminOp is one operation: its name in the audit, the scope it needs,
// and what it does.
type adminOp struct {
	name  string
	scope tacit.AdminScope
	run   func(ctx context.Context, c adminCall) (adminResult, error)
}

// handle authenticates the caller, checks its scope, runs o and audits
// the call: one structured log line always, and one admin_api event in
// the activity of the account it was about, where there is one.
func (a admin) handle(o adminOp) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		call := adminCall{r: r, email: r.PathValue("email")}
		audit := flow.Audit{Operation: o.name, Email: call.email}
		raw, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", adminRealm)
			encodeError(w, http.StatusUnauthorized, "unauthenticated", "Send an admin token: Authorization: Bearer <token> (tacit admin-tokens add).")
			a.logCall(r, audit, "refused: no token", http.StatusUnauthorized, false)
			return
		}
		tok, err := a.op.CheckAdminToken(ctx, raw)
		if errors.Is(err, flow.ErrBadAdminToken) {
			w.Header().Set("WWW-Authenticate", adminRealm+`, error="invalid_token"`)
			encodeError(w, http.StatusUnauthorized, "invalid_token", "The admin token is not valid (removed, mistyped or never made).")
			a.logCall(r, audit, "refused: invalid token", http.StatusUnauthorized, false)
			return
		}
		if err != nil {
			a.fail(w, r, audit, err)
			return
		}
		audit.Token = tok.Name
		if !tok.Scope.Allows(o.scope) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`%s, error="insufficient_scope", scope=%q`, adminRealm, string(o.scope)))
			encodeError(w, http.StatusForbidden, "insufficient_scope",
				fmt.Sprintf("The token %q has scope %s; %s needs %s.", tok.Name, tok.Scope, o.name, o.scope))
			a.record(r, audit, "refused: insufficient scope", http.StatusForbidden)
			return
		}
		res, err := o.run(ctx, call)
		if res.email != "" {
			audit.Email = res.email
		}
		if err != nil {
			status, code, message := adminError(err)
			if status == http.StatusInternalServerError {
				a.fail(w, r, audit, err)
				return
			}
			encodeError(w, status, code, message)
			a.record(r, audit, "refused: "+code, status)
			return
		}
		encode(w, res.status, res.body)
		a.record(r, audit, res.outcome, res.status)
	})
}

// fail answers 500 and logs the error, and the call.
func (a admin) fail(w http.ResponseWriter, r *http.Request, audit flow.Audit, err error) {
	a.log.ErrorContext(r.Context(), "admin api", "operation", audit.Operation, "err", err)
	encodeError(w, http.StatusInternalServerError, "internal_error", "")
	a.logCall(r, audit, "failed", http.StatusInternalServerError, false)
}

// record writes the call's audit record in the activity of the account
// it was about, if there is one, and logs the call.
func (a admin) record(r *http.Request, audit flow.Audit, outcome string, status int) {
	audit.Outcome = outcome
	recorded := false
	if audit.Email != "" {
		// The answer is written already: the record must not depend on
		// the client waiting for it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
		var err error
		recorded, err = a.op.Audit(ctx, audit)
		cancel()
		if err != nil {
			a.log.ErrorContext(r.Context(), "admin api: audit record not written", "operation", audit.Operation, "err", err)
		}
	}
	a.logCall(r, audit, outcome, status, recorded)
}

// logCall is the structured log line every call leaves: who (the token's
// name, never the token), what, on which address, how it ended, from
// where.
func (a admin) logCall(r *http.Request, audit flow.Audit, outcome string, status int, recorded bool) {
	a.log.InfoContext(r.Context(), "admin api",
		"token", audit.Token, "operation", audit.Operation, "target", audit.Email,
		"outcome", outcome, "status", status, "ip", clientOf(r).IP, "in_activity", recorded)
}

// bearer returns the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// emptyObject refuses a request body other than none or an empty JSON object:
// the actions take all they need from the path.
func emptyObject(r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &requestError{http.StatusRequestEntityTooLarge, "request_too_large", "The request body is too large."}
	}
	if err != nil {
		return malformed("The request body could not be read.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return &requestError{http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the request body as application/json."}
	}
	_, err = decodeObject(body, schema{})
	return err
}

// invalidInput is a 400 about a query parameter.
func invalidInput(format string, args ...any) *requestError {
	return &requestError{http.StatusBadRequest, "invalid_input", fmt.Sprintf(format, args...)}
}

// listQuery reads list's query: contains, state, limit and after, and
// nothing else.
func listQuery(q url.Values) (tacit.AccountQuery, error) {
	out := tacit.AccountQuery{Limit: adminListDefault}
	for name, vs := range q {
		if len(vs) != 1 {
			return out, invalidInput("The parameter %s is given more than once.", quoteName(name))
		}
		v := vs[0]
		switch name {
		case "contains":
			out.Contains = v
		case "state":
			if v != string(tacit.AccountActive) && v != string(tacit.AccountDisabled) {
				return out, invalidInput("state must be active or disabled, got %q.", v)
			}
			out.State = tacit.AccountState(v)
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > adminListMax {
				return out, invalidInput("limit must be a whole number from 1 to %d, got %q.", adminListMax, v)
			}
			out.Limit = n
		case "after":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return out, invalidInput("after must be an account ID of 0 or more, got %q.", v)
			}
			out.After = n
		default:
			return out, invalidInput("Unknown parameter %s (contains, state, limit, after).", quoteName(name))
		}
	}
	return out, nil
}

// The operations, in the order of `tacit users`.

func (a admin) list(ctx context.Context, c adminCall) (adminResult, error) {
	q, err := listQuery(c.r.URL.Query())
	if err != nil {
		return adminResult{}, err
	}
	list, next, err := a.op.List(ctx, q)
	if err != nil {
		return adminResult{}, err
	}
	if list == nil {
		list = []tacit.AccountInfo{}
	}
	return adminResult{status: http.StatusOK, outcome: "done", body: struct {
		Accounts []tacit.AccountInfo `json:"accounts"`
		Next     int64               `json:"next_after,omitempty"`
	}{list, next}}, nil
}

func (a admin) show(ctx context.Context, c adminCall) (adminResult, error) {
	info, events, err := a.op.Show(ctx, c.email, adminShowEvents)
	if err != nil {
		return adminResult{}, err
	}
	return adminResult{status: http.StatusOK, outcome: "done", body: flow.ReportOf(info, events)}, nil
}

// setDisabled is disable (true) or enable (false).
func (a admin) setDisabled(disable bool) func(context.Context, adminCall) (adminResult, error) {
	return func(ctx context.Context, c adminCall) (adminResult, error) {
		if err := emptyObject(c.r); err != nil {
			return adminResult{}, err
		}
		act, state := a.op.Enable, tacit.AccountActive
		if disable {
			act, state = a.op.Disable, tacit.AccountDisabled
		}
		changed, err := act(ctx, c.email)
		if err != nil {
			return adminResult{}, err
		}
		outcome := "done"
		if !changed {
			outcome = "unchanged"
		}
		return adminResult{status: http.StatusOK, outcome: outcome, body: map[string]any{
			"email": tacit.NormalizeEmail(c.email), "state": state, "changed": changed}}, nil
	}
}

func (a admin) delete(ctx context.Context, c adminCall) (adminResult, error) {
	if err := emptyObject(c.r); err != nil {
		return adminResult{}, err
	}
	if err := a.op.Delete(ctx, c.email); err != nil {
		return adminResult{}, err
	}
	return adminResult{status: http.StatusOK, outcome: "done", body: map[string]any{
		"email": tacit.NormalizeEmail(c.email), "deleted": true}}, nil
}

func (a admin) endSessions(ctx context.Context, c adminCall) (adminResult, error) {
	if err := emptyObject(c.r); err != nil {
		return adminResult{}, err
	}
	n, err := a.op.EndSessions(ctx, c.email)
	if err != nil {
		return adminResult{}, err
	}
	return adminResult{status: http.StatusOK, outcome: "done", body: map[string]any{
		"email": tacit.NormalizeEmail(c.email), "sessions_ended": n}}, nil
}

func (a admin) sendReset(ctx context.Context, c adminCall) (adminResult, error) {
	if err := emptyObject(c.r); err != nil {
		return adminResult{}, err
	}
	if err := a.op.SendReset(ctx, c.email); err != nil {
		return adminResult{}, err
	}
	return adminResult{status: http.StatusAccepted, outcome: "done", body: map[string]any{
		"email": tacit.NormalizeEmail(c.email), "queued": tacit.MailResetPassword}}, nil
}

// create invites an address without an account: {"email": …}.
func (a admin) create(ctx context.Context, c adminCall) (adminResult, error) {
	f, err := decode(c.r, texts("email"))
	if err != nil {
		return adminResult{}, err
	}
	email := f.text("email")
	if email == "" {
		return adminResult{}, invalidInput("Give the address to invite: {\"email\": \"…\"}.")
	}
	res := adminResult{email: email}
	if err := a.op.Invite(ctx, email); err != nil {
		return res, err
	}
	res.status, res.outcome = http.StatusAccepted, "done"
	res.body = map[string]any{"email": tacit.NormalizeEmail(email), "queued": tacit.MailFinishSignup}
	return res, nil
}

// NewAdminServer returns the administration API alone, for an address of
// its own (tacit serve's admin_addr): the routes of addAdminRoutes behind
// the middleware they need (request log and id, client address, time and
// body limits, security headers), and a JSON 404 or 405 for anything
// else. Config.AdminAPI is not needed for it, and should stay off so the
// main handler does not serve the API too.
func NewAdminServer(svc *flow.Service, cfg Config) http.Handler {
	cfg = cfg.withDefaults()
	mux := http.NewServeMux()
	addAdminRoutes(mux, svc.Operator(), cfg)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r); allow != "" {
			w.Header().Set("Allow", allow)
			encodeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use "+allow+" for this endpoint.")
			return
		}
		encodeError(w, http.StatusNotFound, "not_found", "There is no such endpoint.")
	}))
	var h http.Handler = mux
	h = securityHeaders(h, hstsFor(cfg.BaseURL))
	h = withClientIP(h, cfg.TrustedProxies)
	h = limitTime(h, cfg.RequestTimeout)
	h = logRequests(h, cfg.Logger)
	return limitBody(h, cfg.MaxBodyBytes)
}

package web

import (
	"errors"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// TestOutcomeMapping pins the one outcome → response mapping of docs/DESIGN.md
// §7, including the outcomes no flow returns yet.
func TestOutcomeMapping(t *testing.T) {
	cases := []struct {
		o          tacit.Outcome
		status     int
		body       string
		retryAfter string
	}{
		{tacit.Outcome{Kind: tacit.CheckInbox}, 202, `{"status":"check_inbox"}`, ""},
		{tacit.Outcome{Kind: tacit.Invalid, Fields: tacit.FieldErrors{"email": "required", "password": "too_short"}}, 422,
			`{"error":"invalid_input","fields":{"email":"required","password":"too_short"}}`, ""},
		{tacit.Outcome{Kind: tacit.InvalidToken}, 400, `{"error":"invalid_token"}`, ""},
		{tacit.Outcome{Kind: tacit.InvalidCredentials}, 401, `{"error":"invalid_credentials"}`, ""},
		{tacit.Outcome{Kind: tacit.Unauthenticated}, 401, `{"error":"unauthenticated"}`, ""},
		{tacit.Outcome{Kind: tacit.Throttled, RetryAfter: 1200 * time.Millisecond}, 429, `{"error":"too_many_requests"}`, "2"},
		{tacit.Outcome{Kind: tacit.Throttled, RetryAfter: 30 * time.Second}, 429, `{"error":"too_many_requests"}`, "30"},
		{tacit.Outcome{Kind: tacit.Throttled}, 429, `{"error":"too_many_requests"}`, "1"},
		{tacit.Outcome{Kind: tacit.SignedIn}, 200, `{"status":"signed_in"}`, ""},
		{tacit.Outcome{Kind: tacit.AccountCreated}, 201, `{"status":"account_created"}`, ""},
		{tacit.Outcome{Kind: tacit.MFARequired}, 200, `{"status":"mfa_required"}`, ""},
		{tacit.Outcome{Kind: tacit.Done}, 204, ``, ""},
		{tacit.Outcome{Kind: "bogus"}, 500, `{"error":"internal_error"}`, ""},
		{tacit.Outcome{}, 500, `{"error":"internal_error"}`, ""},
	}
	s := sessions{ck: newCookies(true), log: slog.New(slog.DiscardHandler)}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		respond(rec, httptest.NewRequest("POST", "/api/x", nil), s, c.o, nil)
		body := strings.TrimSpace(rec.Body.String())
		if rec.Code != c.status || body != c.body || rec.Header().Get("Retry-After") != c.retryAfter {
			t.Errorf("%+v: %d %s Retry-After %q; want %d %s %q", c.o, rec.Code, body, rec.Header().Get("Retry-After"), c.status, c.body, c.retryAfter)
		}
	}
}

// TestFlowErrorIsHidden: a flow error is logged with the request id and
// answered without its text.
func TestFlowErrorIsHidden(t *testing.T) {
	var logs lockedBuffer
	s := sessions{ck: newCookies(true), log: slog.New(slog.NewTextHandler(&logs, nil))}
	rec := httptest.NewRecorder()
	respond(rec, httptest.NewRequest("POST", "/api/x", nil), s, tacit.Outcome{Kind: tacit.CheckInbox}, errSecret)
	if rec.Code != 500 || rec.Body.String() != `{"error":"internal_error"}`+"\n" {
		t.Errorf("JSON: %d %q", rec.Code, rec.Body)
	}
	v := newViews("tacit", newCookies(true), s.log, false)
	rec = httptest.NewRecorder()
	v.answer(rec, httptest.NewRequest("POST", "/login", nil), tacit.Outcome{}, errSecret, loginAnswer(s, tacit.DefaultPasswordPolicy(), "", ""))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), errSecret.Error()) {
		t.Errorf("page: %d %q", rec.Code, rec.Body)
	}
	if n := strings.Count(logs.String(), errSecret.Error()); n != 2 {
		t.Errorf("flow error logged %d times, want 2:\n%s", n, logs.String())
	}
}

var errSecret = errors.New("storage on fire")

// TestFormOutcomes: the pages answer each failure with the status of the
// JSON API.
func TestFormOutcomes(t *testing.T) {
	v := newViews("tacit", newCookies(true), slog.New(slog.DiscardHandler), false)
	cases := []struct {
		o        tacit.Outcome
		status   int
		contains string
	}{
		{tacit.Outcome{Kind: tacit.Invalid, Fields: tacit.FieldErrors{"email": "invalid_email"}}, 422, `aria-describedby="email-error" aria-invalid="true"`},
		{tacit.Outcome{Kind: tacit.InvalidCredentials}, 401, loginFailed},
		{tacit.Outcome{Kind: tacit.InvalidToken}, 400, "This link does not work"},
		{tacit.Outcome{Kind: tacit.Throttled, RetryAfter: 90 * time.Second}, 429, "Too many attempts. Try again in 90 seconds."},
		{tacit.Outcome{Kind: tacit.Throttled, RetryAfter: 1100 * time.Millisecond}, 429, "Too many attempts. Try again in 2 seconds."},
		{tacit.Outcome{Kind: tacit.Throttled, RetryAfter: 300 * time.Millisecond}, 429, "Too many attempts. Try again in 1 second."},
		{tacit.Outcome{Kind: tacit.Unauthenticated}, 303, ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		v.answer(rec, httptest.NewRequest("POST", "/login", nil), c.o, nil, loginAnswer(sessions{ck: v.ck}, tacit.DefaultPasswordPolicy(), "", ""))
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.contains) {
			t.Errorf("%s: %d, want %d containing %q:\n%s", c.o.Kind, rec.Code, c.status, c.contains, rec.Body)
		}
		if c.o.Kind == tacit.Throttled {
			want := strconv.FormatInt(retryAfterSeconds(c.o.RetryAfter), 10)
			if rec.Header().Get("Retry-After") != want || !strings.Contains(rec.Body.String(), "Try again in "+want+" second") ||
				!strings.Contains(rec.Body.String(), `action="/login"`) {
				t.Errorf("throttled page: Retry-After %q, want %s, with the form", rec.Header().Get("Retry-After"), want)
			}
		}
	}
}

// TestNotFoundAndMethods: unknown paths are 404, known paths with the wrong
// method 405 with Allow; JSON under /api/.
func TestNotFoundAndMethods(t *testing.T) {
	h := newHarness(t, options{})
	cases := []struct {
		method, path string
		status       int
		allow, ctype string
	}{
		{"GET", "/nope", 404, "", "text/html; charset=utf-8"},
		{"GET", "/api/nope", 404, "", "application/json"},
		{"GET", "/api/login", 405, "POST", "application/json"},
		{"PUT", "/login", 405, "GET, POST", "text/html; charset=utf-8"},
		{"DELETE", "/api/session", 405, "GET", "application/json"},
		{"PUT", "/api/sessions", 405, "GET, DELETE", "application/json"},
		{"GET", "/api/sessions/7", 405, "DELETE", "application/json"},
		{"GET", "/api/password/reset", 405, "POST", "application/json"},
		{"DELETE", "/password/reset", 405, "GET, POST", "text/html; charset=utf-8"},
		{"GET", "/account/password", 405, "POST", "text/html; charset=utf-8"},
	}
	for _, c := range cases {
		r := h.do(h.newRequest(c.method, c.path, nil))
		if r.StatusCode != c.status || r.Header.Get("Allow") != c.allow || r.Header.Get("Content-Type") != c.ctype {
			t.Errorf("%s %s: %d Allow %q %s", c.method, c.path, r.StatusCode, r.Header.Get("Allow"), r.Header.Get("Content-Type"))
		}
	}
	if r := h.get("/api/nope"); r.text() != `{"error":"not_found","message":"There is no such endpoint."}`+"\n" {
		t.Errorf("API 404 body %q", r.text())
	}
}

package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// assertUntouched fails if a sign-up was stored for addr or any mail was
// queued since the last call.
func assertUntouched(t *testing.T, h *harness, addr string) {
	t.Helper()
	ctx := context.Background()
	err := h.store.View(ctx, func(tx tacit.Tx) error {
		_, err := tx.LatestSignup(ctx, addr, time.Now())
		return err
	})
	if !errors.Is(err, tacit.ErrNotFound) {
		t.Errorf("a sign-up exists for %s (err %v)", addr, err)
	}
	if n, err := h.worker.RunOnce(ctx); n != 0 || err != nil {
		t.Errorf("%d mails were queued (err %v)", n, err)
	}
}

// TestBadJSON sends malformed requests to the JSON API: each gets its own
// 4xx with a message, and none reaches a flow.
func TestBadJSON(t *testing.T) {
	h := newHarness(t, options{mode: flow.FullForm})
	huge := `{"email":"` + strings.Repeat("a", 10<<20) + `@example.com"}`
	cases := []struct {
		name        string
		contentType string
		body        func(email string) string
		status      int
		code        string
		message     string // exact, when set
	}{
		{"malformed", "application/json", func(e string) string { return `{"email":"` + e + `"` }, 400, "malformed_json", ""},
		{"10 MB body", "application/json", func(string) string { return huge }, 413, "request_too_large",
			"The request body is larger than 65536 bytes."},
		{"invalid UTF-8", "application/json", func(e string) string { return `{"email":"` + e + "\xff\xfe" + `"}` }, 400, "malformed_json",
			"The request body is not valid UTF-8."},
		{"invalid UTF-8 in a name", "application/json", func(e string) string { return `{"email":"` + e + `","` + "\xc3" + `":"x"}` }, 400, "malformed_json",
			"The request body is not valid UTF-8."},
		{"unknown field", "application/json", func(e string) string { return `{"email":"` + e + `","admin":"yes"}` }, 400, "unknown_field",
			`Unknown field "admin".`},
		{"wrong content type", "text/plain", func(e string) string { return `{"email":"` + e + `"}` }, 415, "unsupported_media_type",
			"Send the request body as application/json."},
		{"form content type", "application/x-www-form-urlencoded", func(e string) string { return "email=" + url.QueryEscape(e) }, 415, "unsupported_media_type", ""},
		{"no content type", "", func(e string) string { return `{"email":"` + e + `"}` }, 415, "unsupported_media_type", ""},
		{"other charset", "application/json; charset=latin1", func(e string) string { return `{"email":"` + e + `"}` }, 415, "unsupported_media_type", ""},
		{"number", "application/json", func(string) string { return `{"email":5}` }, 400, "malformed_json",
			`The field "email" must be a string.`},
		{"null", "application/json", func(string) string { return `{"email":null}` }, 400, "malformed_json", ""},
		{"array", "application/json", func(e string) string { return `{"email":["` + e + `"]}` }, 400, "malformed_json", ""},
		{"object", "application/json", func(e string) string { return `{"email":{"a":"` + e + `"}}` }, 400, "malformed_json", ""},
		{"boolean", "application/json", func(string) string { return `{"email":true}` }, 400, "malformed_json", ""},
		{"trailing data", "application/json", func(e string) string { return `{"email":"` + e + `"} {}` }, 400, "malformed_json",
			"Unexpected data after the JSON object."},
		{"trailing garbage", "application/json", func(e string) string { return `{"email":"` + e + `"}x` }, 400, "malformed_json", ""},
		{"duplicate field", "application/json", func(e string) string { return `{"email":"a@example.com","email":"` + e + `"}` }, 400, "malformed_json",
			`The field "email" appears more than once.`},
		{"not an object", "application/json", func(e string) string { return `["` + e + `"]` }, 400, "malformed_json",
			"The request body must be a JSON object."},
		{"empty body", "application/json", func(string) string { return `` }, 400, "malformed_json",
			"The request body is empty; send a JSON object."},
		{"trailing comma", "application/json", func(e string) string { return `{"email":"` + e + `",}` }, 400, "malformed_json", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			email := newAddress()
			req := h.newRequest(http.MethodPost, "/api/register", strings.NewReader(c.body(email)))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			r := h.do(req)
			var got errorBody
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("%d, body not JSON: %q", r.StatusCode, r.text())
			}
			if r.StatusCode != c.status || got.Error != c.code || got.Message == "" {
				t.Errorf("got %d %+v, want %d %s with a message", r.StatusCode, got, c.status, c.code)
			}
			if c.message != "" && got.Message != c.message {
				t.Errorf("message %q, want %q", got.Message, c.message)
			}
			assertUntouched(t, h, email)
		})
	}
}

// TestBadJSONEveryEndpoint: the decoder guards every JSON endpoint, and
// email-first sign-up does not take the full form's fields.
func TestBadJSONEveryEndpoint(t *testing.T) {
	h := newHarness(t, options{})
	b := h.browser()
	b.signIn(h.arranged(accountstate.Verified), arrangedPassword)
	for _, path := range []string{
		"/api/register", "/api/register/complete", "/api/verify", "/api/verify/resend", "/api/login",
		"/api/password/forgot", "/api/password/reset", "/api/email/confirm",
		"/api/password/change", "/api/email/change", // with the session
	} {
		r := b.postJSON(path, `{`)
		want := `{"error":"malformed_json","message":"The request body ends before the JSON object does."}` + "\n"
		if r.StatusCode != 400 || r.text() != want {
			t.Errorf("%s: %d %s", path, r.StatusCode, r.text())
		}
	}
	// Only the password change's keep_other_sessions and
	// end_other_sessions are booleans, and only there.
	for path, body := range map[string]string{
		"/api/email/change":    `{"email":true}`,
		"/api/password/forgot": `{"email":false}`,
		"/api/login":           `{"email":"a@example.com","password":true}`,
	} {
		r := b.postJSON(path, body)
		if r.StatusCode != 400 || !strings.Contains(r.text(), `must be a string.`) {
			t.Errorf("%s %s: %d %s", path, body, r.StatusCode, r.text())
		}
	}
	for _, body := range []string{`{"end_other_sessions":"true"}`, `{"end_other_sessions":1}`, `{"end_other_sessions":null}`} {
		r := b.postJSON("/api/password/change", body)
		want := `{"error":"malformed_json","message":"The field \"end_other_sessions\" must be true or false."}` + "\n"
		if r.StatusCode != 400 || r.text() != want {
			t.Errorf("%s: %d %s", body, r.StatusCode, r.text())
		}
	}
	r := b.postJSON("/api/login", `{"end_other_sessions":true}`)
	if r.StatusCode != 400 || r.text() != `{"error":"unknown_field","message":"Unknown field \"end_other_sessions\"."}`+"\n" {
		t.Errorf("boolean elsewhere: %d %s", r.StatusCode, r.text())
	}
	email := newAddress()
	r = h.postJSON("/api/register", jsonBody(map[string]string{"email": email, "password": chosenPassword}))
	if r.StatusCode != 400 || r.text() != `{"error":"unknown_field","message":"Unknown field \"password\"."}`+"\n" {
		t.Errorf("password in email-first mode: %d %s", r.StatusCode, r.text())
	}
	assertUntouched(t, h, email)
}

// TestBadForms: forms get the same protection, answered with pages.
func TestBadForms(t *testing.T) {
	h := newHarness(t, options{})
	post := func(body string) reply {
		b := h.browser()
		b.get("/register")
		req := h.newRequest(http.MethodPost, "/register", strings.NewReader(body+"&csrf_token="+b.jar[h.ck.csrfName].Value))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return b.send(req)
	}
	email := newAddress()
	cases := []struct {
		name   string
		body   string
		status int
		title  string
	}{
		{"10 MB form", "email=" + url.QueryEscape(email) + "&pad=" + strings.Repeat("a", 10<<20), 413, "Form too large"},
		{"invalid UTF-8", "email=" + url.QueryEscape(email) + "%ff", 400, "Form not understood"},
		{"invalid UTF-8 in a name", "email=" + url.QueryEscape(email) + "&%c3=1", 400, "Form not understood"},
		{"bad escape", "email=%zz" + url.QueryEscape(email), 400, "Form not understood"},
	}
	for _, c := range cases {
		r := post(c.body)
		if r.StatusCode != c.status || !strings.Contains(r.text(), "<h1>"+c.title+"</h1>") {
			t.Errorf("%s: %d\n%s", c.name, r.StatusCode, r.text())
		}
		assertUntouched(t, h, email)
	}
}

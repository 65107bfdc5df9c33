package lab

import (
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxJitter is the most latency the clean fixtures add to an answer.
const maxJitter = 1500 * time.Microsecond

func clean() []Fixture {
	return []Fixture{
		{Name: "clean-html", About: "HTML forms with double-submit CSRF tokens (hidden input, meta tag), reflected input, request ids, timestamps, node names, session cookies and a redirect with a nonce",
			New: newCleanHTML, target: `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: login
    kind: login
    path: /login
    form: {csrf_token: "{{csrf}}", email: "{{identifier}}", password: "{{password}}"}
    before:
      - path: /login
        extract: {csrf: {input: csrf_token}}
  - name: forgot
    kind: reset
    path: /password/forgot
    headers: {X-CSRF-Token: "{{csrf}}"}
    form: {email: "{{identifier}}"}
    before:
      - path: /password/forgot
        extract: {csrf: {meta: csrf-token}}
  - name: register
    kind: register
    path: /register
    form: {csrf_token: "{{csrf}}", email: "{{identifier}}"}
    before:
      - path: /register
        extract: {csrf: {regex: 'name="csrf_token" value="([0-9a-f]+)"'}}
`},
		{Name: "clean-json", About: "a JSON API with a CSRF cookie echoed in a header, request ids, nonces and timestamps in bodies, and a full-form sign-up that validates before it looks anything up",
			New: newCleanJSON, target: `base_url: BASE_URL
known: [alice@lab.example]
headers: {Accept: application/json}
endpoints:
  - name: login
    kind: login
    path: /api/login
    headers: {X-XSRF-Token: "{{xsrf}}"}
    json: {email: "{{identifier}}", password: "{{password}}"}
    before:
      - path: /api/csrf
        extract: {xsrf: {cookie: XSRF-TOKEN}}
  - name: register
    kind: register
    path: /api/register
    headers: {X-XSRF-Token: "{{xsrf}}"}
    json: {email: "{{identifier}}", password: "{{password}}", password_confirm: "{{password}}"}
    before:
      - path: /api/csrf
        extract: {xsrf: {cookie: XSRF-TOKEN}}
  - name: forgot
    kind: reset
    path: /api/password/forgot
    headers: {X-XSRF-Token: "{{xsrf}}"}
    json: {email: "{{identifier}}"}
    before:
      - path: /api/csrf
        extract: {xsrf: {cookie: XSRF-TOKEN}}
  - name: resend
    kind: resend
    path: /api/verify/resend
    headers: {X-XSRF-Token: "{{xsrf}}"}
    json: {email: "{{identifier}}"}
    before:
      - path: /api/csrf
        extract: {xsrf: {cookie: XSRF-TOKEN}}
`},
		{Name: "clean-throttle", About: "sign-in that throttles every address alike after 3 attempts",
			New: newCleanThrottle, target: jsonLoginTarget},
		{Name: "clean-flow", About: "a self-service API flow: fetch a flow id and CSRF token, then post to the flow; flows are single use and the answer echoes the flow id",
			New: newCleanFlow, target: `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: login
    kind: login
    path: /self-service/login?flow={{flow}}
    json: {method: password, identifier: "{{identifier}}", password: "{{password}}", csrf_token: "{{csrf}}"}
    before:
      - path: /self-service/login/api
        extract:
          flow: {json: id}
          csrf: {json: "ui.nodes[0].attributes.value"}
`},
	}
}

// noisy adds what real servers vary on every answer: a request id, an
// ETag-like header, a node name behind a load balancer, and latency.
func noisy(w http.ResponseWriter) {
	jitter(maxJitter)
	w.Header().Set("X-Request-Id", uuid())
	w.Header().Set("X-Served-By", "node-"+strconv.Itoa(1+rand.IntN(3)))
	w.Header().Set("ETag", `W/"`+token(8)+`"`)
}

// newCleanHTML serves sign-in, reset and sign-up forms protected by a
// double-submit CSRF token (cookie "csrf" and a form field or header).
func newCleanHTML() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		noisy(w)
		writeHTML(w, http.StatusOK, loginPage(csrfCookie(w, r), "", ""))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		noisy(w)
		c := readCredentials(r)
		if !csrfOK(r, c.CSRF) {
			writeHTML(w, http.StatusForbidden, page("Request refused", "<p>The form has expired. Reload it and try again.</p>"))
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: token(16), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Expires: time.Now().Add(time.Hour)})
		writeHTML(w, http.StatusOK, loginPage(csrfCookie(w, r), c.Email, "Email or password is incorrect."))
	})
	mux.HandleFunc("GET /password/forgot", func(w http.ResponseWriter, r *http.Request) {
		noisy(w)
		writeHTML(w, http.StatusOK, forgotPage(csrfCookie(w, r), ""))
	})
	mux.HandleFunc("POST /password/forgot", func(w http.ResponseWriter, r *http.Request) {
		noisy(w)
		c := readCredentials(r)
		if !csrfOK(r, r.Header.Get("X-CSRF-Token")) {
			writeHTML(w, http.StatusForbidden, page("Request refused", "<p>The form has expired.</p>"))
			return
		}
		writeHTML(w, http.StatusOK, forgotPage(csrfCookie(w, r), fmt.Sprintf("If an account exists for %s, we have sent instructions.", html.EscapeString(c.Email))))
	})
	mux.HandleFunc("GET /register", func(w http.ResponseWriter, r *http.Request) {
		noisy(w)
		writeHTML(w, http.StatusOK, page("Create an account", `<form method="post" action="/register">
<input type="hidden" name="csrf_token" value="`+csrfCookie(w, r)+`">
<input name="email" type="email">
<button>Continue</button>
</form>`))
	})
	mux.HandleFunc("POST /register", func(w http.ResponseWriter, r *http.Request) {
		noisy(w)
		c := readCredentials(r)
		if !csrfOK(r, c.CSRF) {
			writeHTML(w, http.StatusForbidden, page("Request refused", "<p>The form has expired.</p>"))
			return
		}
		if !validEmail(c.Email) {
			writeHTML(w, http.StatusUnprocessableEntity, page("Create an account", "<p>Enter a valid email address.</p>"))
			return
		}
		w.Header().Set("Location", "/register/sent?ref="+token(6))
		w.WriteHeader(http.StatusSeeOther)
	})
	return mux
}

// csrfCookie returns the request's CSRF token, setting a fresh cookie
// when it has none.
func csrfCookie(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie("csrf"); err == nil && c.Value != "" {
		return c.Value
	}
	t := token(16)
	http.SetCookie(w, &http.Cookie{Name: "csrf", Value: t, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return t
}

func csrfOK(r *http.Request, sent string) bool {
	c, err := r.Cookie("csrf")
	return err == nil && c.Value != "" && c.Value == sent
}

func loginPage(csrf, email, message string) string {
	var msg string
	if message != "" {
		msg = `<p class="error">` + message + "</p>\n"
	}
	return page("Sign in", `<meta name="request-id" content="`+uuid()+`">
`+msg+`<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="`+csrf+`">
<input name="email" type="email" value="`+html.EscapeString(email)+`">
<input name="password" type="password">
<button>Sign in</button>
</form>
<footer>Page generated at `+time.Now().UTC().Format(time.RFC3339Nano)+` in `+strconv.Itoa(rand.IntN(900)+100)+`µs</footer>`)
}

func forgotPage(csrf, message string) string {
	return page("Reset your password", `<meta name="csrf-token" content="`+csrf+`">
<p>`+message+`</p>
<form method="post" action="/password/forgot"><input name="email" type="email"><button>Send the link</button></form>
<footer>`+time.Now().UTC().Format(time.RFC1123)+`</footer>`)
}

// newCleanJSON serves a JSON API protected by a CSRF cookie that clients
// echo in the X-XSRF-Token header.
func newCleanJSON() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/csrf", func(w http.ResponseWriter, r *http.Request) {
		noisy(w)
		http.SetCookie(w, &http.Cookie{Name: "XSRF-TOKEN", Value: token(16), Path: "/", SameSite: http.SameSiteStrictMode})
		w.WriteHeader(http.StatusNoContent)
	})
	guarded := func(f func(w http.ResponseWriter, c credentials)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			noisy(w)
			ck, err := r.Cookie("XSRF-TOKEN")
			if err != nil || ck.Value != r.Header.Get("X-XSRF-Token") {
				writeJSON(w, http.StatusForbidden, map[string]string{"error": "csrf"})
				return
			}
			f(w, readCredentials(r))
		}
	}
	mux.HandleFunc("POST /api/login", guarded(func(w http.ResponseWriter, c credentials) {
		if !validEmail(c.Email) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "invalid_input", "fields": map[string]string{"email": "invalid_email"}, "request_id": uuid()})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: token(16), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 3600})
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials", "request_id": uuid(),
			"at": time.Now().UTC().Format(time.RFC3339Nano), "nonce": token(12)})
	}))
	mux.HandleFunc("POST /api/register", guarded(func(w http.ResponseWriter, c credentials) {
		// Every check runs before (and without) any lookup.
		fields := passwordErrors(c.Password, c.PasswordConfirm)
		if !validEmail(c.Email) {
			fields["email"] = "invalid_email"
		}
		if len(fields) > 0 {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "invalid_input", "fields": fields, "request_id": uuid()})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "check_inbox", "request_id": uuid()})
	}))
	accepted := guarded(func(w http.ResponseWriter, c credentials) {
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "check_inbox", "email": c.Email, "request_id": uuid(),
			"at": time.Now().UTC().Format(time.RFC3339)})
	})
	mux.HandleFunc("POST /api/password/forgot", accepted)
	mux.HandleFunc("POST /api/verify/resend", accepted)
	return mux
}

// newCleanThrottle throttles sign-in per address after 3 attempts, for
// every address alike.
func newCleanThrottle() http.Handler {
	var mu sync.Mutex
	attempts := map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noisy(w)
		c := readCredentials(r)
		if !validEmail(c.Email) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "invalid_email"})
			return
		}
		mu.Lock()
		attempts[c.Email]++
		n := attempts[c.Email]
		mu.Unlock()
		if n > 3 {
			w.Header().Set("Retry-After", "60")
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too_many_requests"})
			return
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
	})
}

// newCleanFlow is a self-service login API in the style of Ory Kratos: a
// flow is created by one request and used, once, by the next.
func newCleanFlow() http.Handler {
	var mu sync.Mutex
	flows := map[string]string{} // flow id → CSRF token
	mux := http.NewServeMux()
	mux.HandleFunc("GET /self-service/login/api", func(w http.ResponseWriter, r *http.Request) {
		noisy(w)
		id, csrf := uuid(), token(16)
		mu.Lock()
		flows[id] = csrf
		mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "expires_at": time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339Nano),
			"ui": map[string]any{"action": "/self-service/login?flow=" + id, "method": "POST",
				"nodes": []any{map[string]any{"attributes": map[string]string{"name": "csrf_token", "value": csrf}}}}})
	})
	mux.HandleFunc("POST /self-service/login", func(w http.ResponseWriter, r *http.Request) {
		noisy(w)
		id := r.URL.Query().Get("flow")
		var body struct {
			Identifier string `json:"identifier"`
			CSRF       string `json:"csrf_token"`
		}
		_ = decodeJSON(r, &body)
		mu.Lock()
		csrf, ok := flows[id]
		delete(flows, id)
		mu.Unlock()
		switch {
		case !ok:
			writeJSON(w, http.StatusGone, map[string]any{"error": map[string]string{"id": "self_service_flow_expired"}})
		case csrf != body.CSRF:
			writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]string{"id": "security_csrf_violation"}})
		default:
			writeJSON(w, http.StatusBadRequest, map[string]any{"id": id, "ui": map[string]any{
				"action":   "/self-service/login?flow=" + id,
				"messages": []any{map[string]any{"id": 4000006, "type": "error", "text": "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number."}},
				"nodes":    []any{map[string]any{"attributes": map[string]string{"name": "identifier", "value": body.Identifier}}},
			}})
		}
	})
	return mux
}

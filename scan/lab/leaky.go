package lab

import (
	"html"
	"net/http"
	"strings"
	"unicode"
)

// jsonLoginTarget scans POST /api/login with a JSON body.
const jsonLoginTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: login
    kind: login
    path: /api/login
    json: {email: "{{identifier}}", password: "{{password}}"}
`

// formLoginTarget scans POST /login with a form body.
const formLoginTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: login
    kind: login
    path: /login
    form: {email: "{{identifier}}", password: "{{password}}"}
`

func leaky() []Fixture {
	return []Fixture{
		{Name: "message", Want: "USER_ENUM_RESPONSE_CONTENT", About: "sign-in says which of address and password was wrong",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				if exists(readCredentials(r).Email) {
					writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "wrong_password"})
					return
				}
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "no_such_user"})
			}), target: jsonLoginTarget},
		{Name: "status", Want: "USER_ENUM_STATUS_CODE", About: "same body, 404 for unknown addresses",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				status := http.StatusNotFound
				if exists(readCredentials(r).Email) {
					status = http.StatusUnauthorized
				}
				writeJSON(w, status, map[string]string{"error": "invalid_credentials"})
			}), target: jsonLoginTarget},
		{Name: "redirect", Want: "USER_ENUM_REDIRECT", About: "the failure reason is in the redirect's query string",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				reason := "account"
				if exists(readCredentials(r).Email) {
					reason = "password"
				}
				w.Header().Set("Location", "/login?error="+reason)
				w.WriteHeader(http.StatusSeeOther)
			}), target: formLoginTarget},
		{Name: "header", Want: "USER_ENUM_HEADERS", About: "a debugging header only for real accounts",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				if exists(readCredentials(r).Email) {
					w.Header().Set("X-Account-Status", "active")
				}
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
			}), target: jsonLoginTarget},
		{Name: "cookie", Want: "USER_ENUM_COOKIES", About: "the flash cookie is HttpOnly only for real accounts",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				c := &http.Cookie{Name: "flash", Value: "login-failed", Path: "/"}
				c.HttpOnly = exists(readCredentials(r).Email)
				http.SetCookie(w, c)
				writeHTML(w, http.StatusUnauthorized, page("Sign in", "<p>Email or password is incorrect.</p>"))
			}), target: formLoginTarget},
		{Name: "length", Want: "USER_ENUM_LENGTH", About: "a trailing space only for real accounts",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				body := page("Sign in", "<p>Email or password is incorrect.</p>")
				if exists(readCredentials(r).Email) {
					body += " "
				}
				writeHTML(w, http.StatusUnauthorized, body)
			}), target: formLoginTarget},
		{Name: "title", Want: "USER_ENUM_RESPONSE_CONTENT", About: "only the page title says the password was wrong",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				c := readCredentials(r)
				title := "Sign in"
				if exists(c.Email) {
					title = "Wrong password"
				}
				writeHTML(w, http.StatusUnauthorized, page(title, `<form method="post" action="/login">
<input name="email" value="`+html.EscapeString(c.Email)+`">
<p>Email or password is incorrect.</p>
</form>`))
			}), target: formLoginTarget},
		{Name: "register-order", Want: "USER_ENUM_REGISTER", About: "sign-up looks the address up before it reports password errors",
			New: func() http.Handler { return http.HandlerFunc(leakyRegister) }, target: `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: register
    kind: register
    path: /api/register
    json:
      email: "{{identifier}}"
      password: "{{password}}"
      password_confirm: "{{password}}"
`},
		{Name: "reset-message", Want: "USER_ENUM_PASSWORD_RESET", About: "password reset says when no account uses the address",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				msg := "No account uses that address."
				if exists(readCredentials(r).Email) {
					msg = "We have sent you a link to reset your password."
				}
				writeHTML(w, http.StatusOK, page("Reset your password", "<p>"+msg+"</p>"))
			}), target: `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: forgot
    kind: reset
    path: /password/forgot
    form: {email: "{{identifier}}"}
`},
		{Name: "reset-laravel", Want: "USER_ENUM_PASSWORD_RESET",
			About: "password reset answers as Laravel's does by default: 422 and \"We can't find a user with that email address.\" for unknown addresses",
			New:   handle(laravelReset), target: `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: forgot
    kind: reset
    path: /forgot-password
    json: {email: "{{identifier}}"}
`},
	}
}

// laravelReset answers a JSON reset request the way Laravel's password
// broker and Fortify do out of the box: the unknown address is a
// validation error on the email field (422), the known one gets its link
// (200). One branch, two channels: the status and the body.
func laravelReset(w http.ResponseWriter, r *http.Request) {
	if exists(readCredentials(r).Email) {
		writeJSON(w, http.StatusOK, map[string]string{"message": "We have emailed your password reset link."})
		return
	}
	const msg = "We can't find a user with that email address."
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": msg, "errors": map[string][]string{"email": {msg}}})
}

// handle wraps a stateless handler as a fixture constructor.
func handle(f http.HandlerFunc) func() http.Handler {
	return func() http.Handler { return f }
}

// leakyRegister is a full-form sign-up that answers valid input uniformly
// ("check your inbox") but looks the address up before it reports password
// errors, so invalid input tells who has an account.
func leakyRegister(w http.ResponseWriter, r *http.Request) {
	c := readCredentials(r)
	if !validEmail(c.Email) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "invalid_input", "fields": map[string]string{"email": "invalid_email"}})
		return
	}
	if fields := passwordErrors(c.Password, c.PasswordConfirm); len(fields) > 0 {
		if exists(c.Email) { // the planted leak: existence before validation
			writeJSON(w, http.StatusConflict, map[string]string{"error": "email_taken"})
			return
		}
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "invalid_input", "fields": fields})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "check_inbox"})
}

func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.Contains(domain, "@") && strings.Contains(domain, ".")
}

// passwordErrors is a policy with length, classes, confirmation and a
// (tiny) common-password list.
func passwordErrors(pw, confirm string) map[string]string {
	fields := map[string]string{}
	switch {
	case pw == "":
		fields["password"] = "required"
	case len(pw) < 8:
		fields["password"] = "too_short"
	case !strings.ContainsFunc(pw, unicode.IsDigit) || !strings.ContainsFunc(pw, unicode.IsUpper):
		fields["password"] = "missing_classes"
	case pw == "Password1" || strings.EqualFold(pw, "password1"):
		fields["password"] = "breached"
	}
	if confirm != pw {
		fields["password_confirm"] = "mismatch"
	}
	return fields
}

package lab

import (
	"crypto/rand"
	"encoding/hex"
	"html"
	"net/http"
	"strings"
	"sync"
)

// flashTarget scans the Laravel-style reset form: the page's CSRF token,
// then the POST, whose answer is a redirect back to the form.
const flashTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: forgot
    kind: reset
    path: /forgot-password
    form: {_token: "{{csrf}}", email: "{{identifier}}"}
    before:
      - path: /forgot-password
        extract: {csrf: {input: _token}}
`

// passwordLoginTarget gives the known account's password; PASSWORD_FIELD
// is the name the sign-in body sends it under.
const passwordLoginTarget = `base_url: BASE_URL
known:
  - {identifier: alice@lab.example, password: "` + KnownPassword + `"}
endpoints:
  - name: login
    kind: login
    path: /login
    json: {email: "{{identifier}}", PASSWORD_FIELD: "{{password}}"}
`

// flashSession is a session of flashReset: its CSRF token and the message
// the next page shows once.
type flashSession struct {
	token string
	flash string
}

// flashReset is a password reset form as Laravel (Breeze) serves it: the
// POST is answered, whatever happens, with 302 back to the form, and what
// happened is a flash message in the session that the next GET of the
// form shows once. leaky says "We can't find a user with that email
// address." for unknown addresses, as Laravel does by default; otherwise
// every well-formed address gets the same message. A malformed address
// gets a validation error, on the next page too. Every page carries the
// session's CSRF token and a nonce of its own.
func flashReset(leaky bool) http.Handler {
	var mu sync.Mutex
	sessions := map[string]*flashSession{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var sess *flashSession
		id := ""
		if c, err := r.Cookie("laravel_session"); err == nil {
			id, sess = c.Value, sessions[c.Value]
		}
		if sess == nil {
			id, sess = randomHex(), &flashSession{token: randomHex()}
			sessions[id] = sess
		}
		http.SetCookie(w, &http.Cookie{Name: "laravel_session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		if r.Method != http.MethodPost {
			flash := ""
			if sess.flash != "" {
				flash = "<div class=\"status\">" + html.EscapeString(sess.flash) + "</div>\n"
				sess.flash = ""
			}
			writeHTML(w, http.StatusOK, page("Forgot password", flash+
				"<script nonce=\""+randomHex()+"\">window.ready = true</script>\n"+
				"<form method=\"post\" action=\"/forgot-password\">\n<input type=\"hidden\" name=\"_token\" value=\""+sess.token+"\">\n"+
				"<input type=\"email\" name=\"email\">\n<button>Email password reset link</button>\n</form>"))
			return
		}
		_ = r.ParseForm() // a bad body reads as empty fields
		if r.PostForm.Get("_token") != sess.token {
			writeHTML(w, 419, page("Page expired", "<p>Page expired.</p>"))
			return
		}
		email := r.PostForm.Get("email")
		switch {
		case !validEmail(email):
			sess.flash = "The email field must be a valid email address."
		case leaky && !exists(email):
			sess.flash = "We can't find a user with that email address."
		default:
			sess.flash = "We have emailed your password reset link."
		}
		http.Redirect(w, r, "http://"+r.Host+"/forgot-password", http.StatusFound)
	})
}

// passwordLogin is a uniform JSON sign-in that validates the address and
// signs Known in with KnownPassword: 200 and a session cookie, where every
// other attempt gets 401.
func passwordLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := readCredentials(r)
		if !validEmail(c.Email) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "invalid_email"})
			return
		}
		if exists(c.Email) && c.Password == KnownPassword {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: randomHex(), Path: "/", HttpOnly: true})
			writeJSON(w, http.StatusOK, map[string]string{"status": "signed_in"})
			return
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
	})
}

// passwordLockTarget has two sign-in endpoints sharing one failure count
// (an API and a form, as many applications have), and the password.
const passwordLockTarget = `base_url: BASE_URL
known:
  - {identifier: alice@lab.example, password: "` + KnownPassword + `"}
endpoints:
  - {name: api-login, kind: login, path: /api/login, json: {email: "{{identifier}}", password: "{{password}}"}}
  - {name: login, kind: login, path: /login, form: {email: "{{identifier}}", password: "{{password}}"}}
`

// passwordLock is a uniform sign-in that locks every address, known or
// not, after threshold failures, as lockAny does, and clears an account's
// failures when it signs in (Devise's lockable, Laravel's login
// throttle): a right password sent in the middle of a scan would put the
// known address behind its partners.
func passwordLock(threshold int) http.Handler {
	var mu sync.Mutex
	failures := map[string]int{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := readCredentials(r)
		if !validEmail(c.Email) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "invalid_email"})
			return
		}
		mu.Lock()
		defer mu.Unlock()
		key := strings.ToLower(strings.TrimSpace(c.Email))
		if failures[key] >= threshold {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "too_many_attempts", "message": "Too many failed attempts. Try again later."})
			return
		}
		if exists(c.Email) && c.Password == KnownPassword {
			failures[key] = 0
			http.SetCookie(w, &http.Cookie{Name: "session", Value: randomHex(), Path: "/", HttpOnly: true})
			writeJSON(w, http.StatusOK, map[string]string{"status": "signed_in"})
			return
		}
		failures[key]++
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
	})
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

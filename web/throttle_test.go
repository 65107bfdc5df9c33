package web

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// step is what a requester sees of one answer in a throttling sequence.
type step struct {
	Status     int
	RetryAfter string
	Body       string
}

func (s step) String() string {
	return fmt.Sprintf("%d Retry-After=%q %s", s.Status, s.RetryAfter, strings.TrimSpace(s.Body))
}

// repeat returns n copies of s.
func repeat(n int, s step) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func seq(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var (
	checkInbox   = step{202, "", `{"status":"check_inbox"}` + "\n"}
	badLogin     = step{401, "", `{"error":"invalid_credentials"}` + "\n"}
	tooMany      = func(secs string) step { return step{429, secs, `{"error":"too_many_requests"}` + "\n"} }
	invalidToken = step{400, "", `{"error":"invalid_token"}` + "\n"}
)

// interleave makes n requests about each of two addresses, alternating
// A1, B1, A2, B2, … so that both meet the same clock, and fails the test
// unless every pair of answers is identical (full responses, addresses
// masked) and the sequence is want. between, if set, runs after each pair.
func interleave(t *testing.T, what string, n int, ea, eb string, req func(email string) reply, want []step, between func(a reply)) {
	t.Helper()
	var got []step
	for i := 0; i < n; i++ {
		ra, rb := req(ea), req(eb)
		sameResponse(t, fmt.Sprintf("%s #%d", what, i+1), ra, rb, ea, eb)
		got = append(got, step{ra.StatusCode, ra.Header.Get("Retry-After"), ra.text()})
		if between != nil {
			between(ra)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: sequence\n got %v\nwant %v", what, got, want)
	}
}

// TestThrottleSequences: repeated requests about an address with an
// account and about one without get identical answers, and throttling
// starts at the same request with the same Retry-After (docs/DESIGN.md §1).
// The flows' clock is frozen, so the sequences are exact; the per-address
// limits are the defaults.
func TestThrottleSequences(t *testing.T) {
	login := func(h *harness) func(string) reply {
		return func(e string) reply {
			return h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": e, "password": wrongPassword}))
		}
	}
	emailOnly := func(h *harness, path string) func(string) reply {
		return func(e string) reply { return h.browser().postJSON(path, jsonBody(map[string]string{"email": e})) }
	}
	cases := []struct {
		name string
		mode flow.Mode
		n    int
		req  func(h *harness) func(string) reply
		want []step
	}{
		{"15 wrong logins", "", 15, login, seq(repeat(5, badLogin), repeat(10, tooMany("1")))},
		{"5 reset requests", "", 5, func(h *harness) func(string) reply { return emailOnly(h, "/api/password/forgot") },
			seq(repeat(3, checkInbox), repeat(2, tooMany("30")))},
		{"5 resend requests", "", 5, func(h *harness) func(string) reply { return emailOnly(h, "/api/verify/resend") },
			seq(repeat(3, checkInbox), repeat(2, tooMany("30")))},
		{"12 sign-ups", flow.EmailFirst, 12, func(h *harness) func(string) reply { return emailOnly(h, "/api/register") },
			seq(repeat(3, checkInbox), repeat(9, tooMany("30")))},
		{"12 full-form sign-ups", flow.FullForm, 12, func(h *harness) func(string) reply {
			return func(e string) reply { return h.browser().postJSON("/api/register", jsonBody(h.registerFields(e))) }
		}, seq(repeat(3, checkInbox), repeat(9, tooMany("30")))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, options{mode: c.mode, frozen: true})
			for _, state := range accountstate.All[1:] {
				t.Run(string(state)+"_vs_none", func(t *testing.T) {
					h.t = t
					existing, unknown := h.arranged(state), h.arranged(accountstate.None)
					interleave(t, c.name, c.n, existing, unknown, c.req(h), c.want, nil)
				})
			}
		})
	}
}

// TestLoginLockSequence: waiting out every delay leads, alike for both
// addresses, to the lock after ten failures; only the real owner is
// mailed; reset still works and lets the owner's browser in, while the
// address stays locked for everyone else, alike for both.
func TestLoginLockSequence(t *testing.T) {
	h := newHarness(t, options{frozen: true})
	existing, unknown := h.arranged(accountstate.Verified), h.arranged(accountstate.None)
	want := seq(repeat(5, badLogin),
		[]step{tooMany("1"), badLogin, tooMany("2"), badLogin, tooMany("4"), badLogin, tooMany("8"), badLogin, tooMany("16"), badLogin},
		[]step{tooMany("900")})
	waitOut := func(r reply) {
		if r.StatusCode != 429 || r.Header.Get("Retry-After") == "900" {
			return
		}
		var secs int
		fmt.Sscan(r.Header.Get("Retry-After"), &secs)
		h.skew.Add(int64(time.Duration(secs) * time.Second))
	}
	interleave(t, "login until locked", len(want), existing, unknown, func(e string) reply {
		return h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": e, "password": wrongPassword}))
	}, want, waitOut)

	// Locked: even the right password is held back, alike for both.
	ra := h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": existing, "password": arrangedPassword}))
	rb := h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": unknown, "password": arrangedPassword}))
	sameResponse(t, "right password while locked", ra, rb, existing, unknown)
	wantStatus(t, "right password while locked", ra, 429, `{"error":"too_many_requests"}`)

	h.deliver()
	if s, _ := newestMail(t, h, existing); s != "Sign-in to your tacit account is paused" {
		t.Errorf("owner's mail %q, want the lock notice", s)
	}
	if m := h.mailsTo(unknown); len(m) != 0 {
		t.Errorf("unknown address got %d mails", len(m))
	}

	// Reset works while locked, and the new password signs in at once
	// from the browser that reset, which got a device cookie. Anyone
	// else still finds the address locked, as for the unknown one.
	wantStatus(t, "forgot while locked", h.browser().postJSON("/api/password/forgot", jsonBody(map[string]string{"email": existing})), 202, "")
	h.deliver()
	token := mailboxLink(t, h, existing, "/password/reset")
	owner := h.browser()
	r := owner.postJSON("/api/password/reset", jsonBody(map[string]string{"token": token, "password": newPassword, "password_confirm": newPassword}))
	wantStatus(t, "reset while locked", r, 204, "")
	if r := owner.postJSON("/api/login", jsonBody(map[string]string{"email": existing, "password": newPassword})); r.StatusCode != 200 {
		t.Errorf("sign-in after the reset, from the browser that reset: %d, want 200", r.StatusCode)
	}
	ra = h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": existing, "password": wrongPassword}))
	rb = h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": unknown, "password": wrongPassword}))
	sameResponse(t, "another browser after the owner's reset and sign-in", ra, rb, existing, unknown)
	wantStatus(t, "another browser after the owner's reset and sign-in", ra, 429, `{"error":"too_many_requests"}`)
}

// TestThrottledForms: a held-back form post shows the form again with the
// wait, as status 429 and Retry-After, alike for both addresses.
func TestThrottledForms(t *testing.T) {
	h := newHarness(t, options{frozen: true})
	cases := []struct {
		page, path string
		fields     func(e string) url.Values
		free       int
		okStatus   int
		message    string
		retryAfter string
	}{
		{"/login", "/login", func(e string) url.Values { return url.Values{"email": {e}, "password": {wrongPassword}} },
			5, 401, "Too many attempts. Try again in 1 second.", "1"},
		{"/password/forgot", "/password/forgot", func(e string) url.Values { return url.Values{"email": {e}} },
			3, 303, "Too many attempts. Try again in 30 seconds.", "30"},
		{"/verify/resend", "/verify/resend", func(e string) url.Values { return url.Values{"email": {e}} },
			3, 303, "Too many attempts. Try again in 30 seconds.", "30"},
		{"/register", "/register", func(e string) url.Values { return url.Values{"email": {e}} },
			3, 303, "Too many attempts. Try again in 30 seconds.", "30"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			h.t = t
			ea, eb := h.arranged(accountstate.Verified), h.arranged(accountstate.None)
			ba, bb := h.browser(), h.browser()
			ba.get(c.page)
			bb.get(c.page)
			post := func(e string) reply {
				if e == ea {
					return ba.postForm(c.path, c.fields(e))
				}
				return bb.postForm(c.path, c.fields(e))
			}
			var last reply
			for i := 0; i <= c.free; i++ {
				ra, rb := post(ea), post(eb)
				sameResponse(t, fmt.Sprintf("%s #%d", c.path, i+1), ra, rb, ea, eb)
				want := c.okStatus
				if i == c.free {
					want = 429
				}
				if ra.StatusCode != want {
					t.Fatalf("%s #%d: %d, want %d", c.path, i+1, ra.StatusCode, want)
				}
				last = ra
			}
			if !strings.Contains(last.text(), c.message) || last.Header.Get("Retry-After") != c.retryAfter ||
				!strings.Contains(last.text(), `action="`+c.path+`"`) || !strings.Contains(last.text(), `value="`+ea+`"`) {
				t.Errorf("throttled form: Retry-After %q\n%s", last.Header.Get("Retry-After"), last.text())
			}
		})
	}
}

// TestPerClientLimits: behind a trusted proxy each client has its own
// counters; without one, X-Forwarded-For changes nothing.
func TestPerClientLimits(t *testing.T) {
	defaults := flow.DefaultLimits()
	badReset := func(b *browser) reply {
		return b.postJSON("/api/password/reset", jsonBody(map[string]string{"token": fixedToken, "password": newPassword, "password_confirm": newPassword}))
	}
	wantBad := seq(repeat(10, invalidToken), []step{tooMany("1")})

	t.Run("behind a trusted proxy", func(t *testing.T) {
		h := newHarness(t, options{frozen: true, limits: &defaults, trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		x, y := h.browser(), h.browser()
		x.forwardedFor, y.forwardedFor = "198.51.100.1, 203.0.113.7", "203.0.113.8"
		var got []step
		for range wantBad {
			r := badReset(x)
			got = append(got, step{r.StatusCode, r.Header.Get("Retry-After"), r.text()})
		}
		if fmt.Sprint(got) != fmt.Sprint(wantBad) {
			t.Errorf("bad reset tokens from one client:\n got %v\nwant %v", got, wantBad)
		}
		wantStatus(t, "another client", badReset(y), 400, `{"error":"invalid_token"}`)

		// The reset page, throttled, keeps the form and says how long.
		x.get("/password/forgot")
		r := x.postForm("/password/reset", url.Values{"token": {fixedToken}, "password": {newPassword}, "password_confirm": {newPassword}})
		if r.StatusCode != 429 || r.Header.Get("Retry-After") != "1" || !strings.Contains(r.text(), "Too many attempts. Try again in 1 second.") ||
			!strings.Contains(r.text(), `name="token" value="`+fixedToken+`"`) {
			t.Errorf("throttled reset form: %d %q\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.text())
		}

		// Requests that mail an address: 30 per client, whatever the
		// addresses, then the client waits.
		z := h.browser()
		z.forwardedFor = "203.0.113.9"
		for i := 0; i < 30; i++ {
			e := h.arranged([]accountstate.State{accountstate.Verified, accountstate.None}[i%2])
			wantStatus(t, "forgot", z.postJSON("/api/password/forgot", jsonBody(map[string]string{"email": e})), 202, "")
		}
		r = z.postJSON("/api/password/forgot", jsonBody(map[string]string{"email": newAddress()}))
		if r.StatusCode != 429 || r.Header.Get("Retry-After") != "1" {
			t.Errorf("31st request from one client: %d %q", r.StatusCode, r.Header.Get("Retry-After"))
		}
	})

	t.Run("without a trusted proxy", func(t *testing.T) {
		h := newHarness(t, options{frozen: true, limits: &defaults})
		var got []step
		for i := range wantBad {
			b := h.browser()
			b.forwardedFor = fmt.Sprintf("203.0.113.%d", i+1) // a client pretending to be many
			r := badReset(b)
			got = append(got, step{r.StatusCode, r.Header.Get("Retry-After"), r.text()})
		}
		if fmt.Sprint(got) != fmt.Sprint(wantBad) {
			t.Errorf("forged X-Forwarded-For:\n got %v\nwant %v", got, wantBad)
		}
	})
}

// TestAccountThrottled: the session-bound flows are held back too, by the
// JSON API and on the account page, with the wait in the header and the
// form.
func TestAccountThrottled(t *testing.T) {
	h := newHarness(t, options{frozen: true})

	t.Run("change password", func(t *testing.T) {
		h.t = t
		b := h.signedIn(h.arranged(accountstate.Verified), "")
		body := jsonBody(map[string]string{"current_password": wrongPassword, "password": newPassword, "password_confirm": newPassword})
		var got []step
		for range 6 {
			r := b.postJSON("/api/password/change", body)
			got = append(got, step{r.StatusCode, r.Header.Get("Retry-After"), r.text()})
		}
		if want := seq(repeat(5, badLogin), []step{tooMany("1")}); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("wrong current passwords:\n got %v\nwant %v", got, want)
		}
		b.get("/account")
		r := b.postForm("/account/password", url.Values{"current_password": {arrangedPassword}, "password": {newPassword}, "password_confirm": {newPassword}})
		if r.StatusCode != 429 || r.Header.Get("Retry-After") != "1" || !strings.Contains(r.text(), "Too many attempts. Try again in 1 second.") {
			t.Errorf("throttled password form: %d %q\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.text())
		}
	})

	t.Run("change email", func(t *testing.T) {
		h.t = t
		b := h.signedIn(h.arranged(accountstate.Verified), "")
		var got []step
		for range 4 {
			r := b.postJSON("/api/email/change", jsonBody(map[string]string{"email": newAddress(), "password": arrangedPassword}))
			got = append(got, step{r.StatusCode, r.Header.Get("Retry-After"), r.text()})
		}
		if want := seq(repeat(3, checkInbox), []step{tooMany("30")}); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("email changes:\n got %v\nwant %v", got, want)
		}
		b.get("/account")
		r := b.postForm("/account/email", url.Values{"email": {newAddress()}, "password": {arrangedPassword}})
		msg := `<div class="notice notice-error" role="alert" tabindex="-1" data-focus>` + "\n<p>Too many attempts. Try again in 30 seconds.</p>"
		if r.StatusCode != 429 || r.Header.Get("Retry-After") != "30" || !strings.Contains(r.text(), msg) {
			t.Errorf("throttled email form: %d %q\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.text())
		}
		// The message sits in the email form, not the password form.
		if i, j := strings.Index(r.text(), "Too many attempts"), strings.Index(r.text(), `id="email-title"`); i < j {
			t.Error("the throttling message is not in the email form")
		}
	})
}

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/passkeytest"
	"github.com/tacitauth/tacit/internal/testenv"
)

// Passwords used across the tests. None is on the blocklist.
const (
	arrangedPassword = "arranged password 1" // the password of arranged accounts
	chosenPassword   = "correct horse battery 9"
	wrongPassword    = "not the password 7"
)

// fixedToken is a well-formed token that belongs to nothing. Probes use one
// fixed value so that two requests differ only in their address.
var fixedToken = strings.Repeat("A", 43)

var addressSeq atomic.Int64

// newAddress returns a fresh address. All have the same length, so a page
// that shows the typed address again has the same length for each.
func newAddress() string {
	return fmt.Sprintf("user%06d@example.com", addressSeq.Add(1))
}

// arranged returns a fresh address put into state.
func (h *harness) arranged(state accountstate.State) string {
	h.t.Helper()
	email := newAddress()
	if err := accountstate.Arrange(context.Background(), h.store, h.hasher, state, email, arrangedPassword); err != nil {
		h.t.Fatal(err)
	}
	return email
}

// jsonBody encodes fields as a JSON object.
func jsonBody(fields map[string]string) string {
	b, err := json.Marshal(fields)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// probe is one request to one endpoint, made for an address.
type probe struct {
	name string
	want int       // status for every account state
	mode flow.Mode // "" for both modes
	// about says whether the request carries the address; the others get
	// the same request for both states and guard against answers that
	// depend on what else is stored.
	about bool
	run   func(h *harness, email string) reply
}

// registerFields returns a valid sign-up for email in the server's mode.
func (h *harness) registerFields(email string) map[string]string {
	f := map[string]string{"email": email}
	if h.svc.Mode() == flow.FullForm {
		f["password"], f["password_confirm"] = chosenPassword, chosenPassword
	}
	return f
}

func apiProbe(name string, want int, mode flow.Mode, path string, body func(h *harness, email string) map[string]string) probe {
	return probe{name: "POST " + path + " " + name, want: want, mode: mode, about: true, run: func(h *harness, email string) reply {
		return h.browser().postJSON(path, jsonBody(body(h, email)))
	}}
}

func formProbe(name string, want int, mode flow.Mode, page, path string, body func(h *harness, email string) map[string]string) probe {
	return probe{name: "POST " + path + " (form) " + name, want: want, mode: mode, about: true, run: func(h *harness, email string) reply {
		b := h.browser()
		b.get(page)
		vals := url.Values{}
		for k, v := range body(h, email) {
			vals.Set(k, v)
		}
		return b.postForm(path, vals)
	}}
}

func getProbe(path string, want int) probe {
	return probe{name: "GET " + path, want: want, run: func(h *harness, _ string) reply {
		return h.browser().get(path)
	}}
}

func fixedPost(path string, want int, page string, fields map[string]string) probe {
	p := formProbe("", want, "", page, path, func(*harness, string) map[string]string { return fields })
	p.about = false
	return p
}

func fixedAPI(path string, want int, fields map[string]string) probe {
	p := apiProbe("", want, "", path, func(*harness, string) map[string]string { return fields })
	p.about = false
	return p
}

func deleteProbe(path string, want int) probe {
	return probe{name: "DELETE " + path, want: want, run: func(h *harness, _ string) reply {
		return h.browser().delete(path)
	}}
}

// emailChangeProbe asks, as a freshly signed-in account with its right
// password, to move to the address the probe is about: one taken by an
// account in some state against one that is free, and so on. Each request
// has its own requester, so no requester's limits come into play.
func emailChangeProbe(name string, want int, form bool, password string) probe {
	path := "/api/email/change"
	if form {
		path = "/account/email"
	}
	return probe{name: "POST " + path + " " + name, want: want, about: true, run: func(h *harness, email string) reply {
		b := h.browser()
		b.signIn(h.arranged(accountstate.Verified), arrangedPassword)
		if !form {
			return b.postJSON(path, jsonBody(map[string]string{"email": email, "password": password}))
		}
		b.get("/account")
		return b.postForm(path, url.Values{"email": {email}, "password": {password}})
	}}
}

func probes() []probe {
	valid := func(h *harness, e string) map[string]string { return h.registerFields(e) }
	short := func(_ *harness, e string) map[string]string {
		return map[string]string{"email": e, "password": "short", "password_confirm": "short"}
	}
	mismatch := func(_ *harness, e string) map[string]string {
		return map[string]string{"email": e, "password": chosenPassword, "password_confirm": chosenPassword + "x"}
	}
	email := func(_ *harness, e string) map[string]string { return map[string]string{"email": e} }
	wrong := func(_ *harness, e string) map[string]string {
		return map[string]string{"email": e, "password": wrongPassword}
	}
	empty := func(_ *harness, e string) map[string]string { return map[string]string{"email": e, "password": ""} }
	tokenPw := map[string]string{"token": fixedToken, "password": chosenPassword, "password_confirm": chosenPassword}

	return []probe{
		// JSON API, about an address.
		apiProbe("valid", 202, "", "/api/register", valid),
		apiProbe("too short", 422, flow.FullForm, "/api/register", short),
		apiProbe("mismatch", 422, flow.FullForm, "/api/register", mismatch),
		apiProbe("", 202, "", "/api/verify/resend", email),
		apiProbe("wrong password", 401, "", "/api/login", wrong),
		apiProbe("empty password", 422, "", "/api/login", empty),
		// Forms, about an address.
		formProbe("valid", 303, "", "/register", "/register", valid),
		formProbe("too short", 422, flow.FullForm, "/register", "/register", short),
		formProbe("mismatch", 422, flow.FullForm, "/register", "/register", mismatch),
		formProbe("", 303, "", "/verify/resend", "/verify/resend", email),
		formProbe("wrong password", 401, "", "/login", "/login", wrong),
		formProbe("empty password", 422, "", "/login", "/login", empty),
		// Password reset and email change, about an address.
		apiProbe("", 202, "", "/api/password/forgot", email),
		formProbe("", 303, "", "/password/forgot", "/password/forgot", email),
		emailChangeProbe("to the address", 202, false, arrangedPassword),
		emailChangeProbe("to the address, wrong password", 401, false, wrongPassword),
		emailChangeProbe("to the address", 303, true, arrangedPassword),
		// Everything else, with the same request for both addresses.
		fixedAPI("/api/register/complete", 400, tokenPw),
		fixedAPI("/api/verify", 400, map[string]string{"token": fixedToken, "password": chosenPassword}),
		fixedAPI("/api/logout", 204, nil),
		fixedPost("/register/complete", 400, "/register/complete?token="+fixedToken, tokenPw),
		fixedPost("/verify", 400, "/verify?token="+fixedToken, map[string]string{"token": fixedToken, "password": chosenPassword}),
		fixedPost("/logout", 303, "/logout", nil),
		fixedAPI("/api/password/reset", 400, tokenPw),
		fixedPost("/password/reset", 400, "/password/forgot", tokenPw),
		fixedAPI("/api/email/confirm", 400, map[string]string{"token": fixedToken}),
		fixedPost("/email/confirm", 400, "/email/confirm?token="+fixedToken, map[string]string{"token": fixedToken}),
		// Session-bound endpoints without a session.
		fixedAPI("/api/password/change", 401, map[string]string{"current_password": wrongPassword, "password": chosenPassword, "password_confirm": chosenPassword}),
		fixedAPI("/api/email/change", 401, map[string]string{"email": "someone@example.com", "password": wrongPassword}),
		getProbe("/api/sessions", 401),
		deleteProbe("/api/sessions", 401),
		deleteProbe("/api/sessions/1", 401),
		fixedPost("/account/password", 303, "/login", map[string]string{"current_password": wrongPassword}),
		fixedPost("/account/email", 303, "/login", map[string]string{"email": "someone@example.com", "password": wrongPassword}),
		fixedPost("/account/sessions/end", 303, "/login", map[string]string{"session": "1"}),
		fixedPost("/account/sessions/end-others", 303, "/login", nil),
		// The second step of a sign-in without a challenge, and the MFA
		// set-up without a session.
		fixedAPI("/api/login/mfa", 401, map[string]string{"code": "123456"}),
		fixedPost("/login/mfa", 401, "/login/mfa", map[string]string{"code": "123456"}),
		fixedAPI("/api/mfa/totp/setup", 401, nil),
		fixedAPI("/api/mfa/totp/enable", 401, map[string]string{"code": "123456"}),
		fixedAPI("/api/mfa/totp/disable", 401, map[string]string{"password": wrongPassword}),
		fixedAPI("/api/mfa/recovery-codes", 401, map[string]string{"password": wrongPassword}),
		fixedPost("/account/mfa/setup", 303, "/login", nil),
		fixedPost("/account/mfa/enable", 303, "/login", map[string]string{"code": "123456"}),
		fixedPost("/account/mfa/disable", 303, "/login", map[string]string{"password": wrongPassword}),
		fixedPost("/account/mfa/recovery-codes", 303, "/login", map[string]string{"password": wrongPassword}),
		getProbe("/account/mfa/qr.png", 303),
		getProbe("/login/mfa", 200),
		getProbe("/login/mfa?recovery=1", 200),
		getProbe("/api/session", 401),
		getProbe("/auth/check", 401),
		getProbe("/", 200),
		getProbe("/register", 200),
		getProbe("/register/sent", 200),
		getProbe("/register/complete?token="+fixedToken, 400),
		getProbe("/verify?token="+fixedToken, 400),
		getProbe("/verify/resend", 200),
		getProbe("/verify/sent", 200),
		getProbe("/login", 200),
		getProbe("/logout", 200),
		getProbe("/account", 303),
		getProbe("/password/forgot", 200),
		getProbe("/password/forgot/sent", 200),
		getProbe("/password/reset?token="+fixedToken, 400),
		getProbe("/password/reset/done", 200),
		getProbe("/email/confirm?token="+fixedToken, 200),
		getProbe("/email/confirm/done", 200),
		getProbe("/static/style.css", 200),
		getProbe("/static/tacit.js", 200),
		getProbe("/no/such/page", 404),
	}
}

// TestUniformAcrossAccountStates is the HTTP level of docs/DESIGN.md §5: for
// every endpoint and every pair of account states, the answers for an
// address in one state and an address in the other are identical. The dev
// mailbox is left out: it is the inbox, whose contents differ by design.
func TestUniformAcrossAccountStates(t *testing.T) {
	for _, mode := range []flow.Mode{flow.EmailFirst, flow.FullForm} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			// Passkeys on, so an account with a passkey is one.
			h := newHarness(t, options{mode: mode, passkeys: true})
			for _, pair := range accountstate.Pairs() {
				t.Run(string(pair[0])+"_vs_"+string(pair[1]), func(t *testing.T) {
					h.t = t
					runProbes(t, h, pair[0], pair[1])
				})
			}
		})
	}
}

func runProbes(t *testing.T, h *harness, sa, sb accountstate.State) {
	// Addresses for the requests that do not carry one: what is stored
	// must not change their answers either.
	fa, fb := h.arranged(sa), h.arranged(sb)
	for _, p := range probes() {
		if p.mode != "" && p.mode != h.svc.Mode() {
			continue
		}
		ea, eb := fa, fb
		if p.about {
			ea, eb = h.arranged(sa), h.arranged(sb)
		}
		ra, rb := p.run(h, ea), p.run(h, eb)
		if ra.StatusCode != p.want || rb.StatusCode != p.want {
			t.Errorf("%s: status %d (%s) and %d (%s), want %d", p.name, ra.StatusCode, sa, rb.StatusCode, sb, p.want)
		}
		sameResponse(t, fmt.Sprintf("%s [%s vs %s]", p.name, sa, sb), ra, rb, ea, eb)
	}
}

// The probes must be able to tell states apart when the server leaks:
// the right password for a verified account signs in, and the comparison
// says so.
func TestUniformProbeSeesDifference(t *testing.T) {
	h := newHarness(t, options{})
	a, b := h.arranged(accountstate.Verified), h.arranged(accountstate.None)
	login := func(e string) reply {
		return h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": e, "password": arrangedPassword}))
	}
	ra, rb := login(a), login(b)
	sa := normalise(ra.Response, ra.body, map[string]string{a: "<email>"})
	sb := normalise(rb.Response, rb.body, map[string]string{b: "<email>"})
	if ra.StatusCode != http.StatusOK || rb.StatusCode != http.StatusUnauthorized {
		t.Fatalf("statuses %d, %d; want 200, 401", ra.StatusCode, rb.StatusCode)
	}
	if diffSnapshots(sa, sb) == "" {
		t.Fatal("a signed-in answer and a refused one compare equal")
	}
}

// ownerSignIn signs browser b in to email through the JSON API, with the
// second step when the account has MFA on, and fails the test unless that
// works.
func (h *harness) ownerSignIn(t *testing.T, b *browser, email, password string) {
	t.Helper()
	r := b.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": password}))
	if r.StatusCode == http.StatusOK && strings.Contains(r.text(), "mfa_required") {
		if opt := b.postJSON("/api/login/mfa/passkey/options", ""); opt.StatusCode == http.StatusOK {
			cred, err := h.authenticator().Get(opt.body, accountstate.Passkey(email), passkeytest.Honest)
			if err != nil {
				t.Fatal(err)
			}
			r = b.postJSON("/api/login/mfa/passkey", withCredential(nil, cred))
		} else {
			r = b.postJSON("/api/login/mfa", codeBody(h.code(accountstate.TOTPSecret, 0)))
		}
	}
	if r.StatusCode != http.StatusOK || b.session() == "" {
		t.Fatalf("owner's sign-in to %s: %d %s", email, r.StatusCode, r.text())
	}
}

// TestUniformBetweenOutsiderRequests is the HTTP level of the flow test of
// the same name: an outsider, from fresh browsers, fails
// accountstate.OutsiderFailures sign-ins about an address in each state;
// something happens in between (the owner signs in from a browser that
// signed in before or from a new one, resets the password, changes it,
// or the counter table fills up); the outsider tries again. Every response
// must equal, addresses masked, the one for an address without an
// account, and the sequence must be the expected one.
func TestUniformBetweenOutsiderRequests(t *testing.T) {
	const newPassword = "owner's new one 1"
	afterFailures := []step{badLogin, tooMany("2"), tooMany("2"), badLogin, tooMany("4"), tooMany("4")}
	full := repeat(6, tooMany("60"))
	for _, between := range accountstate.AllBetween {
		t.Run(string(between), func(t *testing.T) {
			h := newHarness(t, options{frozen: true, passkeys: true})
			emails := map[accountstate.State]string{}
			owners := map[accountstate.State]*browser{}
			for _, s := range accountstate.All {
				emails[s] = h.arranged(s)
				if s.Live() {
					owners[s] = h.browser()
					h.ownerSignIn(t, owners[s], emails[s], arrangedPassword)
				}
			}
			h.nextStep() // a fresh TOTP step for the owners' next sign-in

			var got []step
			try := func(n int) {
				t.Helper()
				for range n {
					login := func(e string) reply {
						return h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": e, "password": wrongPassword}))
					}
					none := login(emails[accountstate.None])
					for _, s := range accountstate.All[1:] {
						sameResponse(t, fmt.Sprintf("outsider's sign-in #%d [%s vs none]", len(got)+1, s), login(emails[s]), none, emails[s], emails[accountstate.None])
					}
					got = append(got, step{none.StatusCode, none.Header.Get("Retry-After"), none.text()})
				}
			}
			try(accountstate.OutsiderFailures)
			h.skew.Add(int64(2 * time.Second))

			switch between {
			case accountstate.OwnerSignedIn:
				for s, b := range owners {
					h.ownerSignIn(t, b, emails[s], arrangedPassword)
				}
			case accountstate.OwnerSignedInNewDevice:
				for s := range owners {
					h.ownerSignIn(t, h.browser(), emails[s], arrangedPassword)
				}
			case accountstate.OwnerReset:
				for _, s := range accountstate.All {
					wantStatus(t, "forgot", h.browser().postJSON("/api/password/forgot", jsonBody(map[string]string{"email": emails[s]})), 202, "")
				}
				h.deliver()
				for s, b := range owners {
					if s == accountstate.MailSpent {
						// The outsider spent the address's mail
						// allowance: no reset link reaches the owner
						// within the hour, as for any address.
						continue
					}
					token := mailboxLink(t, h, emails[s], "/password/reset")
					r := b.postJSON("/api/password/reset", jsonBody(map[string]string{"token": token, "password": newPassword, "password_confirm": newPassword}))
					wantStatus(t, "owner's reset", r, 204, "")
					h.ownerSignIn(t, b, emails[s], newPassword)
				}
			case accountstate.OwnerChangedPassword:
				for _, b := range owners {
					r := b.postJSON("/api/password/change", jsonBody(map[string]string{
						"current_password": arrangedPassword, "password": newPassword, "password_confirm": newPassword,
					}))
					wantStatus(t, "owner's password change", r, 204, "")
				}
			case accountstate.CounterTableFull:
				testenv.FillCounterTable(t, h.store, h.svc, time.Now().Add(time.Duration(h.skew.Load())), 20)
			}

			try(3)
			h.skew.Add(int64(3 * time.Second))
			try(3)
			want := seq(repeat(accountstate.OutsiderFailures, badLogin), afterFailures)
			if between == accountstate.CounterTableFull {
				want = seq(repeat(accountstate.OutsiderFailures, badLogin), full)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("outsider's sequence\n got %v\nwant %v", got, want)
			}
		})
	}
}

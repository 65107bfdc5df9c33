package web

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/pow"
	"github.com/tacitauth/tacit/internal/testenv"
)

// testProofCost keeps the tests' challenges cheap to solve.
const testProofCost = 500

// proofRequiredBody is the one JSON answer to a request without the proof
// it needed.
const proofRequiredBody = `{"error":"proof_required","fields":{"altcha":"required"}}` + "\n"

var proofAttr = regexp.MustCompile(`data-proof="([^"]*)"`)

// pageChallenge returns the challenge a page's form carries, if any.
func pageChallenge(t testing.TB, r reply) (pow.Challenge, bool) {
	t.Helper()
	m := proofAttr.FindSubmatch(r.body)
	if m == nil {
		return pow.Challenge{}, false
	}
	var c pow.Challenge
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &c); err != nil {
		t.Fatalf("page's challenge %q: %v", m[1], err)
	}
	return c, true
}

// solve returns the solution of c as a browser sends it.
func solve(t testing.TB, c pow.Challenge) string {
	t.Helper()
	n, ok := pow.Solve(c)
	if !ok {
		t.Fatalf("challenge %+v has no solution", c)
	}
	return pow.Encode(c, n)
}

// apiSolution fetches a challenge from GET /api/pow/challenge and solves
// it.
func (b *browser) apiSolution(t testing.TB) string {
	t.Helper()
	r := b.get("/api/pow/challenge")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/pow/challenge: %d %s", r.StatusCode, r.text())
	}
	var c pow.Challenge
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatal(err)
	}
	return solve(t, c)
}

// proofProbe is one request of a gate, made for an address, with or
// without solving the browser check.
type proofProbe struct {
	name string
	ok   int // the status when no proof is needed or one is given
	run  func(t testing.TB, h *harness, email string, solved bool) reply
}

func proofAPI(path string, ok int, fields func(email string) map[string]string) proofProbe {
	return proofProbe{"POST " + path, ok, func(t testing.TB, h *harness, email string, solved bool) reply {
		b := h.browser()
		f := fields(email)
		if solved {
			f[proofField] = b.apiSolution(t)
		}
		return b.postJSON(path, jsonBody(f))
	}}
}

func proofForm(path string, ok int, fields func(email string) map[string]string) proofProbe {
	return proofProbe{"POST " + path + " (form)", ok, func(t testing.TB, h *harness, email string, solved bool) reply {
		b := h.browser()
		page := b.get(path)
		vals := url.Values{}
		for k, v := range fields(email) {
			vals.Set(k, v)
		}
		if solved {
			c, ok := pageChallenge(t, page)
			if !ok {
				// No check on the page: the client does not need one
				// yet. Ask the API for one all the same, as a page
				// shown earlier may have.
				vals.Set(proofField, b.apiSolution(t))
			} else {
				vals.Set(proofField, solve(t, c))
			}
		}
		return b.postForm(path, vals)
	}}
}

func proofProbes() []proofProbe {
	email := func(e string) map[string]string { return map[string]string{"email": e} }
	wrong := func(e string) map[string]string { return map[string]string{"email": e, "password": wrongPassword} }
	get := func(path string) proofProbe {
		return proofProbe{"GET " + path, 200, func(_ testing.TB, h *harness, _ string, _ bool) reply { return h.browser().get(path) }}
	}
	return []proofProbe{
		proofAPI("/api/register", 202, email),
		proofAPI("/api/verify/resend", 202, email),
		proofAPI("/api/password/forgot", 202, email),
		proofAPI("/api/login", 401, wrong),
		proofForm("/register", 303, email),
		proofForm("/verify/resend", 303, email),
		proofForm("/password/forgot", 303, email),
		proofForm("/login", 401, wrong),
		get("/register"),
		get("/verify/resend"),
		get("/password/forgot"),
		get("/login"),
	}
}

// TestProofUniform: with the browser check in every mode, each request
// of the gated flows, sent without a proof and with a good one, by a
// fresh client and by one that has spent its soft limit, answers an
// address in any account state exactly as one without an account: the
// check's presence, its cost and its refusal depend on the client and the
// settings alone.
func TestProofUniform(t *testing.T) {
	tight := func() *flow.Limits {
		l := testenv.RoomyLimits()
		// Two requests reach the soft limit; the delay past it is too
		// short to matter once the clock is moved on (skew).
		soft := flow.Limit{Free: 2, Delay: time.Millisecond, MaxDelay: time.Millisecond, Window: time.Hour}
		l.RequestsIP, l.LoginIP = soft, soft
		return l
	}
	cases := []struct {
		name    string
		mode    flow.ProofMode
		spent   bool // the client spends its soft limits first
		solved  bool
		refused bool // every gated post is answered 428
		widget  bool // the forms carry the check
	}{
		{"off", flow.ProofOff, false, false, false, false},
		{"off, limit spent", flow.ProofOff, true, false, false, false},
		{"on_limit, fresh client", flow.ProofOnLimit, false, false, false, false},
		{"on_limit, fresh client, solved", flow.ProofOnLimit, false, true, false, false},
		{"on_limit, limit spent", flow.ProofOnLimit, true, false, true, true},
		{"on_limit, limit spent, solved", flow.ProofOnLimit, true, true, false, true},
		{"always", flow.ProofAlways, false, false, true, true},
		{"always, solved", flow.ProofAlways, false, true, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := options{proof: tc.mode, proofCost: testProofCost, frozen: true}
			if tc.spent {
				o.limits = tight()
			}
			h := newHarness(t, o)
			if tc.spent {
				for i := range 2 {
					wantStatus(t, "spending", h.browser().postJSON("/api/register", jsonBody(map[string]string{"email": fmt.Sprintf("spend%d@example.com", i)})), 202, "")
					wantStatus(t, "spending", h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": fmt.Sprintf("spend%d@example.com", i), "password": wrongPassword})), 401, "")
				}
			}
			for _, s := range accountstate.All[1:] {
				for _, p := range proofProbes() {
					h.skew.Add(int64(time.Second))
					ea, en := h.arranged(s), h.arranged(accountstate.None)
					ra := p.run(t, h, ea, tc.solved)
					h.skew.Add(int64(time.Second))
					rn := p.run(t, h, en, tc.solved)
					want := p.ok
					if tc.refused && !strings.HasPrefix(p.name, "GET") {
						want = http.StatusPreconditionRequired
					}
					if ra.StatusCode != want || rn.StatusCode != want {
						t.Errorf("%s [%s vs none]: %d and %d, want %d", p.name, s, ra.StatusCode, rn.StatusCode, want)
					}
					if want == http.StatusPreconditionRequired && strings.HasPrefix(p.name, "POST /api/") && rn.text() != proofRequiredBody {
						t.Errorf("%s: body %q, want %q", p.name, rn.text(), proofRequiredBody)
					}
					if strings.HasPrefix(p.name, "GET") {
						if _, has := pageChallenge(t, rn); has != tc.widget {
							t.Errorf("%s: browser check on the form %v, want %v", p.name, has, tc.widget)
						}
					}
					sameResponse(t, fmt.Sprintf("%s [%s vs none]", p.name, s), ra, rn, ea, en)
				}
			}
		})
	}
}

// proofHarness is a server that asks every request for a proof.
func proofHarness(t *testing.T) *harness {
	return newHarness(t, options{proof: flow.ProofAlways, proofCost: testProofCost, frozen: true})
}

// TestProofReplayRefused: a solution is good for one request; sent again,
// to the same endpoint or another, it is refused like no solution.
func TestProofReplayRefused(t *testing.T) {
	h := proofHarness(t)
	b := h.browser()
	sol := b.apiSolution(t)
	body := func(email string) string { return jsonBody(map[string]string{"email": email, proofField: sol}) }
	wantStatus(t, "first use", b.postJSON("/api/register", body("first@example.com")), 202, "")
	r := b.postJSON("/api/register", body("second@example.com"))
	wantStatus(t, "replayed", r, 428, "")
	if r.text() != proofRequiredBody {
		t.Errorf("replayed: body %q", r.text())
	}
	wantStatus(t, "replayed elsewhere", h.browser().postJSON("/api/password/forgot", body("first@example.com")), 428, "")
	// A form's solution is spent alike.
	page := b.get("/register")
	c, ok := pageChallenge(t, page)
	if !ok {
		t.Fatal("no check on the sign-up form")
	}
	vals := url.Values{"email": {"third@example.com"}, proofField: {solve(t, c)}}
	wantStatus(t, "form, first use", b.postForm("/register", vals), 303, "")
	b.get("/register")
	again := b.postForm("/register", vals)
	wantStatus(t, "form, replayed", again, 428, "")
	if !strings.Contains(again.text(), "quick check") {
		t.Errorf("form refused without saying why: %s", again.text())
	}
	if _, ok := pageChallenge(t, again); !ok {
		t.Error("the form shown again has no new check")
	}
}

// TestProofExpiredRefused: a challenge solved after its expiry is refused.
func TestProofExpiredRefused(t *testing.T) {
	h := proofHarness(t)
	b := h.browser()
	sol := b.apiSolution(t)
	h.skew.Add(int64(flow.ProofTTL))
	wantStatus(t, "expired", b.postJSON("/api/register", jsonBody(map[string]string{"email": "late@example.com", proofField: sol})), 428, "")
	h.skew.Add(-int64(time.Second))
	wantStatus(t, "a second before expiry", b.postJSON("/api/register", jsonBody(map[string]string{"email": "late@example.com", proofField: sol})), 202, "")
}

// TestProofForgedRefused: a solution whose signature is not this server's
// (edited, or from another server's key) or whose number is wrong is
// refused like none, and a malformed one likewise.
func TestProofForgedRefused(t *testing.T) {
	h, other := proofHarness(t), proofHarness(t)
	b := h.browser()
	edit := func(f func(p *pow.Payload)) string {
		p, err := pow.Parse(b.apiSolution(t))
		if err != nil {
			t.Fatal(err)
		}
		f(&p)
		return pow.Encode(pow.Challenge{Algorithm: p.Algorithm, Challenge: p.Challenge, Salt: p.Salt, Signature: p.Signature}, p.Number)
	}
	for name, sol := range map[string]string{
		"another server's": other.browser().apiSolution(t),
		"signature edited": edit(func(p *pow.Payload) { p.Signature = strings.Repeat("0", 64) }),
		"wrong number":     edit(func(p *pow.Payload) { p.Number++ }),
		"later expiry":     edit(func(p *pow.Payload) { p.Salt = strings.Replace(p.Salt, "?expires=", "?expires=9", 1) }),
		"malformed":        "not base64 at all",
		"empty":            "",
	} {
		r := b.postJSON("/api/register", jsonBody(map[string]string{"email": "forger@example.com", proofField: sol}))
		wantStatus(t, name, r, 428, "")
		if r.text() != proofRequiredBody {
			t.Errorf("%s: body %q", name, r.text())
		}
	}
	// The field must be a string, like every member.
	wantStatus(t, "number", b.postJSON("/api/register", `{"email":"forger@example.com","altcha":1}`), 400, "")
}

// TestProofChallengeEndpoint: GET /api/pow/challenge is ALTCHA's
// challenge at the configured cost, never cached, new each time.
func TestProofChallengeEndpoint(t *testing.T) {
	h := proofHarness(t)
	r1, r2 := h.browser().get("/api/pow/challenge"), h.browser().get("/api/pow/challenge")
	wantStatus(t, "challenge", r1, 200, "")
	if cc := r1.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	var c map[string]any
	if err := json.Unmarshal(r1.body, &c); err != nil {
		t.Fatal(err)
	}
	if c["algorithm"] != "SHA-256" || c["maxnumber"] != float64(testProofCost) || len(c) != 5 ||
		!strings.Contains(fmt.Sprint(c["salt"]), "?expires=") || len(fmt.Sprint(c["signature"])) != 64 {
		t.Errorf("challenge %v", c)
	}
	if r1.text() == r2.text() {
		t.Error("two challenges are the same")
	}
}

// TestProofFormAccessible: a form that needs the check says so without
// script (noscript), has a live status line for the script's progress,
// and keeps an ordinary submit button; one that needs none has none of
// it.
func TestProofFormAccessible(t *testing.T) {
	on, off := proofHarness(t), newHarness(t, options{proof: flow.ProofOff})
	for _, path := range []string{"/register", "/verify/resend", "/password/forgot", "/login"} {
		page := on.browser().get(path).text()
		for _, want := range []string{
			`<noscript><p class="notice notice-error">This form needs a quick check`,
			`role="status" aria-live="polite" data-proof-status`,
			`<input type="hidden" name="altcha" value="">`,
			`data-proof-worker="/static/pow-worker.js?v=`,
			`<button type="submit">`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: page lacks %q", path, want)
			}
		}
		if plain := off.browser().get(path).text(); strings.Contains(plain, "data-proof") || strings.Contains(plain, "noscript") {
			t.Errorf("%s: check shown with pow off", path)
		}
	}
	w := on.browser().get("/static/pow-worker.js")
	wantStatus(t, "worker", w, 200, "")
	if ct := w.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("worker Content-Type %q", ct)
	}
}

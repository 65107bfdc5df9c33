package flow_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/pow"
)

// proofEnv is an env asking for proofs in mode, at a cheap cost.
func proofEnv(t *testing.T, mode flow.ProofMode, configure ...func(*flow.Config)) *env {
	return newEnv(t, flow.EmailFirst, append([]func(*flow.Config){func(c *flow.Config) {
		c.Proof, c.ProofCost = mode, 300
	}}, configure...)...)
}

// solution returns a solved challenge of e's service.
func (e *env) solution() string {
	e.t.Helper()
	c, err := e.svc.ProofChallenge()
	if err != nil {
		e.t.Fatal(err)
	}
	n, ok := pow.Solve(c)
	if !ok {
		e.t.Fatal("unsolvable challenge")
	}
	return pow.Encode(c, n)
}

// TestProofGates: each gated flow, in each mode, answers ProofRequired
// exactly when the mode and the client's own count ask for a proof and
// none good is given; what the address is never enters into it.
func TestProofGates(t *testing.T) {
	ctx := context.Background()
	gated := map[string]func(e *env, email string, c flow.Client) (tacit.Outcome, error){
		"register": func(e *env, email string, c flow.Client) (tacit.Outcome, error) {
			return e.svc.Register(ctx, flow.RegisterInput{Email: email}, c)
		},
		"resend": func(e *env, email string, c flow.Client) (tacit.Outcome, error) {
			return e.svc.ResendVerification(ctx, email, c)
		},
		"forgot": func(e *env, email string, c flow.Client) (tacit.Outcome, error) {
			return e.svc.ForgotPassword(ctx, email, c)
		},
		"login": func(e *env, email string, c flow.Client) (tacit.Outcome, error) {
			return e.svc.Login(ctx, email, "wrong password 1", c)
		},
	}
	passed := map[string]tacit.OutcomeKind{"register": tacit.CheckInbox, "resend": tacit.CheckInbox, "forgot": tacit.CheckInbox, "login": tacit.InvalidCredentials}
	for _, mode := range []flow.ProofMode{flow.ProofOff, flow.ProofOnLimit, flow.ProofAlways} {
		for name, run := range gated {
			t.Run(string(mode)+"/"+name, func(t *testing.T) {
				e := proofEnv(t, mode, func(c *flow.Config) {
					l := flow.DefaultLimits()
					l.RequestsIP = flow.Limit{Free: 2, Delay: time.Millisecond, MaxDelay: time.Millisecond, Window: time.Hour}
					l.LoginIP = l.RequestsIP
					c.Limits = &l
				})
				c := flow.Client{IP: "192.0.2.7"}
				for i := range 4 {
					e.clock.Advance(time.Second)
					// Past the soft limit (2 counted requests) on_limit
					// asks too; a request with no proof is not counted.
					need := mode == flow.ProofAlways || (mode == flow.ProofOnLimit && i >= 2)
					o := e.ok(run(e, fmt.Sprintf("user%d@example.com", i), c))
					if want := map[bool]tacit.OutcomeKind{true: tacit.ProofRequired, false: passed[name]}[need]; o.Kind != want {
						t.Fatalf("request %d without a proof: %v, want %v", i+1, o.Kind, want)
					}
					if need {
						with := c
						with.Proof = e.solution()
						wantKind(t, e.ok(run(e, fmt.Sprintf("user%d@example.com", i), with)), passed[name])
					}
				}
				// Another client is asked only if the mode asks everyone.
				o := e.ok(run(e, "other@example.com", flow.Client{IP: "192.0.2.8"}))
				if want := map[bool]tacit.OutcomeKind{true: tacit.ProofRequired, false: passed[name]}[mode == flow.ProofAlways]; o.Kind != want {
					t.Fatalf("another client: %v, want %v", o.Kind, want)
				}
			})
		}
	}
}

// TestProofSpentOnce: a good proof serves one request; expired or from
// another service it serves none.
func TestProofSpentOnce(t *testing.T) {
	ctx := context.Background()
	e, other := proofEnv(t, flow.ProofAlways), proofEnv(t, flow.ProofAlways)
	sol := e.solution()
	c := flow.Client{IP: "192.0.2.9", Proof: sol}
	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "a@example.com"}, c)), tacit.CheckInbox)
	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "b@example.com"}, c)), tacit.ProofRequired)
	wantKind(t, e.ok(e.svc.Login(ctx, "a@example.com", "some password 1", c)), tacit.ProofRequired)

	late := flow.Client{IP: "192.0.2.9", Proof: e.solution()}
	e.clock.Advance(flow.ProofTTL)
	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "c@example.com"}, late)), tacit.ProofRequired)

	foreign := flow.Client{IP: "192.0.2.9", Proof: other.solution()}
	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "d@example.com"}, foreign)), tacit.ProofRequired)
}

func TestParseProofMode(t *testing.T) {
	for _, s := range []string{"off", "on_limit", "always"} {
		if m, err := flow.ParseProofMode(s); err != nil || string(m) != s {
			t.Errorf("ParseProofMode(%q) = %q, %v", s, m, err)
		}
	}
	if _, err := flow.ParseProofMode("sometimes"); err == nil {
		t.Error("ParseProofMode accepted sometimes")
	}
}

// TestProofSplicedNotReplayed: an attacker who moves leading digits of
// the number onto the end of the salt keeps the hash, and so the
// signature, but makes the salt's expires read centuries ahead. Spent
// once as solved, the record of it is purged at the real expiry; the
// spliced copy must not serve again then, nor be kept for later use.
func TestProofSplicedNotReplayed(t *testing.T) {
	ctx := context.Background()
	e := proofEnv(t, flow.ProofAlways, func(c *flow.Config) { c.ProofCost = 100_000 })
	var sol, spliced string
	for spliced == "" {
		sol = e.solution()
		raw, _ := base64.StdEncoding.DecodeString(sol)
		var p map[string]any
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		digits := strconv.FormatInt(int64(p["number"].(float64)), 10)
		if len(digits) < 2 {
			continue
		}
		p["salt"] = p["salt"].(string) + digits[:len(digits)-1]
		p["number"], _ = strconv.Atoi(digits[len(digits)-1:])
		b, _ := json.Marshal(p)
		spliced = base64.StdEncoding.EncodeToString(b)
	}
	c := flow.Client{IP: "192.0.2.9", Proof: sol}
	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "a@example.com"}, c)), tacit.CheckInbox)
	e.clock.Advance(flow.ProofTTL + time.Minute)
	if err := e.store.Purge(ctx, e.clock.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	c.Proof = spliced
	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "b@example.com"}, c)), tacit.ProofRequired)
	wantKind(t, e.ok(e.svc.Login(ctx, "a@example.com", "some password 1", c)), tacit.ProofRequired)
}

// TestProofCheaperCostRefused: challenges are stateless and free to
// fetch, so an attacker can hoard them. When the operator raises the cost
// (a restart, or another instance on the same database asking more), a
// solution to a challenge issued at the lower cost must not pass where
// the higher one is asked; one at the cost asked, or above, passes.
func TestProofCheaperCostRefused(t *testing.T) {
	ctx := context.Background()
	e := proofEnv(t, flow.ProofAlways) // cost 300
	cheap := e.solution()
	dear, err := flow.New(e.store, e.hasher, flow.Config{Mode: flow.EmailFirst, Links: tacit.Links{Base: base},
		Now: e.clock.Now, Proof: flow.ProofAlways, ProofCost: 3000})
	if err != nil {
		t.Fatal(err)
	}
	c := flow.Client{IP: "192.0.2.9", Proof: cheap}
	wantKind(t, e.ok(dear.Register(ctx, flow.RegisterInput{Email: "a@example.com"}, c)), tacit.ProofRequired)
	// Refused for its cost, not spent: the instance that asked for that
	// cost still takes it.
	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "a@example.com"}, c)), tacit.CheckInbox)

	ch, err := dear.ProofChallenge()
	if err != nil {
		t.Fatal(err)
	}
	n, ok := pow.Solve(ch)
	if !ok {
		t.Fatal("unsolvable challenge")
	}
	c.Proof = pow.Encode(ch, n)
	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "b@example.com"}, c)), tacit.CheckInbox)
}

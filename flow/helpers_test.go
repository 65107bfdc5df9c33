package flow_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/testenv"
)

// clock is a settable time source, so expiry can be tested without waiting.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	svc    *flow.Service
	store  tacit.Store
	hasher tacit.Hasher
	clock  *clock
	t      *testing.T
}

var base, _ = url.Parse("https://auth.example.com")

// newEnv returns flows over a fresh SQLite file, with fast hashing and no
// envelope; configure may change the flow configuration.
func newEnv(t *testing.T, mode flow.Mode, configure ...func(*flow.Config)) *env {
	t.Helper()
	db, h := testenv.SQLite(t), testenv.Hasher(t)
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	// Proofs of work off unless a test asks: the throttling tests see
	// 429s; proof_test.go sets the modes.
	cfg := flow.Config{Mode: mode, Links: tacit.Links{Base: base}, Now: c.Now, Proof: flow.ProofOff}
	for _, f := range configure {
		f(&cfg)
	}
	svc, err := flow.New(db, h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, store: db, hasher: h, clock: c, t: t}
}

// mails takes every queued mail out of the outbox, as a worker would, and
// returns them.
func (e *env) mails(t *testing.T) []tacit.Mail {
	t.Helper()
	ctx := context.Background()
	ms, err := e.store.ClaimMail(ctx, e.clock.Now().Add(time.Hour), time.Hour, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if err := e.store.MailSent(ctx, m.ID, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return ms
}

// linkToken returns the token in the one mail of the given kind sent to
// addr, failing the test if there is not exactly one.
func (e *env) linkToken(t *testing.T, addr string, kind tacit.MailKind) string {
	t.Helper()
	var found []string
	for _, m := range e.mails(t) {
		if m.To == addr && m.Kind == kind {
			found = append(found, m.Data["link"])
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s mail to %s, got %d", kind, addr, len(found))
	}
	u, err := url.Parse(found[0])
	if err != nil || u.Host != base.Host {
		t.Fatalf("link %q does not use the base URL", found[0])
	}
	return u.Query().Get("token")
}

// ok fails the test on a flow error and returns the outcome.
func (e *env) ok(o tacit.Outcome, err error) tacit.Outcome {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func wantKind(t *testing.T, o tacit.Outcome, kind tacit.OutcomeKind) {
	t.Helper()
	if o.Kind != kind {
		t.Fatalf("outcome = %+v, want %s", o, kind)
	}
	if (kind == tacit.SignedIn || kind == tacit.AccountCreated) != (o.Session != nil) {
		t.Fatalf("outcome %s with session %v", o.Kind, o.Session)
	}
}

func addr(s string) string { return strings.ReplaceAll(s, "_", "-") + "@example.com" }

// resetToken returns the token of the one reset mail to addr.
func (e *env) resetToken(t *testing.T, addr string) string {
	t.Helper()
	return e.linkToken(t, addr, tacit.MailResetPassword)
}

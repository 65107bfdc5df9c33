package flow_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// While recalibration moves the envelope, sign-ins for every kind of
// address (registered, disabled, unknown), interleaved in random order,
// wait for the one envelope in force at that moment, never less, and each
// feeds recalibration exactly once: what moves the envelope comes from
// all of them alike, so it cannot differ between them.
func TestRecalibratedEnvelopeSameForEveryAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const start = 20 * time.Millisecond
	e := newEnv(t, flow.EmailFirst, noClientLimit, func(c *flow.Config) {
		l := *c.Limits
		l.Login = flow.Limit{}
		c.Limits = &l
		c.Envelope = start
		c.RecalibrateEnvelope = true
	})
	arrange(t, e, accountstate.Verified, "owner@example.com")
	arrange(t, e, accountstate.Disabled, "disabled@example.com")
	addrs := []string{"owner@example.com", "disabled@example.com", "nobody@example.com"}
	go e.svc.RecalibrateEnvelope(ctx)

	seen := map[time.Duration]bool{}
	logins := 0
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for deadline := time.Now().Add(10 * time.Second); len(seen) < 4 && time.Now().Before(deadline); {
		for _, k := range r.Perm(len(addrs)) {
			before := e.svc.Envelope()
			t0 := time.Now()
			wantKind(t, e.ok(e.svc.Login(ctx, addrs[k], "wrong password", flow.Client{})), tacit.InvalidCredentials)
			took := time.Since(t0)
			after := e.svc.Envelope()
			logins++
			seen[before], seen[after] = true, true
			if took < min(before, after) {
				t.Fatalf("%s answered after %v, before the envelope in force (%v, then %v)", addrs[k], took, before, after)
			}
		}
	}
	if len(seen) < 4 {
		t.Fatalf("the envelope took only %d values in 10 s: recalibration did not run", len(seen))
	}
	if got := e.svc.ServedHashes(); got != min(logins, 256) {
		t.Fatalf("%d sign-ins gave recalibration %d hash times, want one each", logins, got)
	}
	t.Logf("%d sign-ins; envelope %v at start, %v now", logins, start, e.svc.Envelope())
}

// A fixed envelope stays fixed: RecalibrateEnvelope returns at once.
func TestFixedEnvelopeNotRecalibrated(t *testing.T) {
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) { c.Envelope = 20 * time.Millisecond })
	done := make(chan struct{})
	go func() { e.svc.RecalibrateEnvelope(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RecalibrateEnvelope still runs for a fixed envelope")
	}
	if got := e.svc.Envelope(); got != 20*time.Millisecond {
		t.Fatalf("envelope %v, want 20ms", got)
	}
}

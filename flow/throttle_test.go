package flow_test

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// arrangeAll puts one address per account state into e's store.
func arrangeAll(t *testing.T, e *env) {
	t.Helper()
	for _, s := range accountstate.All {
		if err := accountstate.Arrange(context.Background(), e.store, e.hasher, s, addr(string(s)), statePassword); err != nil {
			t.Fatal(err)
		}
	}
}

// sequences runs step n times for the address of every state, interleaved
// (all states' first request, then all second requests, …) and advancing
// the clock by tick after each round, and returns each state's outcomes.
func sequences(t *testing.T, e *env, n int, tick time.Duration, step func(email string) (tacit.Outcome, error)) map[accountstate.State][]tacit.Outcome {
	t.Helper()
	out := map[accountstate.State][]tacit.Outcome{}
	for i := 0; i < n; i++ {
		for _, s := range accountstate.All {
			o, err := step(addr(string(s)))
			if err != nil {
				t.Fatal(err)
			}
			o.Session = nil // only the right password gets one; not used here
			out[s] = append(out[s], o)
		}
		e.clock.Advance(tick)
	}
	return out
}

// sameSequences fails unless every state got the same sequence, and
// returns that sequence's kinds.
func sameSequences(t *testing.T, seqs map[accountstate.State][]tacit.Outcome) []tacit.Outcome {
	t.Helper()
	ref := seqs[accountstate.None]
	for _, s := range accountstate.All {
		if !reflect.DeepEqual(seqs[s], ref) {
			t.Errorf("%s got\n%v\nbut none got\n%v", s, seqs[s], ref)
		}
	}
	return ref
}

func kinds(os []tacit.Outcome) []tacit.OutcomeKind {
	var ks []tacit.OutcomeKind
	for _, o := range os {
		ks = append(ks, o.Kind)
	}
	return ks
}

// TestLoginThrottleUniform: fifteen wrong sign-ins in a row answer the same
// for an address in every state, throttled from the same attempt with the
// same Retry-After, and the lock mails only a live account's owner.
func TestLoginThrottleUniform(t *testing.T) {
	ctx := context.Background()
	// One test client speaks for six addresses: its own limit would hold
	// back whichever address comes last in a round.
	noClientLimit := func(c *flow.Config) {
		l := flow.DefaultLimits()
		l.LoginIP = flow.Limit{}
		c.Limits = &l
	}
	e := newEnv(t, flow.EmailFirst, noClientLimit)
	arrangeAll(t, e)
	// Back to back: after five failures each further attempt must wait.
	seqs := sequences(t, e, 15, 10*time.Millisecond, func(email string) (tacit.Outcome, error) {
		return e.svc.Login(ctx, email, "wrong password", flow.Client{IP: "192.0.2.9"})
	})
	ref := sameSequences(t, seqs)
	for i, o := range ref {
		want := tacit.InvalidCredentials
		if i >= 5 {
			want = tacit.Throttled
		}
		if o.Kind != want {
			t.Fatalf("attempt %d: %v, want %s (sequence %v)", i+1, o, want, kinds(ref))
		}
	}
	if ref[5].RetryAfter != time.Second-10*time.Millisecond {
		t.Errorf("first throttled attempt: Retry-After %v", ref[5].RetryAfter)
	}

	// Spaced out, the attempts reach the lock at the tenth failure.
	e2 := newEnv(t, flow.EmailFirst, noClientLimit)
	arrangeAll(t, e2)
	seqs = sequences(t, e2, 12, time.Minute, func(email string) (tacit.Outcome, error) {
		return e2.svc.Login(ctx, email, "wrong password", flow.Client{IP: "192.0.2.9"})
	})
	ref = sameSequences(t, seqs)
	if ref[9].Kind != tacit.InvalidCredentials || ref[10].Kind != tacit.Throttled || ref[10].RetryAfter != 14*time.Minute {
		t.Fatalf("spaced attempts: %v", ref)
	}
	got := map[string]tacit.MailKind{}
	for _, m := range e2.mails(t) {
		got[m.To] = m.Kind
	}
	for _, s := range accountstate.All {
		want := tacit.MailNone
		// A spent mail allowance does not silence the lock notice.
		if s == accountstate.Verified || s == accountstate.ResetPending || s == accountstate.MFAEnabled || s == accountstate.PasskeyEnabled || s == accountstate.MailSpent {
			want = tacit.MailAccountLocked
		}
		if got[addr(string(s))] != want {
			t.Errorf("%s: lock mail %q, want %q", s, got[addr(string(s))], want)
		}
	}

	// While locked even the right password is held back, alike for all.
	o := e2.ok(e2.svc.Login(ctx, addr("verified"), statePassword, flow.Client{IP: "192.0.2.10"}))
	if o.Kind != tacit.Throttled {
		t.Fatalf("right password while locked: %+v", o)
	}
}

// TestLockedAccountCanReset: reset works while sign-in is locked, and the
// new password signs in at once from the device that reset.
func TestLockedAccountCanReset(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	signIn(t, e, "lock@example.com")
	for i := 0; i < 10; i++ {
		e.ok(e.svc.Login(ctx, "lock@example.com", "wrong", flow.Client{}))
		e.clock.Advance(time.Minute)
	}
	wantKind(t, e.ok(e.svc.Login(ctx, "lock@example.com", statePassword, flow.Client{})), tacit.Throttled)
	e.mails(t)
	wantKind(t, e.ok(e.svc.ForgotPassword(ctx, "lock@example.com", flow.Client{})), tacit.CheckInbox)
	tok := e.resetToken(t, "lock@example.com")
	o := e.ok(e.svc.ResetPassword(ctx, flow.ResetInput{Token: tok, Password: "fresh start 42", PasswordConfirm: "fresh start 42"}, flow.Client{}))
	wantKind(t, o, tacit.Done)
	// The device that reset signs in past the lock with its device
	// token; the address itself stays locked, as it would for an
	// address without an account.
	wantKind(t, e.ok(e.svc.Login(ctx, "lock@example.com", "fresh start 42", flow.Client{Device: o.Device})), tacit.SignedIn)
	wantKind(t, e.ok(e.svc.Login(ctx, "lock@example.com", "fresh start 42", flow.Client{})), tacit.Throttled)
}

// TestRequestThrottleUniform: repeated sign-up, resend and reset requests
// are held back from the same request for every state.
func TestRequestThrottleUniform(t *testing.T) {
	ctx := context.Background()
	for name, step := range map[string]func(e *env) func(string) (tacit.Outcome, error){
		"register": func(e *env) func(string) (tacit.Outcome, error) {
			return func(email string) (tacit.Outcome, error) {
				return e.svc.Register(ctx, flow.RegisterInput{Email: email}, flow.Client{IP: "192.0.2.9"})
			}
		},
		"resend": func(e *env) func(string) (tacit.Outcome, error) {
			return func(email string) (tacit.Outcome, error) {
				return e.svc.ResendVerification(ctx, email, flow.Client{IP: "192.0.2.9"})
			}
		},
		"forgot": func(e *env) func(string) (tacit.Outcome, error) {
			return func(email string) (tacit.Outcome, error) {
				return e.svc.ForgotPassword(ctx, email, flow.Client{IP: "192.0.2.9"})
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, flow.EmailFirst, func(c *flow.Config) {
				l := flow.DefaultLimits()
				l.RequestsIP = flow.Limit{} // one client for six addresses
				c.Limits = &l
			})
			arrangeAll(t, e)
			ref := sameSequences(t, sequences(t, e, 5, time.Second, step(e)))
			want := []tacit.OutcomeKind{tacit.CheckInbox, tacit.CheckInbox, tacit.CheckInbox, tacit.Throttled, tacit.Throttled}
			if !reflect.DeepEqual(kinds(ref), want) {
				t.Fatalf("sequence %v, want %v", kinds(ref), want)
			}
			if ref[3].RetryAfter != 29*time.Second {
				t.Errorf("Retry-After %v", ref[3].RetryAfter)
			}
		})
	}
}

// TestClientThrottle: one client failing for many addresses is held back
// too, alike whatever the addresses.
func TestClientThrottle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) {
		l := flow.DefaultLimits()
		l.LoginIP = flow.Limit{Free: 3, Delay: time.Minute, Window: time.Hour}
		c.Limits = &l
	})
	for i, email := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
		o := e.ok(e.svc.Login(ctx, email, "wrong", flow.Client{IP: "198.51.100.1"}))
		if want := map[bool]tacit.OutcomeKind{true: tacit.Throttled, false: tacit.InvalidCredentials}[i == 3]; o.Kind != want {
			t.Fatalf("attempt %d: %v", i+1, o)
		}
	}
	// Another client is not affected.
	wantKind(t, e.ok(e.svc.Login(ctx, "a@example.com", "wrong", flow.Client{IP: "198.51.100.2"})), tacit.InvalidCredentials)
}

// TestParallelGuessesAreCounted: many simultaneous wrong passwords for one
// address get no more tries than sequential ones.
func TestParallelGuessesAreCounted(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	signIn(t, e, "par@example.com")
	var mu sync.Mutex
	count := map[tacit.OutcomeKind]int{}
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := e.svc.Login(ctx, "par@example.com", "wrong", flow.Client{IP: "192.0.2.1"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			count[o.Kind]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if count[tacit.InvalidCredentials] != 5 || count[tacit.Throttled] != 25 {
		t.Fatalf("outcomes %v, want 5 checked and 25 held back", count)
	}
}

// TestMailCapIsSilent: past the per-address mail cap, requests still say
// "check your inbox" but no more mail goes out.
func TestMailCapIsSilent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) {
		l := flow.DefaultLimits()
		l.Signup, l.RequestsIP = flow.Limit{}, flow.Limit{} // only the mail cap
		c.Limits = &l
	})
	for i := 0; i < 8; i++ {
		wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "cap@example.com"}, flow.Client{IP: "192.0.2.1"})), tacit.CheckInbox)
	}
	var sent, none int
	for _, m := range e.mails(t) {
		if m.Kind == tacit.MailNone {
			none++
		} else {
			sent++
		}
	}
	if sent != 5 || none != 3 {
		t.Fatalf("sent %d, suppressed %d; want 5 and 3", sent, none)
	}
}

func TestParseLimit(t *testing.T) {
	def := flow.DefaultLimits().Login
	l, err := flow.ParseLimit("free=3 lock=6 lock_for=5m", def)
	if err != nil || l.Free != 3 || l.Lock != 6 || l.LockFor != 5*time.Minute || l.Delay != def.Delay {
		t.Fatalf("ParseLimit = %+v, %v", l, err)
	}
	if back, err := flow.ParseLimit(def.String(), flow.Limit{}); err != nil || back != def {
		t.Fatalf("round trip %q = %+v, %v", def.String(), back, err)
	}
	if l, err := flow.ParseLimit("off", def); err != nil || l.Free != 0 || l.String() != "off" {
		t.Fatalf("off = %+v, %v", l, err)
	}
	for _, bad := range []string{"free", "free=x", "fre=3", "free=-1", "delay=soon", "free=5 lock=3", "free=1 window=0s"} {
		if _, err := flow.ParseLimit(bad, def); err == nil {
			t.Errorf("ParseLimit(%q) accepted", bad)
		}
	}
}

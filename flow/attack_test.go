package flow_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/passkeytest"
	"github.com/tacitauth/tacit/internal/testenv"
)

// noClientLimit switches the per-client sign-in limit off: one test
// client speaks for many addresses.
func noClientLimit(c *flow.Config) {
	l := flow.DefaultLimits()
	l.LoginIP, l.RequestsIP = flow.Limit{}, flow.Limit{}
	c.Limits = &l
}

// TestTrimKeepsLocks is an attack: lock a key, flood
// the counter table with fresh junk keys past its cap, let the trim run:
// the locked key must still be held back. For sign-in per address, the
// second step per account and sign-up per address.
func TestTrimKeepsLocks(t *testing.T) {
	ctx := context.Background()
	const maxKeys = 20
	cases := []struct {
		name string
		// lock locks the key under attack in e; probe asks again.
		lock  func(e *env)
		probe func(e *env) tacit.Outcome
	}{
		{
			name: "sign-in",
			lock: func(e *env) {
				arrange(t, e, accountstate.Verified, "victim@example.com")
				for range 10 {
					e.ok(e.svc.Login(ctx, "victim@example.com", "wrong", flow.Client{}))
					e.clock.Advance(time.Minute)
				}
			},
			probe: func(e *env) tacit.Outcome {
				return e.ok(e.svc.Login(ctx, "victim@example.com", statePassword, flow.Client{}))
			},
		},
		{
			name: "second step",
			lock: func(e *env) {
				_, _, _ = e.enrol("victim@example.com")
				for range 2 {
					ch := e.challenge("victim@example.com")
					for range 5 {
						e.loginMFA(ch, "000000")
						e.clock.Advance(time.Minute)
					}
				}
			},
			probe: func(e *env) tacit.Outcome {
				return e.loginMFA(e.challenge("victim@example.com"), "000000")
			},
		},
		{
			name: "sign-up",
			lock: func(e *env) {
				for range 10 {
					e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "victim@example.com"}, flow.Client{}))
					e.clock.Advance(15 * time.Minute)
				}
			},
			probe: func(e *env) tacit.Outcome {
				return e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "victim@example.com"}, flow.Client{}))
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, flow.EmailFirst, noClientLimit)
			c.lock(e)
			if o := c.probe(e); o.Kind != tacit.Throttled {
				t.Fatalf("after the lock: %+v, want throttled", o)
			}
			// Junk keys, each hit once, are newer than the lock.
			for i := range 2 * maxKeys {
				e.ok(e.svc.Login(ctx, fmt.Sprintf("junk%d@example.com", i), "wrong", flow.Client{}))
				e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: fmt.Sprintf("junk%d@example.com", i)}, flow.Client{}))
			}
			if _, err := e.store.TrimCounters(ctx, e.clock.Now(), maxKeys); err != nil {
				t.Fatal(err)
			}
			if o := c.probe(e); o.Kind != tacit.Throttled {
				t.Fatalf("after a flood and a trim: %+v, want still throttled", o)
			}
		})
	}
}

// arrange puts email into state in e's store.
func arrange(t *testing.T, e *env, state accountstate.State, email string) {
	t.Helper()
	if err := accountstate.Arrange(context.Background(), e.store, e.hasher, state, email, statePassword); err != nil {
		t.Fatal(err)
	}
}

// TestSecondStepGuessingStops is an attack: a thief
// with the password guesses codes for days, waiting out every hourly
// limit. At most flow.DefaultMFAFailureLock wrong codes may be tried;
// then even the right code is refused until a password reset, and the
// owner hears of it.
func TestSecondStepGuessingStops(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst, noClientLimit)
	_, secret, _ := e.enrol("owner@example.com")
	e.mails(t)
	tried := 0
	for range 400 {
		o := e.ok(e.svc.Login(ctx, "owner@example.com", statePassword, flow.Client{}))
		if o.Kind != tacit.MFARequired {
			e.clock.Advance(time.Hour)
			continue
		}
		ch := o.Challenge.Token
		for range flow.ChallengeFailures {
			o = e.loginMFA(ch, "000000")
			if o.Kind == tacit.InvalidCredentials {
				tried++
			}
			e.clock.Advance(30 * time.Second) // within the challenge's life
		}
		e.clock.Advance(time.Hour)
	}
	if tried > 100 {
		t.Fatalf("%d wrong codes tried over %d days; want at most 100", tried, int(e.clock.Now().Sub(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)).Hours()/24))
	}
	// Locked until a reset: the owner's right code is refused too.
	e.clock.Advance(30 * time.Second)
	if o := e.loginMFA(e.challenge("owner@example.com"), e.code(secret, 0)); o.Kind == tacit.SignedIn {
		t.Fatalf("right code after %d failures: %+v, want refused until a reset", tried, o)
	}
	if got := mailKinds(e.mails(t), "owner@example.com"); !reflect.DeepEqual(got, []tacit.MailKind{tacit.MailMFALocked}) {
		t.Errorf("owner's mail while locked: %v, want one MFA lock notice", got)
	}
	wantKind(t, e.ok(e.svc.ForgotPassword(ctx, "owner@example.com", flow.Client{})), tacit.CheckInbox)
	tok := e.resetToken(t, "owner@example.com")
	wantKind(t, e.ok(e.svc.ResetPassword(ctx, flow.ResetInput{Token: tok, Password: statePassword + "x", PasswordConfirm: statePassword + "x"}, flow.Client{})), tacit.Done)
	e.clock.Advance(time.Hour)
	o := e.ok(e.svc.Login(ctx, "owner@example.com", statePassword+"x", flow.Client{}))
	wantKind(t, o, tacit.MFARequired)
	e.clock.Advance(30 * time.Second)
	wantKind(t, e.loginMFA(o.Challenge.Token, e.code(secret, 0)), tacit.SignedIn)
}

// ownerAct is what an account's owner does between an outsider's
// requests, in the flows; it returns the owner's outcome.
type ownerAct struct {
	name string
	// act runs for the owner's address only; the unknown address gets
	// nothing in between (the public requests the owner makes, such as
	// asking for a reset link, are made for both).
	act func(t *testing.T, e *env, o *ownerSide, owner, unknown string)
}

// ownerSide is the owner's device: its client and its session.
type ownerSide struct {
	client flow.Client
	id     flow.Identity
}

// signIn signs the owner in on its device, which keeps what the sign-in
// hands it.
func (o *ownerSide) signIn(t *testing.T, e *env, email, password string) tacit.Outcome {
	t.Helper()
	out := e.ok(e.svc.Login(context.Background(), email, password, o.client))
	wantKind(t, out, tacit.SignedIn)
	o.keep(out)
	id, err := e.svc.Session(context.Background(), out.Session.Token)
	if err != nil {
		t.Fatal(err)
	}
	o.id = id
	return out
}

// ownerActs are the owner's actions that used to reset the outsider's
// view of the address.
func ownerActs() []ownerAct {
	ctx := context.Background()
	return []ownerAct{
		{"owner_signed_in", func(t *testing.T, e *env, o *ownerSide, owner, _ string) {
			o.signIn(t, e, owner, statePassword)
		}},
		{"owner_reset_password", func(t *testing.T, e *env, o *ownerSide, owner, unknown string) {
			for _, a := range []string{owner, unknown} {
				wantKind(t, e.ok(e.svc.ForgotPassword(ctx, a, flow.Client{IP: "198.51.100.7"})), tacit.CheckInbox)
			}
			tok := e.resetToken(t, owner)
			out := e.ok(e.svc.ResetPassword(ctx, flow.ResetInput{Token: tok, Password: "owner's new one 1", PasswordConfirm: "owner's new one 1"}, o.client))
			wantKind(t, out, tacit.Done)
			o.keep(out)
			// And signs in with the new password at once.
			o.signIn(t, e, owner, "owner's new one 1")
		}},
		{"owner_changed_password", func(t *testing.T, e *env, o *ownerSide, owner, _ string) {
			out := e.ok(e.svc.ChangePassword(ctx, o.id, flow.ChangePasswordInput{
				CurrentPassword: statePassword, Password: "owner's new one 1", PasswordConfirm: "owner's new one 1",
			}, o.client))
			wantKind(t, out, tacit.Done)
		}},
	}
}

// TestOwnerActivityIsNoOracle is an attack: an
// outsider fails five sign-ins on an address, the owner signs in (or
// resets, or changes the password), the outsider tries again. Every
// answer the outsider gets must equal those for an unknown address.
func TestOwnerActivityIsNoOracle(t *testing.T) {
	ctx := context.Background()
	outsider := flow.Client{IP: "203.0.113.5"}
	for _, act := range ownerActs() {
		t.Run(act.name, func(t *testing.T) {
			e := newEnv(t, flow.EmailFirst, noClientLimit)
			owner, unknown := "owner@example.com", "nobody@example.com"
			arrange(t, e, accountstate.Verified, owner)
			// The owner signed in on this device before the outsider came.
			o := &ownerSide{client: flow.Client{IP: "198.51.100.7"}}
			o.signIn(t, e, owner, statePassword)
			e.mails(t)

			var seqA, seqB []tacit.Outcome
			try := func(n int) {
				for range n {
					seqA = append(seqA, e.ok(e.svc.Login(ctx, owner, "outsider's guess", outsider)))
					seqB = append(seqB, e.ok(e.svc.Login(ctx, unknown, "outsider's guess", outsider)))
				}
			}
			try(5)
			e.clock.Advance(2 * time.Second)
			act.act(t, e, o, owner, unknown)
			try(3)
			e.clock.Advance(3 * time.Second)
			try(3)
			if !reflect.DeepEqual(seqA, seqB) {
				t.Errorf("outsider's answers differ:\n owner's address %v\n unknown address %v", seqA, seqB)
			}
		})
	}
}

// keep stores what an answer hands the device to keep.
func (o *ownerSide) keep(out tacit.Outcome) {
	if out.Device != "" {
		o.client.Device = out.Device
	}
}

// signInMFA signs the owner in on its device, with the second step when
// the account has MFA on (accountstate.TOTPSecret, at the env's clock).
func (o *ownerSide) signInMFA(t *testing.T, e *env, email, password string) {
	t.Helper()
	ctx := context.Background()
	out := e.ok(e.svc.Login(ctx, email, password, o.client))
	if out.Kind == tacit.MFARequired {
		if so, cer, err := e.svc.PasskeySecondStep(ctx, out.Challenge.Token, o.client); err != nil {
			t.Fatal(err)
		} else if so.Kind == tacit.Done {
			out = e.ok(e.svc.LoginMFAPasskey(ctx, out.Challenge.Token, cer.Token, e.assert(cer, accountstate.Passkey(email), passkeytest.Honest), o.client))
		} else {
			out = e.ok(e.svc.LoginMFA(ctx, out.Challenge.Token, e.code(accountstate.TOTPSecret, 0), o.client))
		}
	}
	wantKind(t, out, tacit.SignedIn)
	o.keep(out)
	id, err := e.svc.Session(ctx, out.Session.Token)
	if err != nil {
		t.Fatal(err)
	}
	o.id = id
}

// TestFullTableFailsClosed: while the counter table is full of counters
// that hold their keys back, every request that would need a new counter
// is throttled, whatever the address and whatever the flow, rather than
// let anything evict a lock.
func TestFullTableFailsClosed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	_, _, _ = e.enrol("mfa@example.com")
	arrange(t, e, accountstate.Verified, "known@example.com")
	client := flow.Client{IP: "192.0.2.44"}
	// The trim that finds the table full has dropped every counter that
	// held nothing back, so every key below is new.
	testenv.FillCounterTable(t, e.store, e.svc, e.clock.Now(), 20)

	full := tacit.Outcome{Kind: tacit.Throttled, RetryAfter: flow.FullTableRetry}
	for name, o := range map[string]tacit.Outcome{
		"sign-in, new address":       e.ok(e.svc.Login(ctx, "nobody@example.com", "wrong", client)),
		"sign-in, new client":        e.ok(e.svc.Login(ctx, "known@example.com", "wrong", flow.Client{IP: "192.0.2.45"})),
		"sign-up, new address":       e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "new@example.com"}, client)),
		"reset request, new address": e.ok(e.svc.ForgotPassword(ctx, "known@example.com", client)),
		"reset with a bad token":     e.ok(e.svc.ResetPassword(ctx, flow.ResetInput{Token: strings.Repeat("A", 43), Password: "fresh start 42", PasswordConfirm: "fresh start 42"}, client)),
	} {
		if !reflect.DeepEqual(o, full) {
			t.Errorf("%s with the table full: %+v, want %+v", name, o, full)
		}
	}
	// A wrong code needs the account's new MFA counter: throttled too.
	o := e.ok(e.svc.Login(ctx, "mfa@example.com", statePassword, client))
	if o.Kind == tacit.MFARequired {
		o = e.loginMFA(o.Challenge.Token, "000000")
	}
	if !reflect.DeepEqual(o, full) {
		t.Errorf("second step with the table full: %+v, want %+v", o, full)
	}
	// Once a trim finds room, new keys are counted again.
	e.svc.SetCounterTableFull(false)
	wantKind(t, e.ok(e.svc.Login(ctx, "nobody@example.com", "wrong", client)), tacit.InvalidCredentials)
}

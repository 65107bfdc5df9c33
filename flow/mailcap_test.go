package flow_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// spendMailAllowance is what anyone can do to an address within the
// request limits: three reset requests, a sign-up and two resends, each
// of which mails the address, so the address's mail allowance (five an
// hour) is spent. The clock moves on a minute between requests so no
// request limit holds any of them back.
func (e *env) spendMailAllowance(email string) {
	e.t.Helper()
	ctx := context.Background()
	c := flow.Client{IP: "198.51.100.7"}
	for range 3 {
		wantKind(e.t, e.ok(e.svc.ForgotPassword(ctx, email, c)), tacit.CheckInbox)
		e.clock.Advance(time.Minute)
	}
	wantKind(e.t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: email}, c)), tacit.CheckInbox)
	e.clock.Advance(time.Minute)
	for range 2 {
		wantKind(e.t, e.ok(e.svc.ResendVerification(ctx, email, c)), tacit.CheckInbox)
		e.clock.Advance(time.Minute)
	}
}

// kindsTo returns the kinds of the queued mails to addr, taking every
// queued mail out of the outbox.
func (e *env) kindsTo(addr string) []tacit.MailKind {
	var out []tacit.MailKind
	for _, m := range e.mails(e.t) {
		if m.To == addr {
			out = append(out, m.Kind)
		}
	}
	return out
}

func hasKind(ks []tacit.MailKind, k tacit.MailKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// An outsider who spends an address's mail allowance must
// not silence the notices its account's holder causes. Each case spends
// the allowance, has the owner act, and wants the notice queued.
func TestOwnerNoticesIgnoreSpentMailAllowance(t *testing.T) {
	ctx := context.Background()
	const email = "jane@example.com"
	// mfaOn turns two-step sign-in on for the owner and returns their
	// identity.
	mfaOn := func(e *env) any {
		id := e.identity(email)
		setup, err := e.svc.SetupTOTP(ctx, id, "Acme")
		if err != nil {
			t.Fatal(err)
		}
		if o, _, err := e.svc.EnableTOTP(ctx, id, e.code(setup.Secret, 0), statePassword, flow.Client{}); err != nil || o.Kind != tacit.Done {
			t.Fatalf("enable = %+v, %v", o, err)
		}
		return id
	}
	cases := []struct {
		name   string
		notice tacit.MailKind
		// before runs before the allowance is spent, act after it.
		before func(e *env) any
		act    func(e *env, v any)
	}{
		{"password change", tacit.MailPasswordChanged,
			func(e *env) any { return e.identity(email) },
			func(e *env, v any) {
				wantKind(t, e.ok(e.svc.ChangePassword(ctx, v.(flow.Identity), flow.ChangePasswordInput{
					CurrentPassword: statePassword, Password: "fresh pass 42", PasswordConfirm: "fresh pass 42"}, flow.Client{})), tacit.Done)
			}},
		{"reset completed", tacit.MailPasswordChanged,
			// The owner asked first; the link proves control of the mailbox.
			func(e *env) any { return e.forgot(email) },
			func(e *env, v any) { wantKind(t, e.reset(v.(string), "fresh pass 42"), tacit.Done) }},
		{"MFA enabled", tacit.MailMFAEnabled,
			func(e *env) any {
				id := e.identity(email)
				setup, err := e.svc.SetupTOTP(ctx, id, "Acme")
				if err != nil {
					t.Fatal(err)
				}
				return []any{id, setup.Secret}
			},
			func(e *env, v any) {
				id, secret := v.([]any)[0].(flow.Identity), v.([]any)[1].(string)
				o, _, err := e.svc.EnableTOTP(ctx, id, e.code(secret, 0), statePassword, flow.Client{})
				if err != nil || o.Kind != tacit.Done {
					t.Fatalf("enable = %+v, %v", o, err)
				}
			}},
		{"MFA disabled", tacit.MailMFADisabled,
			mfaOn,
			func(e *env, v any) {
				wantKind(t, e.ok(e.svc.DisableTOTP(ctx, v.(flow.Identity), statePassword, flow.Client{})), tacit.Done)
			}},
		{"recovery codes renewed", tacit.MailRecoveryCodesRenewed,
			mfaOn,
			func(e *env, v any) {
				o, _, err := e.svc.RenewRecoveryCodes(ctx, v.(flow.Identity), statePassword, flow.Client{})
				if err != nil || o.Kind != tacit.Done {
					t.Fatalf("renew = %+v, %v", o, err)
				}
			}},
		{"account deleted", tacit.MailAccountDeleted,
			func(e *env) any { return e.identity(email) },
			func(e *env, v any) {
				wantKind(t, e.ok(e.svc.DeleteAccount(ctx, v.(flow.Identity), statePassword, flow.Client{})), tacit.Done)
			}},
		{"email change requested", tacit.MailEmailChangeRequested,
			func(e *env) any { return e.identity(email) },
			func(e *env, v any) {
				wantKind(t, e.ok(e.svc.ChangeEmail(ctx, v.(flow.Identity), "jane.new@example.com", statePassword, flow.Client{})), tacit.CheckInbox)
			}},
		{"email change confirmed", tacit.MailEmailChanged,
			func(e *env) any {
				wantKind(t, e.ok(e.svc.ChangeEmail(ctx, e.identity(email), "jane.new@example.com", statePassword, flow.Client{})), tacit.CheckInbox)
				return e.linkToken(t, "jane.new@example.com", tacit.MailConfirmEmailChange)
			},
			func(e *env, v any) { wantKind(t, e.ok(e.svc.ConfirmEmailChange(ctx, v.(string))), tacit.Done) }},
		// Only failed sign-ins lock an address, so an outsider can cause
		// this one; it is the owner's one warning of a guessing attack,
		// and the lock itself bounds it to one a lock.
		{"account locked", tacit.MailAccountLocked,
			func(e *env) any { return nil },
			func(e *env, _ any) {
				for range flow.DefaultLimits().Login.Lock {
					o := e.ok(e.svc.Login(ctx, email, "wrong password", flow.Client{IP: "198.51.100.7"}))
					if o.Kind != tacit.InvalidCredentials {
						t.Fatalf("failed sign-in = %+v", o)
					}
					e.clock.Advance(2 * time.Minute)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, flow.EmailFirst)
			if err := accountstate.Arrange(ctx, e.store, e.hasher, accountstate.Verified, email, statePassword); err != nil {
				t.Fatal(err)
			}
			v := c.before(e)
			e.mails(t)
			e.spendMailAllowance(email)
			if ks := e.kindsTo(email); len(ks) != 6 || ks[5] != tacit.MailNone {
				t.Fatalf("outsider's mails = %v, want five and a sixth that sends nothing", ks)
			}
			c.act(e, v)
			if ks := e.kindsTo(email); !hasKind(ks, c.notice) {
				t.Fatalf("after the owner's action the address got %v, want %s", ks, c.notice)
			}
			// The cap still holds for what an outsider can trigger.
			wantKind(t, e.ok(e.svc.ForgotPassword(ctx, email, flow.Client{})), tacit.CheckInbox)
			if ks := e.kindsTo(email); len(ks) != 1 || ks[0] != tacit.MailNone {
				t.Fatalf("reset request past the allowance queued %v, want a row that sends nothing", ks)
			}
		})
	}
}

// Each mail the allowance holds back is logged at INFO with the address
// masked.
func TestSuppressedMailLogged(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) { c.Log = log })
	if err := accountstate.Arrange(context.Background(), e.store, e.hasher, accountstate.Verified, "jane@example.com", statePassword); err != nil {
		t.Fatal(err)
	}
	e.spendMailAllowance("jane@example.com")
	out := buf.String()
	if strings.Contains(out, "jane@example.com") {
		t.Fatalf("log shows the address: %s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "to=j***@example.com") ||
		!strings.Contains(lines[0], "kind="+string(tacit.MailAlreadyRegistered)) {
		t.Fatalf("log = %q, want one INFO line for the sixth mail with the address masked", out)
	}
}

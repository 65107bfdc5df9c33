package flow_test

import (
	"context"
	"testing"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// storedHash returns the password hash stored for addr.
func (e *env) storedHash(t *testing.T, addr string) string {
	t.Helper()
	var a tacit.Account
	err := e.store.View(context.Background(), func(tx tacit.Tx) error {
		var err error
		a, err = tx.AccountByEmail(context.Background(), addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a.PasswordHash
}

// An operator who raises the hash cost gets every password stored with the
// new parameters as its owner next signs in; failed sign-ins change
// nothing.
func TestLoginRehashesOldParameters(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	const addr, password = "ada@example.com", "correct horse battery"
	if err := accountstate.Arrange(ctx, e.store, e.hasher, accountstate.Verified, addr, password); err != nil {
		t.Fatal(err)
	}
	old := e.storedHash(t, addr)

	stronger, err := argon2id.New(argon2id.Params{Memory: 128, Time: 2, Threads: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !stronger.NeedsRehash(old) {
		t.Fatal("the stronger hasher does not ask to rehash the old hash")
	}
	svc, err := flow.New(e.store, stronger, flow.Config{Mode: flow.EmailFirst, Links: tacit.Links{Base: base}, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}

	wantKind(t, e.ok(svc.Login(ctx, addr, "wrong password here", flow.Client{})), tacit.InvalidCredentials)
	if got := e.storedHash(t, addr); got != old {
		t.Fatal("a failed sign-in changed the stored hash")
	}
	wantKind(t, e.ok(svc.Login(ctx, addr, password, flow.Client{})), tacit.SignedIn)
	renewed := e.storedHash(t, addr)
	if renewed == old || stronger.NeedsRehash(renewed) {
		t.Fatalf("after sign-in the stored hash is %q, want one with the live parameters", renewed)
	}
	if ok, err := stronger.Verify(tacit.NormalizePassword(password), renewed); err != nil || !ok {
		t.Fatalf("the renewed hash does not verify the password: %v %v", ok, err)
	}
	wantKind(t, e.ok(svc.Login(ctx, addr, password, flow.Client{})), tacit.SignedIn)
	if got := e.storedHash(t, addr); got != renewed {
		t.Fatal("a hash with the live parameters was replaced again")
	}
}

// hookHasher runs onVerify before each verification, to change the store
// while a flow is between checking a password and writing.
type hookHasher struct {
	tacit.Hasher
	onVerify func()
}

func (h hookHasher) Verify(password, encoded string) (bool, error) {
	h.onVerify()
	return h.Hasher.Verify(password, encoded)
}

// A password replaced by a reset (which ends every session) while a flow
// is checking the old one must not let the old password win: the sign-in
// does not start a session or rehash the old password back, the password
// change does not overwrite the reset's password, the email change does
// not start, MFA is not turned on. Each answers InvalidCredentials and
// writes nothing.
func TestPasswordReplacedWhileChecked(t *testing.T) {
	ctx := context.Background()
	const addr = "ada@example.com"
	ops := []struct {
		name string
		run  func(e *env, svc *flow.Service, id flow.Identity) (tacit.Outcome, error)
	}{
		{"login", func(_ *env, svc *flow.Service, _ flow.Identity) (tacit.Outcome, error) {
			return svc.Login(ctx, addr, statePassword, flow.Client{})
		}},
		{"change password", func(_ *env, svc *flow.Service, id flow.Identity) (tacit.Outcome, error) {
			return svc.ChangePassword(ctx, id, flow.ChangePasswordInput{
				CurrentPassword: statePassword, Password: "chosen by the old session", PasswordConfirm: "chosen by the old session",
			}, flow.Client{})
		}},
		{"change email", func(_ *env, svc *flow.Service, id flow.Identity) (tacit.Outcome, error) {
			return svc.ChangeEmail(ctx, id, "elsewhere@example.org", statePassword, flow.Client{})
		}},
		// A thief's authenticator turned on after the owner's reset
		// would lock the owner out: a reset keeps MFA on.
		{"enable MFA", func(e *env, svc *flow.Service, id flow.Identity) (tacit.Outcome, error) {
			setup, err := svc.SetupTOTP(ctx, id, "Acme")
			if err != nil {
				return tacit.Outcome{}, err
			}
			o, _, err := svc.EnableTOTP(ctx, id, e.code(setup.Secret, 0), statePassword, flow.Client{})
			return o, err
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			e := newEnv(t, flow.EmailFirst)
			token := signIn(t, e, addr)
			e.mails(t)
			newHash, err := e.hasher.Hash("the owner's new password")
			if err != nil {
				t.Fatal(err)
			}
			// A stronger live hasher, so that a sign-in would also rehash.
			stronger, err := argon2id.New(argon2id.Params{Memory: 128, Time: 1, Threads: 1}, 0)
			if err != nil {
				t.Fatal(err)
			}
			armed := false
			reset := func() {
				if !armed {
					return
				}
				armed = false
				err := e.store.Update(ctx, func(tx tacit.Tx) error {
					a, err := tx.AccountByEmail(ctx, addr)
					if err != nil {
						return err
					}
					if err := tx.UpdatePassword(ctx, a.ID, newHash); err != nil {
						return err
					}
					return tx.DeleteSessions(ctx, a.ID, 0)
				})
				if err != nil {
					t.Error(err)
				}
			}
			svc, err := flow.New(e.store, hookHasher{Hasher: stronger, onVerify: reset},
				flow.Config{Mode: flow.EmailFirst, Links: tacit.Links{Base: base}, Now: e.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			id, err := svc.Session(ctx, token)
			if err != nil {
				t.Fatal(err)
			}

			armed = true
			wantKind(t, e.ok(op.run(e, svc, id)), tacit.InvalidCredentials)
			if got := e.storedHash(t, addr); got != newHash {
				t.Error("the reset's password was overwritten")
			}
			var sessions []tacit.Session
			err = e.store.View(ctx, func(tx tacit.Tx) error {
				var err error
				sessions, err = tx.SessionsByAccount(ctx, id.Account.ID)
				return err
			})
			if err != nil || len(sessions) != 0 {
				t.Errorf("sessions after the reset: %d (%v), want none", len(sessions), err)
			}
			if ms := e.mails(t); len(ms) != 0 {
				t.Errorf("mail queued: %+v", ms)
			}
		})
	}
}

// A password reset also cancels an email change requested before it, from
// a session the reset ended.
func TestResetCancelsEmailChange(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	id, err := e.svc.Session(ctx, signIn(t, e, "ada@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	e.mails(t)
	wantKind(t, e.ok(e.svc.ChangeEmail(ctx, id, "elsewhere@example.org", statePassword, flow.Client{})), tacit.CheckInbox)
	confirm := e.linkToken(t, "elsewhere@example.org", tacit.MailConfirmEmailChange)
	wantKind(t, e.reset(e.forgot("ada@example.com"), "the owner's new password"), tacit.Done)
	wantKind(t, e.ok(e.svc.ConfirmEmailChange(ctx, confirm)), tacit.InvalidToken)
}

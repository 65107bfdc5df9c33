package flow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// TestThiefsEmailChangeDies: a thief who has the
// password signs in and asks to move the account to an address of their
// own; the owner takes the account back. Before the fix, the thief's link
// still moved the account (Done) after each of these, and a reset to the
// thief's address then took the account.
func TestThiefsEmailChangeDies(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// takeBack is what the owner does from their own session.
		takeBack func(t *testing.T, e *env, owner, thief flow.Identity)
	}{
		{"password changed, other devices signed out", func(t *testing.T, e *env, owner, _ flow.Identity) {
			wantKind(t, e.ok(e.svc.ChangePassword(ctx, owner, flow.ChangePasswordInput{
				CurrentPassword: statePassword, Password: "taken back 11", PasswordConfirm: "taken back 11",
			}, flow.Client{})), tacit.Done)
		}},
		{"password changed, devices kept", func(t *testing.T, e *env, owner, _ flow.Identity) {
			wantKind(t, e.ok(e.svc.ChangePassword(ctx, owner, flow.ChangePasswordInput{
				CurrentPassword: statePassword, Password: "taken back 11", PasswordConfirm: "taken back 11", KeepOtherSessions: true,
			}, flow.Client{})), tacit.Done)
		}},
		{"other devices signed out", func(t *testing.T, e *env, owner, _ flow.Identity) {
			wantKind(t, e.ok(e.svc.EndOtherSessions(ctx, owner, "", flow.Client{})), tacit.Done)
		}},
		{"thief's session ended", func(t *testing.T, e *env, owner, thief flow.Identity) {
			wantKind(t, e.ok(e.svc.EndSession(ctx, owner, thief.Session.ID, "", flow.Client{})), tacit.Done)
		}},
		{"password reset", func(t *testing.T, e *env, owner, _ flow.Identity) {
			wantKind(t, e.reset(e.forgot(owner.Account.Email), "taken back 11"), tacit.Done)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, flow.EmailFirst)
			addr := "own@example.com"
			owner := identity(t, e, signIn(t, e, addr))
			thief := identity(t, e, e.ok(e.svc.Login(ctx, addr, statePassword, flow.Client{IP: "198.51.100.9"})).Session.Token)
			e.mails(t)
			wantKind(t, e.ok(e.svc.ChangeEmail(ctx, thief, "thief@example.net", statePassword, flow.Client{})), tacit.CheckInbox)
			link := e.linkToken(t, "thief@example.net", tacit.MailConfirmEmailChange)

			tc.takeBack(t, e, owner, thief)
			wantKind(t, e.ok(e.svc.ConfirmEmailChange(ctx, link)), tacit.InvalidToken)
			if a := accountOf(t, e, addr); a.Email != addr {
				t.Fatalf("account moved to %s", a.Email)
			}
		})
	}
}

// TestOwnEmailChangeSurvives: the owner's own change, asked from the
// session that stays, survives signing out the other devices, and works.
func TestOwnEmailChangeSurvives(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	addr := "own@example.com"
	owner := identity(t, e, signIn(t, e, addr))
	e.ok(e.svc.Login(ctx, addr, statePassword, flow.Client{}))
	e.mails(t)
	wantKind(t, e.ok(e.svc.ChangeEmail(ctx, owner, "own@example.net", statePassword, flow.Client{})), tacit.CheckInbox)
	link := e.linkToken(t, "own@example.net", tacit.MailConfirmEmailChange)
	wantKind(t, e.ok(e.svc.EndOtherSessions(ctx, owner, "", flow.Client{})), tacit.Done)
	wantKind(t, e.ok(e.svc.ConfirmEmailChange(ctx, link)), tacit.Done)
	if a := accountOf(t, e, "own@example.net"); a.ID != owner.Account.ID {
		t.Fatalf("account not moved: %+v", a)
	}
}

// TestEmailChangeDiesWithIdleSession: a change asked from a session that
// has since expired (idle) no longer works, as if it had been ended.
func TestEmailChangeDiesWithIdleSession(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) { c.SessionIdle = time.Hour })
	owner := identity(t, e, signIn(t, e, "idle@example.com"))
	e.mails(t)
	wantKind(t, e.ok(e.svc.ChangeEmail(ctx, owner, "idle@example.net", statePassword, flow.Client{})), tacit.CheckInbox)
	link := e.linkToken(t, "idle@example.net", tacit.MailConfirmEmailChange)
	e.clock.Advance(time.Hour)
	wantKind(t, e.ok(e.svc.ConfirmEmailChange(ctx, link)), tacit.InvalidToken)
}

func identity(t *testing.T, e *env, token string) flow.Identity {
	t.Helper()
	id, err := e.svc.Session(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// accountOf returns the account with address addr.
func accountOf(t *testing.T, e *env, addr string) tacit.Account {
	t.Helper()
	var a tacit.Account
	err := e.store.View(context.Background(), func(tx tacit.Tx) error {
		var err error
		a, err = tx.AccountByEmail(context.Background(), addr)
		return err
	})
	if err != nil {
		t.Fatalf("account %s: %v", addr, err)
	}
	return a
}

// TestPasswordChangeEndsOtherSessions: a stolen
// session must not survive the owner's password change unless the owner
// asks to stay signed in elsewhere. Before the fix other sessions stayed
// by default.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	addr := "own@example.com"
	own := signIn(t, e, addr)
	owner := identity(t, e, own)
	stolen := e.ok(e.svc.Login(ctx, addr, statePassword, flow.Client{})).Session.Token
	wantKind(t, e.ok(e.svc.ChangePassword(ctx, owner, flow.ChangePasswordInput{
		CurrentPassword: statePassword, Password: "taken back 11", PasswordConfirm: "taken back 11",
	}, flow.Client{})), tacit.Done)
	if _, err := e.svc.Session(ctx, stolen); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("other session after a password change: %v", err)
	}
	if _, err := e.svc.Session(ctx, own); err != nil {
		t.Fatalf("own session after a password change: %v", err)
	}
}

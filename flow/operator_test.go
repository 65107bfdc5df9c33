package flow_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

func (e *env) operator() *flow.Operator {
	e.t.Helper()
	o, err := flow.NewOperator(e.store, flow.Config{Links: tacit.Links{Base: base}, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// TestOperatorDisable: disabling ends the sessions and the reset link a
// thief may hold; the password no longer signs in; enabling lets it in
// again, and what disabling ended stays ended.
func TestOperatorDisable(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	op := e.operator()
	token := signIn(t, e, "dee@example.com")
	e.mails(t)
	reset := e.forgot("dee@example.com")
	if changed, err := op.Disable(ctx, " Dee@Example.com "); err != nil || !changed {
		t.Fatalf("Disable = %v, %v", changed, err)
	}
	if changed, err := op.Disable(ctx, "dee@example.com"); err != nil || changed {
		t.Fatalf("second Disable = %v, %v", changed, err)
	}
	if _, err := e.svc.Session(ctx, token); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("session after disable: %v", err)
	}
	wantKind(t, e.ok(e.svc.Login(ctx, "dee@example.com", statePassword, flow.Client{})), tacit.InvalidCredentials)
	if err := op.SendReset(ctx, "dee@example.com"); !errors.Is(err, flow.ErrAccountDisabled) {
		t.Fatalf("SendReset(disabled) = %v", err)
	}
	if changed, err := op.Enable(ctx, "dee@example.com"); err != nil || !changed {
		t.Fatalf("Enable = %v, %v", changed, err)
	}
	if e.svc.ResetTokenLive(ctx, reset) {
		t.Error("the reset link from before the disable works again")
	}
	if _, err := e.svc.Session(ctx, token); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("session after enable: %v", err)
	}
	wantKind(t, e.ok(e.svc.Login(ctx, "dee@example.com", statePassword, flow.Client{})), tacit.SignedIn)
}

// TestOperatorDeleteThenSignUpAgain: a deleted account's session, reset
// link and password are dead, and its address signs up afresh: a new
// account with a new password, nothing of the old one.
func TestOperatorDeleteThenSignUpAgain(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	op := e.operator()
	token := signIn(t, e, "del@example.com")
	e.mails(t)
	reset := e.forgot("del@example.com")
	if err := op.Delete(ctx, "del@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := op.Delete(ctx, "del@example.com"); !errors.Is(err, flow.ErrNoAccount) {
		t.Fatalf("second Delete = %v", err)
	}
	if _, err := e.svc.Session(ctx, token); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("session after delete: %v", err)
	}
	if e.svc.ResetTokenLive(ctx, reset) {
		t.Error("reset link works after delete")
	}
	wantKind(t, e.ok(e.svc.Login(ctx, "del@example.com", statePassword, flow.Client{})), tacit.InvalidCredentials)

	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "del@example.com"}, flow.Client{})), tacit.CheckInbox)
	link := e.linkToken(t, "del@example.com", tacit.MailFinishSignup)
	o := e.ok(e.svc.CompleteSignup(ctx, flow.CompleteInput{Token: link, Password: "a new start 9", PasswordConfirm: "a new start 9"}, flow.Client{}))
	wantKind(t, o, tacit.AccountCreated)
	wantKind(t, e.ok(e.svc.Login(ctx, "del@example.com", statePassword, flow.Client{})), tacit.InvalidCredentials)
	wantKind(t, e.ok(e.svc.Login(ctx, "del@example.com", "a new start 9", flow.Client{})), tacit.SignedIn)
}

// TestOperatorMail: send-reset mails a working reset link; an invite
// mails a link that makes the account once its owner chooses a password,
// in full-form mode too; errors name what is wrong.
func TestOperatorMail(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.FullForm)
	op := e.operator()
	signIn(t, e, "res@example.com")
	e.mails(t)
	if err := op.SendReset(ctx, "res@example.com"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, e.reset(e.resetToken(t, "res@example.com"), "brand new pass 1"), tacit.Done)

	if err := op.Invite(ctx, "New@Example.com"); err != nil {
		t.Fatal(err)
	}
	link := e.linkToken(t, "new@example.com", tacit.MailFinishSignup)
	o := e.ok(e.svc.CompleteSignup(ctx, flow.CompleteInput{Token: link, Password: "invited pass 1", PasswordConfirm: "invited pass 1"}, flow.Client{}))
	wantKind(t, o, tacit.AccountCreated)

	for name, err := range map[string]error{
		"invite an account":  op.Invite(ctx, "new@example.com"),
		"reset nobody":       op.SendReset(ctx, "nobody@example.com"),
		"disable nobody":     second(op.Disable(ctx, "nobody@example.com")),
		"end sessions":       second(op.EndSessions(ctx, "nobody@example.com")),
		"invite bad address": op.Invite(ctx, "not an address"),
		"delete empty":       op.Delete(ctx, ""),
	} {
		want := map[string]error{
			"invite an account": flow.ErrHasAccount, "reset nobody": flow.ErrNoAccount, "disable nobody": flow.ErrNoAccount,
			"end sessions": flow.ErrNoAccount, "invite bad address": flow.ErrBadAddress, "delete empty": flow.ErrBadAddress,
		}[name]
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	if ms := e.mails(t); len(ms) != 0 {
		t.Errorf("failed actions queued %d mails", len(ms))
	}
}

// TestOperatorEndSessions ends every session of the account and no other.
func TestOperatorEndSessions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	op := e.operator()
	mine := signIn(t, e, "end@example.com")
	other := signIn(t, e, "keep@example.com")
	if n, err := op.EndSessions(ctx, "end@example.com"); err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v", n, err)
	}
	if _, err := e.svc.Session(ctx, mine); !errors.Is(err, flow.ErrNoSession) {
		t.Errorf("ended session: %v", err)
	}
	if _, err := e.svc.Session(ctx, other); err != nil {
		t.Errorf("other account's session: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

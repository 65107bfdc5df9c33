package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// TestDeleteOwnAccount: the password is required and checked; a wrong one
// counts like a failed sign-in, so a stolen session cannot guess it
// freely; the right one deletes the account, ends every session, mails
// the confirmation, and leaves the address free to sign up again.
func TestDeleteOwnAccount(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	token := signIn(t, e, "gone@example.com")
	other := e.ok(e.svc.Login(ctx, "gone@example.com", statePassword, flow.Client{UserAgent: "phone"}))
	id, err := e.svc.Session(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	e.mails(t)

	o := e.ok(e.svc.DeleteAccount(ctx, id, "", flow.Client{}))
	if !reflect.DeepEqual(o, tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired})) {
		t.Fatalf("no password = %+v", o)
	}
	// A thief holding the session but not the password: refused, then
	// throttled like sign-in.
	thief := flow.Client{IP: "203.0.113.9"}
	var last tacit.Outcome
	for range 12 {
		last = e.ok(e.svc.DeleteAccount(ctx, id, "guess 12345", thief))
	}
	if last.Kind != tacit.Throttled {
		t.Fatalf("12th wrong password = %+v, want throttled", last)
	}
	if _, err := e.svc.Session(ctx, token); err != nil {
		t.Fatalf("session after refused deletes: %v", err)
	}
	e.clock.Advance(time.Hour)
	e.mails(t)

	wantKind(t, e.ok(e.svc.DeleteAccount(ctx, id, statePassword, flow.Client{})), tacit.Done)
	for _, tok := range []string{token, other.Session.Token} {
		if _, err := e.svc.Session(ctx, tok); !errors.Is(err, flow.ErrNoSession) {
			t.Errorf("session after delete: %v", err)
		}
	}
	ms := e.mails(t)
	if len(ms) != 1 || ms[0].Kind != tacit.MailAccountDeleted || ms[0].To != "gone@example.com" || ms[0].Data["register"] == "" {
		t.Fatalf("mails = %+v, want the deletion notice", ms)
	}
	wantKind(t, e.ok(e.svc.DeleteAccount(ctx, id, statePassword, flow.Client{})), tacit.InvalidCredentials)
	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "gone@example.com"}, flow.Client{})), tacit.CheckInbox)
	if ms := e.mails(t); len(ms) != 1 || ms[0].Kind != tacit.MailFinishSignup {
		t.Fatalf("sign-up after delete mailed %+v, want the finish-sign-up link", ms)
	}
}

// TestDeleteLosesToReset: a reset that lands after the password was
// checked wins; the old password deletes nothing.
func TestDeleteLosesToReset(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	token := signIn(t, e, "race@example.com")
	id, err := e.svc.Session(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	e.mails(t)
	reset := e.forgot("race@example.com")
	wantKind(t, e.reset(reset, "owner took it back 1"), tacit.Done)
	// The thief's session died with the reset; the identity it had is
	// all it holds.
	wantKind(t, e.ok(e.svc.DeleteAccount(ctx, id, statePassword, flow.Client{})), tacit.InvalidCredentials)
	wantKind(t, e.ok(e.svc.Login(ctx, "race@example.com", "owner took it back 1", flow.Client{})), tacit.SignedIn)
}

// TestExportData holds the account, two-step sign-in and live sessions,
// and no credential: no hash, token or secret.
func TestExportData(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	id, secret, _ := e.enrol("data@example.com")
	d, err := e.svc.ExportData(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Account.Email != "data@example.com" || d.Account.ID != id.Account.ID || !d.TwoStep.Enabled || d.TwoStep.RecoveryCodesLeft != 10 {
		t.Fatalf("export = %+v", d)
	}
	if len(d.Sessions) != 1 || !d.Sessions[0].Current {
		t.Fatalf("sessions = %+v", d.Sessions)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	a := accountOf(t, e, "data@example.com")
	for _, secretText := range []string{secret, a.PasswordHash, "argon2id", "token"} {
		if strings.Contains(string(b), secretText) {
			t.Errorf("export holds %q: %s", secretText, b)
		}
	}
}

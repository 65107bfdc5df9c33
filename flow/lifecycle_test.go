package flow_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

func newPassword(pw string) flow.ResetInput {
	return flow.ResetInput{Password: pw, PasswordConfirm: pw}
}

func (e *env) reset(token, pw string) tacit.Outcome {
	in := newPassword(pw)
	in.Token = token
	return e.ok(e.svc.ResetPassword(context.Background(), in, flow.Client{IP: "192.0.2.3"}))
}

func (e *env) forgot(email string) string {
	e.t.Helper()
	wantKind(e.t, e.ok(e.svc.ForgotPassword(context.Background(), email, flow.Client{})), tacit.CheckInbox)
	return e.resetToken(e.t, email)
}

func TestPasswordReset(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	old := signIn(t, e, "rae@example.com")
	e.mails(t)
	tok := e.forgot("rae@example.com")
	if !e.svc.ResetTokenLive(ctx, tok) {
		t.Fatal("fresh reset token is not live")
	}

	// The policy applies; a refused password leaves the token working.
	o := e.reset(tok, "short")
	if o.Kind != tacit.Invalid || o.Fields["password"] != tacit.CodeTooShort {
		t.Fatalf("short password: %+v", o)
	}
	wantKind(t, e.reset(tok, "brand new pass 1"), tacit.Done)

	// Every session ended; the owner is told; the old password is gone.
	if _, err := e.svc.Session(ctx, old); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("old session after reset: %v", err)
	}
	ms := e.mails(t)
	if len(ms) != 1 || ms[0].Kind != tacit.MailPasswordChanged || ms[0].To != "rae@example.com" {
		t.Fatalf("mails after reset: %+v", ms)
	}
	wantKind(t, e.ok(e.svc.Login(ctx, "rae@example.com", statePassword, flow.Client{})), tacit.InvalidCredentials)
	wantKind(t, e.ok(e.svc.Login(ctx, "rae@example.com", "brand new pass 1", flow.Client{})), tacit.SignedIn)

	// Single use.
	wantKind(t, e.reset(tok, "another pass 22"), tacit.InvalidToken)
}

func TestResetTokenRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	sess := signIn(t, e, "sol@example.com")
	signIn(t, e, "tam@example.com")
	e.mails(t)

	t.Run("expires after 30 minutes", func(t *testing.T) {
		tok := e.forgot("sol@example.com")
		e.clock.Advance(30 * time.Minute)
		wantKind(t, e.reset(tok, "brand new pass 1"), tacit.InvalidToken)
	})
	t.Run("tampered", func(t *testing.T) {
		tok := e.forgot("sol@example.com")
		b := []byte(tok)
		b[10] ^= 1
		wantKind(t, e.reset(string(b), "brand new pass 1"), tacit.InvalidToken)
		wantKind(t, e.reset(tok[:42], "brand new pass 1"), tacit.InvalidToken)
	})
	t.Run("dies with a password change", func(t *testing.T) {
		tok := e.forgot("sol@example.com")
		id, err := e.svc.Session(ctx, sess)
		if err != nil {
			t.Fatal(err)
		}
		in := flow.ChangePasswordInput{CurrentPassword: statePassword, Password: "changed pass 77", PasswordConfirm: "changed pass 77"}
		wantKind(t, e.ok(e.svc.ChangePassword(ctx, id, in, flow.Client{})), tacit.Done)
		wantKind(t, e.reset(tok, "brand new pass 1"), tacit.InvalidToken)
	})
	t.Run("an older token dies when a newer one is used", func(t *testing.T) {
		first := e.forgot("tam@example.com")
		e.clock.Advance(time.Minute) // past the request delay
		second := e.forgot("tam@example.com")
		wantKind(t, e.reset(second, "brand new pass 1"), tacit.Done)
		wantKind(t, e.reset(first, "brand new pass 2"), tacit.InvalidToken)
	})
	t.Run("bound to one account", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		tok := e.forgot("tam@example.com")
		wantKind(t, e.reset(tok, "only tam 12345"), tacit.Done)
		wantKind(t, e.ok(e.svc.Login(ctx, "tam@example.com", "only tam 12345", flow.Client{})), tacit.SignedIn)
		wantKind(t, e.ok(e.svc.Login(ctx, "sol@example.com", "only tam 12345", flow.Client{})), tacit.InvalidCredentials)
	})
}

func TestBadResetTokensAreThrottledPerClient(t *testing.T) {
	e := newEnv(t, flow.EmailFirst)
	var got []tacit.OutcomeKind
	for i := 0; i < 12; i++ {
		bogus, _ := tacit.NewToken()
		got = append(got, e.reset(bogus, "brand new pass 1").Kind)
	}
	want := []tacit.OutcomeKind{}
	for i := 0; i < 10; i++ {
		want = append(want, tacit.InvalidToken)
	}
	want = append(want, tacit.Throttled, tacit.Throttled)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	a := signIn(t, e, "uma@example.com")
	b := e.ok(e.svc.Login(ctx, "uma@example.com", statePassword, flow.Client{})).Session.Token
	id, err := e.svc.Session(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	e.mails(t)

	in := flow.ChangePasswordInput{CurrentPassword: "wrong", Password: "new pass word 1", PasswordConfirm: "new pass word 1"}
	wantKind(t, e.ok(e.svc.ChangePassword(ctx, id, in, flow.Client{})), tacit.InvalidCredentials)
	in.CurrentPassword = ""
	if o := e.ok(e.svc.ChangePassword(ctx, id, in, flow.Client{})); o.Fields["current_password"] != tacit.CodeRequired {
		t.Fatalf("empty current password: %+v", o)
	}
	in.CurrentPassword, in.PasswordConfirm = statePassword, "other"
	if o := e.ok(e.svc.ChangePassword(ctx, id, in, flow.Client{})); o.Fields["password_confirm"] != tacit.CodeMismatch {
		t.Fatalf("mismatch: %+v", o)
	}
	in.PasswordConfirm = in.Password
	in.KeepOtherSessions = true
	wantKind(t, e.ok(e.svc.ChangePassword(ctx, id, in, flow.Client{})), tacit.Done)
	// Other sessions stay only when asked.
	if _, err := e.svc.Session(ctx, b); err != nil {
		t.Fatalf("other session after change keeping others: %v", err)
	}
	in = flow.ChangePasswordInput{CurrentPassword: "new pass word 1", Password: "newer pass word 2", PasswordConfirm: "newer pass word 2"}
	wantKind(t, e.ok(e.svc.ChangePassword(ctx, id, in, flow.Client{})), tacit.Done)
	if _, err := e.svc.Session(ctx, b); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("other session after change: %v", err)
	}
	if _, err := e.svc.Session(ctx, a); err != nil {
		t.Fatalf("own session after change: %v", err)
	}
	kindsSent := []tacit.MailKind{}
	for _, m := range e.mails(t) {
		kindsSent = append(kindsSent, m.Kind)
	}
	if !reflect.DeepEqual(kindsSent, []tacit.MailKind{tacit.MailPasswordChanged, tacit.MailPasswordChanged}) {
		t.Fatalf("mails: %v", kindsSent)
	}
}

// TestChangeEmailUniform: asking to move an account to an address in any
// state answers alike; the mails differ as specified.
func TestChangeEmailUniform(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	arrangeAll(t, e)
	tok := signIn(t, e, "mover@example.com")
	id, err := e.svc.Session(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	e.mails(t)
	outcomes := map[accountstate.State]tacit.Outcome{}
	for _, s := range accountstate.All {
		outcomes[s] = e.ok(e.svc.ChangeEmail(ctx, id, addr(string(s)), statePassword, flow.Client{IP: string(s)}))
		e.clock.Advance(16 * time.Minute) // past the requester's own request delay, which doubles up to 15 minutes
	}
	for _, p := range accountstate.Pairs() {
		if !reflect.DeepEqual(outcomes[p[0]], outcomes[p[1]]) {
			t.Errorf("%s: %+v, %s: %+v", p[0], outcomes[p[0]], p[1], outcomes[p[1]])
		}
	}
	wantKind(t, outcomes[accountstate.None], tacit.CheckInbox)
	got := map[string][]tacit.MailKind{}
	for _, m := range e.mails(t) {
		got[m.To] = append(got[m.To], m.Kind)
	}
	for _, s := range accountstate.All {
		want := tacit.MailConfirmEmailChange
		if s.HasAccount() {
			want = tacit.MailEmailTaken
		}
		if s == accountstate.MailSpent {
			want = tacit.MailNone // anyone can cause this mail: it is capped
		}
		if !reflect.DeepEqual(got[addr(string(s))], []tacit.MailKind{want}) {
			t.Errorf("%s: mails %v, want [%s]", s, got[addr(string(s))], want)
		}
	}
	if len(got["mover@example.com"]) != len(accountstate.All) {
		t.Errorf("old address told %d times, want %d", len(got["mover@example.com"]), len(accountstate.All))
	}
	wantKind(t, e.ok(e.svc.ChangeEmail(ctx, id, "new@example.com", "wrong", flow.Client{})), tacit.InvalidCredentials)
}

func TestConfirmEmailChange(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	tok := signIn(t, e, "vic@example.com")
	id, _ := e.svc.Session(ctx, tok)
	e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "vic.new@example.com"}, flow.Client{}))
	e.mails(t)
	wantKind(t, e.ok(e.svc.ChangeEmail(ctx, id, "Vic.New@example.com", statePassword, flow.Client{})), tacit.CheckInbox)
	confirm := e.linkToken(t, "vic.new@example.com", tacit.MailConfirmEmailChange)
	wantKind(t, e.ok(e.svc.ConfirmEmailChange(ctx, confirm)), tacit.Done)
	wantKind(t, e.ok(e.svc.ConfirmEmailChange(ctx, confirm)), tacit.InvalidToken)

	now, err := e.svc.Session(ctx, tok)
	if err != nil || now.Account.Email != "vic.new@example.com" {
		t.Fatalf("session after change: %+v, %v", now.Account, err)
	}
	ms := e.mails(t)
	if len(ms) != 1 || ms[0].Kind != tacit.MailEmailChanged || ms[0].To != "vic@example.com" {
		t.Fatalf("mails after confirm: %+v", ms)
	}
	wantKind(t, e.ok(e.svc.Login(ctx, "vic.new@example.com", statePassword, flow.Client{})), tacit.SignedIn)
	wantKind(t, e.ok(e.svc.Login(ctx, "vic@example.com", statePassword, flow.Client{})), tacit.InvalidCredentials)
	// The pending sign-up for the new address died with the change.
	wantKind(t, e.ok(e.svc.ResendVerification(ctx, "vic.new@example.com", flow.Client{})), tacit.CheckInbox)
	if ms := e.mails(t); len(ms) != 1 || ms[0].Kind != tacit.MailAlreadyRegistered {
		t.Fatalf("resend after change: %+v", ms)
	}
}

func TestConfirmEmailChangeLosesToNewOwner(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	tok := signIn(t, e, "wyn@example.com")
	id, _ := e.svc.Session(ctx, tok)
	e.mails(t)
	e.ok(e.svc.ChangeEmail(ctx, id, "wanted@example.com", statePassword, flow.Client{}))
	confirm := e.linkToken(t, "wanted@example.com", tacit.MailConfirmEmailChange)
	signIn(t, e, "wanted@example.com") // someone else takes the address first
	wantKind(t, e.ok(e.svc.ConfirmEmailChange(ctx, confirm)), tacit.InvalidToken)
}

func TestSessionManagement(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	a := signIn(t, e, "xan@example.com")
	b := e.ok(e.svc.Login(ctx, "xan@example.com", statePassword, flow.Client{IP: "203.0.113.5", UserAgent: "phone"})).Session.Token
	c := e.ok(e.svc.Login(ctx, "xan@example.com", statePassword, flow.Client{IP: "203.0.113.6", UserAgent: "tablet"})).Session.Token
	other := signIn(t, e, "yul@example.com")
	id, _ := e.svc.Session(ctx, a)

	list, err := e.svc.Sessions(ctx, id)
	if err != nil || len(list) != 3 {
		t.Fatalf("Sessions = %+v, %v", list, err)
	}
	current := 0
	for _, si := range list {
		if si.Current {
			current++
		}
	}
	if current != 1 {
		t.Fatalf("%d sessions marked current", current)
	}
	idB, _ := e.svc.Session(ctx, b)
	wantKind(t, e.ok(e.svc.EndSession(ctx, id, idB.Session.ID, "", flow.Client{})), tacit.Done)
	if _, err := e.svc.Session(ctx, b); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("ended session: %v", err)
	}
	// Another account's session id is not touched.
	idOther, _ := e.svc.Session(ctx, other)
	wantKind(t, e.ok(e.svc.EndSession(ctx, id, idOther.Session.ID, "", flow.Client{})), tacit.Done)
	if _, err := e.svc.Session(ctx, other); err != nil {
		t.Fatalf("other account's session ended: %v", err)
	}
	wantKind(t, e.ok(e.svc.EndOtherSessions(ctx, id, "", flow.Client{})), tacit.Done)
	if _, err := e.svc.Session(ctx, c); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("session after ending others: %v", err)
	}
	if _, err := e.svc.Session(ctx, a); err != nil {
		t.Fatalf("own session after ending others: %v", err)
	}
}

// TestEndingSessionsNeedsReauthentication: ending another session, one
// or all, needs the password once the sign-in is older than
// flow.FreshSignIn (ASVS 7.5.2); without it, or with a wrong one, no
// session ends. Signing this session out needs nothing.
func TestEndingSessionsNeedsReauthentication(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	a := signIn(t, e, "zed@example.com")
	b := e.ok(e.svc.Login(ctx, "zed@example.com", statePassword, flow.Client{UserAgent: "phone"})).Session.Token
	id, _ := e.svc.Session(ctx, a)
	idB, _ := e.svc.Session(ctx, b)
	if !e.svc.SignedInRecently(id) {
		t.Fatal("a session just signed in is not recent")
	}
	e.clock.Advance(flow.FreshSignIn)
	if e.svc.SignedInRecently(id) {
		t.Fatal("a sign-in flow.FreshSignIn ago is recent")
	}
	required := tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired})
	alive := func(what string) {
		t.Helper()
		if _, err := e.svc.Session(ctx, b); err != nil {
			t.Fatalf("%s ended the other session: %v", what, err)
		}
	}
	if o := e.ok(e.svc.EndOtherSessions(ctx, id, "", flow.Client{})); !reflect.DeepEqual(o, required) {
		t.Errorf("EndOtherSessions without the password = %+v, want %+v", o, required)
	}
	alive("EndOtherSessions without the password")
	if o := e.ok(e.svc.EndSession(ctx, id, idB.Session.ID, "", flow.Client{})); !reflect.DeepEqual(o, required) {
		t.Errorf("EndSession without the password = %+v, want %+v", o, required)
	}
	alive("EndSession without the password")
	wantKind(t, e.ok(e.svc.EndOtherSessions(ctx, id, "wrong password 1", flow.Client{})), tacit.InvalidCredentials)
	wantKind(t, e.ok(e.svc.EndSession(ctx, id, idB.Session.ID, "wrong password 1", flow.Client{})), tacit.InvalidCredentials)
	alive("a wrong password")

	wantKind(t, e.ok(e.svc.EndSession(ctx, id, idB.Session.ID, statePassword, flow.Client{})), tacit.Done)
	if _, err := e.svc.Session(ctx, b); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("session after ending it with the password: %v", err)
	}
	c := e.ok(e.svc.Login(ctx, "zed@example.com", statePassword, flow.Client{UserAgent: "tablet"})).Session.Token
	wantKind(t, e.ok(e.svc.EndOtherSessions(ctx, id, statePassword, flow.Client{})), tacit.Done)
	if _, err := e.svc.Session(ctx, c); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("session after ending the others with the password: %v", err)
	}
	// Signing this session out is not guarded.
	wantKind(t, e.ok(e.svc.EndSession(ctx, id, id.Session.ID, "", flow.Client{})), tacit.Done)
	if _, err := e.svc.Session(ctx, a); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("own session after signing it out: %v", err)
	}
}

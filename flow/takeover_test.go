package flow_test

import (
	"context"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// Passwords of the sign-up takeover tests: the mailbox owner's and the
// password of someone who signed up the owner's address too.
const (
	ownersPassword   = "owner chose this 1"
	intrudersPasword = "intruder chose 2"
)

// signUpTwice makes the owner's full-form sign-up of addr and then an
// intruder's, and returns the link the owner's mailbox got for each.
func signUpTwice(t *testing.T, e *env, addr string) (owners, intruders string) {
	t.Helper()
	ctx := context.Background()
	for i, pw := range []string{ownersPassword, intrudersPasword} {
		wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: addr, Password: pw, PasswordConfirm: pw}, flow.Client{})), tacit.CheckInbox)
		tok := e.linkToken(t, addr, tacit.MailVerify)
		if i == 0 {
			owners = tok
		} else {
			intruders = tok
		}
	}
	return owners, intruders
}

// TestSignUpTakeover: while the owner's full-form
// sign-up is pending, someone else signs up the same address with a
// password of their own; "send the link again" mails the newest sign-up's
// link, the intruder's. Before the fix, following it created the account
// with the intruder's password (register(victim, pwV), register(victim,
// pwA), resend, verify(newest) → login(victim, pwA) signed in). Now the
// follower must type the password of a pending sign-up, and the account
// gets exactly that password.
func TestSignUpTakeover(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		link func(t *testing.T, e *env, addr, owners, intruders string) string
	}{
		{"resent link", func(t *testing.T, e *env, addr, _, _ string) string {
			wantKind(t, e.ok(e.svc.ResendVerification(ctx, addr, flow.Client{})), tacit.CheckInbox)
			return e.linkToken(t, addr, tacit.MailVerify)
		}},
		{"intruder's link", func(_ *testing.T, _ *env, _, _, intruders string) string { return intruders }},
		{"owner's link", func(_ *testing.T, _ *env, _, owners, _ string) string { return owners }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, flow.FullForm)
			addr := "vic@example.com"
			owners, intruders := signUpTwice(t, e, addr)
			tok := tc.link(t, e, addr, owners, intruders)

			o := e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: tok}, flow.Client{}))
			if o.Kind != tacit.Invalid || o.Fields["password"] != tacit.CodeRequired {
				t.Fatalf("verify without a password = %+v", o)
			}
			wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: tok, Password: "a guess at it 3"}, flow.Client{})), tacit.InvalidCredentials)
			// A wrong password leaves the link working.
			wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: tok, Password: ownersPassword}, flow.Client{})), tacit.SignedIn)

			wantKind(t, e.ok(e.svc.Login(ctx, addr, intrudersPasword, flow.Client{})), tacit.InvalidCredentials)
			wantKind(t, e.ok(e.svc.Login(ctx, addr, ownersPassword, flow.Client{})), tacit.SignedIn)
			// Every other sign-up of the address died with the account's
			// creation.
			for _, other := range []string{owners, intruders} {
				wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: other, Password: ownersPassword}, flow.Client{})), tacit.InvalidToken)
				wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: other, Password: intrudersPasword}, flow.Client{})), tacit.InvalidToken)
			}
		})
	}
}

// TestVerifyPasswordIsNotForOtherAddresses: a password matches only the
// sign-ups of the link's own address.
func TestVerifyPasswordIsNotForOtherAddresses(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.FullForm)
	e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "a@example.com", Password: ownersPassword, PasswordConfirm: ownersPassword}, flow.Client{}))
	e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "b@example.com", Password: intrudersPasword, PasswordConfirm: intrudersPasword}, flow.Client{}))
	tok := e.linkToken(t, "a@example.com", tacit.MailVerify)
	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: tok, Password: intrudersPasword}, flow.Client{})), tacit.InvalidCredentials)
	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: tok, Password: ownersPassword}, flow.Client{})), tacit.SignedIn)
}

// TestVerifyGuessesThrottled: someone holding a leaked link cannot guess
// the sign-up's password freely. Tries count per address, across all its
// links, and the limit holds the right password back too.
func TestVerifyGuessesThrottled(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.FullForm)
	addr := "vic@example.com"
	owners, intruders := signUpTwice(t, e, addr)
	lim := e.svc.Limits().Login
	for i := range lim.Free {
		tok := []string{owners, intruders}[i%2]
		wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: tok, Password: "a guess at it 3"}, flow.Client{})), tacit.InvalidCredentials)
	}
	o := e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: owners, Password: ownersPassword}, flow.Client{}))
	wantKind(t, o, tacit.Throttled)
	if o.RetryAfter <= 0 || o.RetryAfter > lim.Delay {
		t.Fatalf("retry after %v, want (0, %v]", o.RetryAfter, lim.Delay)
	}
	e.clock.Advance(o.RetryAfter)
	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: owners, Password: ownersPassword}, flow.Client{})), tacit.SignedIn)
}

// TestVerifyTokenChecksComeFirst: a token that works for nothing gets
// InvalidToken whatever the password, and costs no hash or count.
func TestVerifyTokenChecksComeFirst(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.FullForm, func(c *flow.Config) { c.SignupTTL = time.Hour })
	unknown, _ := tacit.NewToken()
	for _, pw := range []string{"", ownersPassword} {
		wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: unknown, Password: pw}, flow.Client{})), tacit.InvalidToken)
		wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: "short", Password: pw}, flow.Client{})), tacit.InvalidToken)
	}
	addr := "late@example.com"
	e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: addr, Password: ownersPassword, PasswordConfirm: ownersPassword}, flow.Client{}))
	tok := e.linkToken(t, addr, tacit.MailVerify)
	e.clock.Advance(time.Hour)
	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: tok, Password: ownersPassword}, flow.Client{})), tacit.InvalidToken)
}

// TestFullFormTokenDoesNotComplete: the link of a full-form sign-up works
// only where the password chosen at sign-up is asked for. Before, the
// email-first completion took it too and set whatever password its holder
// typed, which would let anyone holding the link (a mail scanner's log, a
// forwarded mail) skip the password check of Verify, and its throttle.
func TestFullFormTokenDoesNotComplete(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.FullForm)
	addr := "vic@example.com"
	owners, _ := signUpTwice(t, e, addr)
	in := flow.CompleteInput{Token: owners, Password: "holder chose 3", PasswordConfirm: "holder chose 3"}
	wantKind(t, e.ok(e.svc.CompleteSignup(ctx, in, flow.Client{})), tacit.InvalidToken)
	wantKind(t, e.ok(e.svc.Login(ctx, addr, "holder chose 3", flow.Client{})), tacit.InvalidCredentials)
	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: owners, Password: ownersPassword}, flow.Client{})), tacit.SignedIn)
}

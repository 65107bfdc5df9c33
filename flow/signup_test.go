package flow_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

func TestEmailFirstSignUp(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	c := flow.Client{IP: "192.0.2.7", UserAgent: "test"}

	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "  Nell@Example.COM "}, flow.Client{})), tacit.CheckInbox)
	token := e.linkToken(t, "nell@example.com", tacit.MailFinishSignup)

	// A bad password is refused and the token keeps working.
	o := e.ok(e.svc.CompleteSignup(ctx, flow.CompleteInput{Token: token, Password: "short", PasswordConfirm: "short"}, c))
	if !reflect.DeepEqual(o.Fields, tacit.FieldErrors{"password": tacit.CodeTooShort}) {
		t.Fatalf("complete with short password = %+v", o)
	}
	o = e.ok(e.svc.CompleteSignup(ctx, flow.CompleteInput{Token: token, Password: "plum orchard 7", PasswordConfirm: "plum orchard 7"}, c))
	wantKind(t, o, tacit.AccountCreated)

	id, err := e.svc.Session(ctx, o.Session.Token)
	if err != nil || id.Account.Email != "nell@example.com" || id.Session.IP != "192.0.2.7" {
		t.Fatalf("Session = %+v, %v", id, err)
	}
	// The link is single use.
	o = e.ok(e.svc.CompleteSignup(ctx, flow.CompleteInput{Token: token, Password: "plum orchard 7", PasswordConfirm: "plum orchard 7"}, c))
	wantKind(t, o, tacit.InvalidToken)

	wantKind(t, e.ok(e.svc.Login(ctx, "NELL@example.com", "plum orchard 7", c)), tacit.SignedIn)
	wantKind(t, e.ok(e.svc.Login(ctx, "nell@example.com", "plum orchard 8", c)), tacit.InvalidCredentials)

	// Signing up again mails the owner instead.
	wantKind(t, e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "nell@example.com"}, flow.Client{})), tacit.CheckInbox)
	ms := e.mails(t)
	if len(ms) != 1 || ms[0].Kind != tacit.MailAlreadyRegistered || ms[0].Data["reset"] != "https://auth.example.com/password/forgot" {
		t.Fatalf("mails after second sign-up = %+v", ms)
	}
}

func TestFullFormSignUp(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.FullForm)
	in := flow.RegisterInput{Email: "ida@example.com", Password: "plum orchard 7", PasswordConfirm: "plum orchard 7"}
	wantKind(t, e.ok(e.svc.Register(ctx, in, flow.Client{})), tacit.CheckInbox)
	token := e.linkToken(t, "ida@example.com", tacit.MailVerify)

	// Before verification the chosen password does not sign in.
	wantKind(t, e.ok(e.svc.Login(ctx, in.Email, in.Password, flow.Client{})), tacit.InvalidCredentials)

	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: token, Password: in.Password}, flow.Client{})), tacit.SignedIn)
	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: token, Password: in.Password}, flow.Client{})), tacit.InvalidToken)
	wantKind(t, e.ok(e.svc.Login(ctx, in.Email, in.Password, flow.Client{})), tacit.SignedIn)
}

func TestEmailFirstTokenDoesNotVerify(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "jo@example.com"}, flow.Client{}))
	token := e.linkToken(t, "jo@example.com", tacit.MailFinishSignup)
	// Verify would create an account with no password.
	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: token, Password: "plum orchard 7"}, flow.Client{})), tacit.InvalidToken)
}

func TestFirstCompletedSignUpWins(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.FullForm)
	for _, pw := range []string{"first choice 1", "second choice 2"} {
		e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "kim@example.com", Password: pw, PasswordConfirm: pw}, flow.Client{}))
	}
	var tokens []string
	for _, m := range e.mails(t) {
		tokens = append(tokens, m.Data["link"][strings.Index(m.Data["link"], "token=")+6:])
	}
	if len(tokens) != 2 {
		t.Fatalf("got %d mails, want 2", len(tokens))
	}
	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: tokens[1], Password: "second choice 2"}, flow.Client{})), tacit.SignedIn)
	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: tokens[0], Password: "first choice 1"}, flow.Client{})), tacit.InvalidToken)
	wantKind(t, e.ok(e.svc.Login(ctx, "kim@example.com", "first choice 1", flow.Client{})), tacit.InvalidCredentials)
	wantKind(t, e.ok(e.svc.Login(ctx, "kim@example.com", "second choice 2", flow.Client{})), tacit.SignedIn)
}

func TestResendGivesAFreshWorkingLink(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.FullForm)
	e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "lu@example.com", Password: "plum orchard 7", PasswordConfirm: "plum orchard 7"}, flow.Client{}))
	first := e.linkToken(t, "lu@example.com", tacit.MailVerify)
	wantKind(t, e.ok(e.svc.ResendVerification(ctx, "lu@example.com", flow.Client{})), tacit.CheckInbox)
	second := e.linkToken(t, "lu@example.com", tacit.MailVerify)
	if first == second {
		t.Fatal("resend reused the token")
	}
	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: second, Password: "plum orchard 7"}, flow.Client{})), tacit.SignedIn)
	wantKind(t, e.ok(e.svc.Login(ctx, "lu@example.com", "plum orchard 7", flow.Client{})), tacit.SignedIn)
}

func TestSignUpLinkExpires(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) { c.SignupTTL = time.Hour })
	e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "mo@example.com"}, flow.Client{}))
	token := e.linkToken(t, "mo@example.com", tacit.MailFinishSignup)
	e.clock.Advance(time.Hour)
	o := e.ok(e.svc.CompleteSignup(ctx, flow.CompleteInput{Token: token, Password: "plum orchard 7", PasswordConfirm: "plum orchard 7"}, flow.Client{}))
	wantKind(t, o, tacit.InvalidToken)
	// An expired sign-up is not pending any more: resend sends nothing.
	e.ok(e.svc.ResendVerification(ctx, "mo@example.com", flow.Client{}))
	if ms := e.mails(t); len(ms) != 1 || ms[0].Kind != tacit.MailNone {
		t.Fatalf("mails = %+v, want one MailNone", ms)
	}
}

func TestMalformedTokens(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	valid, _ := tacit.NewToken() // well formed but never issued
	for _, tok := range []string{"", "x", strings.Repeat("a", 10000), "../../etc/passwd", "\xff\xfe", valid} {
		o := e.ok(e.svc.CompleteSignup(ctx, flow.CompleteInput{Token: tok, Password: "plum orchard 7", PasswordConfirm: "plum orchard 7"}, flow.Client{}))
		wantKind(t, o, tacit.InvalidToken)
		wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: tok, Password: "plum orchard 7"}, flow.Client{})), tacit.InvalidToken)
		if _, err := e.svc.Session(ctx, tok); !errors.Is(err, flow.ErrNoSession) {
			t.Errorf("Session(%q) = %v", tok, err)
		}
		wantKind(t, e.ok(e.svc.Logout(ctx, tok)), tacit.Done)
	}
}

func TestInvalidEmail(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	for in, code := range map[string]string{"": "required", "   ": "required", "nope": "invalid_email", "a@b": "invalid_email"} {
		o := e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: in}, flow.Client{}))
		if !reflect.DeepEqual(o, tacit.Outcome{Kind: tacit.Invalid, Fields: tacit.FieldErrors{"email": code}}) {
			t.Errorf("Register(%q) = %+v", in, o)
		}
		o = e.ok(e.svc.ResendVerification(ctx, in, flow.Client{}))
		if o.Kind != tacit.Invalid || o.Fields["email"] != code {
			t.Errorf("Resend(%q) = %+v", in, o)
		}
	}
	if ms := e.mails(t); len(ms) != 0 {
		t.Fatalf("invalid input queued %d mails", len(ms))
	}
}

func TestEmailUnicodeNormalisation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.FullForm)
	e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "E\u0301lise@Example.com", Password: "plum orchard 7", PasswordConfirm: "plum orchard 7"}, flow.Client{}))
	token := e.linkToken(t, "\u00e9lise@example.com", tacit.MailVerify)
	wantKind(t, e.ok(e.svc.Verify(ctx, flow.VerifyInput{Token: token, Password: "plum orchard 7"}, flow.Client{})), tacit.SignedIn)
	// The composed spelling signs in to the same account.
	wantKind(t, e.ok(e.svc.Login(ctx, "\u00c9LISE@example.com", "plum orchard 7", flow.Client{})), tacit.SignedIn)
}

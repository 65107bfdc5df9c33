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
	"github.com/tacitauth/tacit/internal/accountstate"
)

func signIn(t *testing.T, e *env, email string) string {
	t.Helper()
	ctx := context.Background()
	if err := accountstate.Arrange(ctx, e.store, e.hasher, accountstate.Verified, email, statePassword); err != nil {
		t.Fatal(err)
	}
	o := e.ok(e.svc.Login(ctx, email, statePassword, flow.Client{UserAgent: "browser"}))
	wantKind(t, o, tacit.SignedIn)
	return o.Session.Token
}

func TestSessionLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) {
		c.SessionIdle = time.Hour
		c.SessionLifetime = 3 * time.Hour
	})
	tok := signIn(t, e, "pat@example.com")

	// Seen every 50 minutes, the session outlives its idle limit...
	for i := 0; i < 3; i++ {
		e.clock.Advance(50 * time.Minute)
		if _, err := e.svc.Session(ctx, tok); err != nil {
			t.Fatalf("after %d×50m: %v", i+1, err)
		}
	}
	// ...but not its absolute lifetime.
	e.clock.Advance(40 * time.Minute)
	if _, err := e.svc.Session(ctx, tok); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("past lifetime: %v", err)
	}

	tok = signIn(t, e, "quin@example.com")
	e.clock.Advance(time.Hour)
	if _, err := e.svc.Session(ctx, tok); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("idle for an hour: %v", err)
	}

	tok = signIn(t, e, "ray@example.com")
	wantKind(t, e.ok(e.svc.Logout(ctx, tok)), tacit.Done)
	if _, err := e.svc.Session(ctx, tok); !errors.Is(err, flow.ErrNoSession) {
		t.Fatalf("after logout: %v", err)
	}
}

func TestEachLoginMakesANewSession(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	a := signIn(t, e, "sam@example.com")
	b := e.ok(e.svc.Login(ctx, "sam@example.com", statePassword, flow.Client{})).Session.Token
	if a == b {
		t.Fatal("login reused a session token")
	}
}

func TestDisabledAccount(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	if err := accountstate.Arrange(ctx, e.store, e.hasher, accountstate.Disabled, "dee@example.com", statePassword); err != nil {
		t.Fatal(err)
	}
	// Even the right password gets the one generic failure.
	wantKind(t, e.ok(e.svc.Login(ctx, "dee@example.com", statePassword, flow.Client{})), tacit.InvalidCredentials)
}

func TestEnvelope(t *testing.T) {
	ctx := context.Background()
	const floor = 60 * time.Millisecond
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) { c.Envelope = floor })
	junk := strings.Repeat("A", 43) // a well-formed token nobody was sent
	for _, run := range []func() error{
		func() error { _, err := e.svc.Login(ctx, "nobody@example.com", "x", flow.Client{}); return err },
		func() error {
			_, err := e.svc.Register(ctx, flow.RegisterInput{Email: "nobody@example.com"}, flow.Client{})
			return err
		},
		func() error { _, err := e.svc.ResendVerification(ctx, "nobody@example.com", flow.Client{}); return err },
		func() error { _, err := e.svc.ForgotPassword(ctx, "nobody@example.com", flow.Client{}); return err },
		// The flows of mailed links and of the second step are paced too.
		func() error { _, err := e.svc.LoginMFA(ctx, junk, "123456", flow.Client{}); return err },
		func() error {
			_, err := e.svc.ResetPassword(ctx, flow.ResetInput{Token: junk, Password: "fresh start 42", PasswordConfirm: "fresh start 42"}, flow.Client{})
			return err
		},
		func() error {
			_, err := e.svc.CompleteSignup(ctx, flow.CompleteInput{Token: junk, Password: "fresh start 42", PasswordConfirm: "fresh start 42"}, flow.Client{})
			return err
		},
		func() error {
			_, err := e.svc.Verify(ctx, flow.VerifyInput{Token: junk, Password: "fresh start 42"}, flow.Client{})
			return err
		},
		func() error { _, err := e.svc.ConfirmEmailChange(ctx, junk); return err },
	} {
		start := time.Now()
		if err := run(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < floor {
			t.Errorf("answered after %v, before the %v envelope", d, floor)
		}
	}
}

func TestMeasureEnvelope(t *testing.T) {
	e := newEnv(t, flow.EmailFirst)
	if d := flow.MeasureEnvelope(e.hasher); d < 4*time.Millisecond || d > 5*time.Second {
		t.Fatalf("MeasureEnvelope = %v", d)
	}
}

// An identity goes to every page and to applications that embed tacit,
// so it must hold no secret: no password hash, no token or token hash, at
// any depth.
func TestIdentityHoldsNoSecret(t *testing.T) {
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		if typ.Kind() != reflect.Struct || typ.PkgPath() == "time" {
			return
		}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name := strings.ToLower(f.Name)
			if strings.Contains(name, "hash") || strings.Contains(name, "token") || strings.Contains(name, "secret") {
				t.Errorf("flow.Identity%s.%s would hand out a secret", path, f.Name)
			}
			walk(path+"."+f.Name, f.Type)
		}
	}
	walk("", reflect.TypeOf(flow.Identity{}))
}

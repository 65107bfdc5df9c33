package flow_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// An address that differs from another only by an invisible code point is
// refused with invalid_email by every flow that takes a new address, the
// same way whether or not its look-alike has an account, before anything
// is looked up: "a\u200bb@example.com" can never become an account that
// passes for "ab@example.com".
func TestInvisibleCharactersRefused(t *testing.T) {
	ctx := context.Background()
	const pw = "plum orchard 7"
	variants := map[string]string{
		"zero-width space":       "\u200b",
		"zero-width joiner":      "\u200d",
		"soft hyphen":            "\u00ad",
		"word joiner":            "\u2060",
		"byte order mark":        "\ufeff",
		"right-to-left override": "\u202e",
		"left-to-right isolate":  "\u2066",
		"right-to-left mark":     "\u200f",
		"arabic letter mark":     "\u061c",
		"variation selector":     "\ufe0f",
		"tag character":          "\U000e0061",
	}
	for _, mode := range []flow.Mode{flow.EmailFirst, flow.FullForm} {
		e := newEnv(t, mode)
		if err := accountstate.Arrange(ctx, e.store, e.hasher, accountstate.Verified, "owner@example.com", pw); err != nil {
			t.Fatal(err)
		}
		signedIn := e.ok(e.svc.Login(ctx, "owner@example.com", pw, flow.Client{}))
		id, err := e.svc.Session(ctx, signedIn.Session.Token)
		if err != nil {
			t.Fatal(err)
		}
		e.mails(t)
		flows := map[string]func(email string) (tacit.Outcome, error){
			"register": func(email string) (tacit.Outcome, error) {
				return e.svc.Register(ctx, flow.RegisterInput{Email: email, Password: pw, PasswordConfirm: pw}, flow.Client{})
			},
			"resend": func(email string) (tacit.Outcome, error) { return e.svc.ResendVerification(ctx, email, flow.Client{}) },
			"forgot": func(email string) (tacit.Outcome, error) { return e.svc.ForgotPassword(ctx, email, flow.Client{}) },
			"change email": func(email string) (tacit.Outcome, error) {
				return e.svc.ChangeEmail(ctx, id, email, pw, flow.Client{})
			},
		}
		want := tacit.Outcome{Kind: tacit.Invalid, Fields: tacit.FieldErrors{"email": tacit.CodeInvalidEmail}}
		for fname, run := range flows {
			for vname, inv := range variants {
				// "owner" has an account, "nobody" has none.
				for _, local := range []string{"owner", "nobody"} {
					for _, email := range []string{local[:2] + inv + local[2:] + "@example.com", local + "@exam" + inv + "ple.com", inv + local + "@example.com"} {
						o := e.ok(run(email))
						if !reflect.DeepEqual(o, want) {
							t.Errorf("%s: %s %s (%+q) = %+v, want %+v", mode, fname, vname, email, o, want)
						}
					}
				}
			}
		}
		if ms := e.mails(t); len(ms) != 0 {
			t.Errorf("%s: refused addresses queued %d mails: %+v", mode, len(ms), ms)
		}
	}
}

package flow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/passkeytest"
)

// authenticator is the software authenticator of the flow tests' origin.
var authenticator = &passkeytest.Authenticator{Origin: "https://auth.example.com"}

// assert answers a ceremony's options with an assertion by p.
func (e *env) assert(cer flow.Ceremony, p *passkeytest.Passkey, tweak passkeytest.Tweak) []byte {
	e.t.Helper()
	resp, err := authenticator.Get(cer.Options, p, tweak)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// addPasskey adds a new passkey to id's account (a fresh sign-in: no
// password needed) and returns it.
func (e *env) addPasskey(id flow.Identity, name string) *passkeytest.Passkey {
	e.t.Helper()
	ctx := context.Background()
	o, cer, err := e.svc.BeginPasskey(ctx, id, "", flow.Client{})
	if err != nil || o.Kind != tacit.Done {
		e.t.Fatalf("begin passkey = %+v, %v", o, err)
	}
	resp, p, err := authenticator.Create(cer.Options)
	if err != nil {
		e.t.Fatal(err)
	}
	wantKind(e.t, e.ok(e.svc.AddPasskey(ctx, id, cer.Token, name, resp)), tacit.Done)
	return p
}

// passkeyLogin signs in with p, no address typed.
func (e *env) passkeyLogin(p *passkeytest.Passkey, tweak passkeytest.Tweak) tacit.Outcome {
	e.t.Helper()
	_, cer, err := e.svc.PasskeyLoginOptions(context.Background(), flow.Client{})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.ok(e.svc.PasskeyLogin(context.Background(), cer.Token, e.assert(cer, p, tweak), flow.Client{}))
}

func TestPasskeyAddListRenameRemove(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	email := "ada@example.com"
	arrange(t, e, accountstate.Verified, email)
	id := e.identity(email)
	e.mails(t)

	// The creation options: a discoverable credential, the holder
	// verified, and a 64-byte random user handle with no address in it.
	_, cer, err := e.svc.BeginPasskey(ctx, id, "", flow.Client{})
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		PublicKey struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
			AuthenticatorSelection struct {
				ResidentKey      string `json:"residentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			Exclude []any `json:"excludeCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(cer.Options, &opts); err != nil {
		t.Fatal(err)
	}
	if n := len(opts.PublicKey.User.ID); n != 86 { // 64 bytes, base64url
		t.Errorf("user handle %q: %d characters, want 86", opts.PublicKey.User.ID, n)
	}
	if opts.PublicKey.AuthenticatorSelection.ResidentKey != "required" || opts.PublicKey.AuthenticatorSelection.UserVerification != "required" || len(opts.PublicKey.Exclude) != 0 {
		t.Errorf("creation options %s", cer.Options)
	}
	if bytes.Contains(cer.Options, []byte("excludeCredentials")) {
		t.Errorf("options of an account without passkeys exclude some: %s", cer.Options)
	}

	laptop := e.addPasskey(id, "laptop")
	if got := mailKinds(e.mails(t), email); !reflect.DeepEqual(got, []tacit.MailKind{tacit.MailPasskeyAdded}) {
		t.Errorf("mails after adding = %v", got)
	}
	phone := e.addPasskey(id, "  phone\u200b ")
	if !bytes.Equal(laptop.UserHandle, phone.UserHandle) {
		t.Error("two passkeys of one account carry different user handles")
	}
	list, err := e.svc.Passkeys(ctx, id)
	if err != nil || len(list) != 2 || list[0].Name != "laptop" || list[1].Name != "phone" || !list[0].LastUsedAt.IsZero() {
		t.Fatalf("passkeys = %+v, %v", list, err)
	}

	// excludeCredentials lists this account's passkeys, no other's.
	other := "bob@example.com"
	arrange(t, e, accountstate.Verified, other)
	bobID := e.identity(other)
	bobKey := e.addPasskey(bobID, "bob's")
	_, cer, _ = e.svc.BeginPasskey(ctx, id, "", flow.Client{})
	for _, p := range []*passkeytest.Passkey{laptop, phone} {
		if !bytes.Contains(cer.Options, []byte(b64(p.ID))) {
			t.Errorf("excludeCredentials lacks one of the account's own passkeys: %s", cer.Options)
		}
	}
	if bytes.Contains(cer.Options, []byte(b64(bobKey.ID))) {
		t.Errorf("excludeCredentials names another account's passkey: %s", cer.Options)
	}

	// Rename and remove, only one's own.
	wantKind(t, e.ok(e.svc.RenamePasskey(ctx, id, list[0].ID, "work laptop")), tacit.Done)
	if o, err := e.svc.RenamePasskey(ctx, id, list[0].ID, strings.Repeat("x", flow.PasskeyNameMax+1)); err != nil || o.Kind != tacit.Invalid {
		t.Errorf("long name = %+v, %v", o, err)
	}
	if _, err := e.svc.RenamePasskey(ctx, bobID, list[0].ID, "mine"); !errors.Is(err, flow.ErrNoPasskey) {
		t.Errorf("renaming another's passkey: %v", err)
	}
	if _, err := e.svc.RemovePasskey(ctx, bobID, list[0].ID, "", flow.Client{}); !errors.Is(err, flow.ErrNoPasskey) {
		t.Errorf("removing another's passkey: %v", err)
	}
	e.mails(t)
	wantKind(t, e.ok(e.svc.RemovePasskey(ctx, id, list[1].ID, "", flow.Client{})), tacit.Done)
	ms := e.mails(t)
	if len(ms) != 1 || ms[0].Kind != tacit.MailPasskeyRemoved || ms[0].Data["name"] != "phone" {
		t.Errorf("mails after removing = %+v", ms)
	}
	list, _ = e.svc.Passkeys(ctx, id)
	if len(list) != 1 || list[0].Name != "work laptop" {
		t.Errorf("passkeys after rename and remove = %+v", list)
	}
	// The removed passkey signs in no more; the other does.
	wantKind(t, e.passkeyLogin(phone, passkeytest.Honest), tacit.InvalidCredentials)
	wantKind(t, e.passkeyLogin(laptop, passkeytest.Honest), tacit.SignedIn)
	list, _ = e.svc.Passkeys(ctx, id)
	if list[0].LastUsedAt.IsZero() {
		t.Error("a sign-in left LastUsedAt zero")
	}
}

func b64(b []byte) string {
	s, _ := json.Marshal(b) // standard base64
	return strings.NewReplacer("+", "-", "/", "_", "=", "", `"`, "").Replace(string(s))
}

// TestPasskeyNeedsPasswordOrFreshSignIn: a session signed in long ago
// must give the password to add a passkey, and a wrong one fails like a
// sign-in.
func TestPasskeyNeedsPasswordOrFreshSignIn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	email := "ada@example.com"
	arrange(t, e, accountstate.Verified, email)
	id := e.identity(email)
	e.clock.Advance(flow.PasskeyFreshSignIn)
	o, _, err := e.svc.BeginPasskey(ctx, id, "", flow.Client{})
	if err != nil || !reflect.DeepEqual(o, tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired})) {
		t.Errorf("stale session without password = %+v, %v", o, err)
	}
	o, _, _ = e.svc.BeginPasskey(ctx, id, "wrong", flow.Client{})
	wantKind(t, o, tacit.InvalidCredentials)
	o, cer, _ := e.svc.BeginPasskey(ctx, id, statePassword, flow.Client{})
	wantKind(t, o, tacit.Done)
	resp, _, _ := authenticator.Create(cer.Options)
	wantKind(t, e.ok(e.svc.AddPasskey(ctx, id, cer.Token, "k", resp)), tacit.Done)
}

// TestThiefCannotStripPasskeys: a thief on a session signed in long ago
// (a browser left open) cannot remove the owner's passkey, which may be
// the account's only second step, without the password; the owner with it
// can.
func TestThiefCannotStripPasskeys(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	email := "ada@example.com"
	arrange(t, e, accountstate.Verified, email)
	owner := e.identity(email)
	e.addPasskey(owner, "laptop")
	list, _ := e.svc.Passkeys(ctx, owner)
	thief := owner // the owner's session, left open in a browser
	e.clock.Advance(flow.FreshSignIn)
	o, err := e.svc.RemovePasskey(ctx, thief, list[0].ID, "", flow.Client{})
	if err != nil || !reflect.DeepEqual(o, tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired})) {
		t.Errorf("removing on a stale session without the password = %+v, %v", o, err)
	}
	wantKind(t, e.ok(e.svc.RemovePasskey(ctx, thief, list[0].ID, "wrong password", flow.Client{})), tacit.InvalidCredentials)
	if left, _ := e.svc.Passkeys(ctx, owner); len(left) != 1 {
		t.Fatalf("the passkey went without the password: %+v", left)
	}
	wantKind(t, e.ok(e.svc.RemovePasskey(ctx, thief, list[0].ID, statePassword, flow.Client{})), tacit.Done)
	if left, _ := e.svc.Passkeys(ctx, owner); len(left) != 0 {
		t.Errorf("passkeys after removing with the password: %+v", left)
	}
}

// TestPasskeyCeremonyBoundToAccount: a registration ceremony is spent
// once, and only by the account that began it.
func TestPasskeyCeremonyBoundToAccount(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	arrange(t, e, accountstate.Verified, "ada@example.com")
	arrange(t, e, accountstate.Verified, "eve@example.com")
	ada, eve := e.identity("ada@example.com"), e.identity("eve@example.com")
	_, cer, _ := e.svc.BeginPasskey(ctx, ada, "", flow.Client{})
	resp, _, _ := authenticator.Create(cer.Options)
	incorrect := tacit.InvalidInput(tacit.FieldErrors{"credential": tacit.CodeIncorrect})
	if o := e.ok(e.svc.AddPasskey(ctx, eve, cer.Token, "stolen", resp)); !reflect.DeepEqual(o, incorrect) {
		t.Errorf("another account's ceremony = %+v", o)
	}
	// Spent by the attempt: ada begins again.
	if o := e.ok(e.svc.AddPasskey(ctx, ada, cer.Token, "k", resp)); !reflect.DeepEqual(o, incorrect) {
		t.Errorf("a spent ceremony = %+v", o)
	}
	if o := e.ok(e.svc.AddPasskey(ctx, ada, "garbage", "k", []byte("{}"))); !reflect.DeepEqual(o, incorrect) {
		t.Errorf("garbage = %+v", o)
	}
	if list, _ := e.svc.Passkeys(ctx, eve); len(list) != 0 {
		t.Errorf("eve has %+v", list)
	}
}

// TestPasskeyLoginFailuresAlike: every way a passkey sign-in can fail
// gets the one answer, and changes nothing of the account.
func TestPasskeyLoginFailuresAlike(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	email := "ada@example.com"
	arrange(t, e, accountstate.Verified, email)
	p := e.addPasskey(e.identity(email), "laptop")
	arrange(t, e, accountstate.PasskeyEnabled, "bob@example.com")
	other := accountstate.Passkey("bob@example.com")
	want := tacit.Outcome{Kind: tacit.InvalidCredentials}
	cases := map[string]func() tacit.Outcome{
		"unknown credential": func() tacit.Outcome {
			return e.passkeyLogin(passkeytest.Stranger("auth.example.com"), passkeytest.Honest)
		},
		"bad signature": func() tacit.Outcome { return e.passkeyLogin(p, passkeytest.BadSignature) },
		"other user handle": func() tacit.Outcome {
			q := *p
			q.UserHandle = other.UserHandle
			return e.passkeyLogin(&q, passkeytest.Honest)
		},
		"replayed challenge": func() tacit.Outcome {
			_, cer, _ := e.svc.PasskeyLoginOptions(ctx, flow.Client{})
			resp := e.assert(cer, p, passkeytest.Honest)
			wantKind(t, e.ok(e.svc.PasskeyLogin(ctx, cer.Token, resp, flow.Client{})), tacit.SignedIn)
			return e.ok(e.svc.PasskeyLogin(ctx, cer.Token, resp, flow.Client{}))
		},
		"no challenge": func() tacit.Outcome {
			_, cer, _ := e.svc.PasskeyLoginOptions(ctx, flow.Client{})
			return e.ok(e.svc.PasskeyLogin(ctx, "", e.assert(cer, p, passkeytest.Honest), flow.Client{}))
		},
		"expired challenge": func() tacit.Outcome {
			_, cer, _ := e.svc.PasskeyLoginOptions(ctx, flow.Client{})
			e.clock.Advance(flow.PasskeyTTL)
			return e.ok(e.svc.PasskeyLogin(ctx, cer.Token, e.assert(cer, p, passkeytest.Honest), flow.Client{}))
		},
		"malformed answer": func() tacit.Outcome {
			_, cer, _ := e.svc.PasskeyLoginOptions(ctx, flow.Client{})
			return e.ok(e.svc.PasskeyLogin(ctx, cer.Token, []byte(`{"id":"x"}`), flow.Client{}))
		},
	}
	for name, run := range cases {
		if got := run(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	wantKind(t, e.passkeyLogin(other, passkeytest.Honest), tacit.SignedIn)
}

// TestPasskeyLoginDisabledAccount: a disabled account's passkey signs in
// no more, with the one failure.
func TestPasskeyLoginDisabledAccount(t *testing.T) {
	e := newEnv(t, flow.EmailFirst)
	arrange(t, e, accountstate.PasskeyEnabled, "on@example.com")
	wantKind(t, e.passkeyLogin(accountstate.Passkey("on@example.com"), passkeytest.Honest), tacit.SignedIn)
	// A Disabled account with the same passkey arranged by hand.
	arrange(t, e, accountstate.Disabled, "off@example.com")
	ctx := context.Background()
	p := accountstate.Passkey("off@example.com")
	if err := e.store.Update(ctx, func(tx tacit.Tx) error {
		a, err := tx.AccountByEmail(ctx, "off@example.com")
		if err != nil {
			return err
		}
		return accountstate.AddPasskey(ctx, tx, a, e.clock.Now())
	}); err != nil {
		t.Fatal(err)
	}
	if got := e.passkeyLogin(p, passkeytest.Honest); !reflect.DeepEqual(got, tacit.Outcome{Kind: tacit.InvalidCredentials}) {
		t.Errorf("disabled account = %+v", got)
	}
}

// TestPasskeyCloneWarning: a counter that goes backwards is logged and
// not stored.
func TestPasskeyCloneWarning(t *testing.T) {
	var log bytes.Buffer
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) { c.Log = slog.New(slog.NewTextHandler(&log, nil)) })
	arrange(t, e, accountstate.Verified, "ada@example.com")
	p := e.addPasskey(e.identity("ada@example.com"), "k")
	wantKind(t, e.passkeyLogin(p, passkeytest.Honest), tacit.SignedIn)
	wantKind(t, e.passkeyLogin(p, passkeytest.Honest), tacit.SignedIn)
	if strings.Contains(log.String(), "cloned") {
		t.Fatalf("warning for a counter going up: %s", log.String())
	}
	p.Count = 1
	wantKind(t, e.passkeyLogin(p, passkeytest.OldCounter), tacit.SignedIn)
	if !strings.Contains(log.String(), "may be cloned") {
		t.Errorf("no clone warning in %q", log.String())
	}
}

// TestPasskeySecondStep: after the right password, an account with a
// passkey needs it (or its TOTP code); only then does it get its
// credential ids.
func TestPasskeySecondStep(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	email := "ada@example.com"
	arrange(t, e, accountstate.Verified, email)
	p := e.addPasskey(e.identity(email), "laptop")

	o := e.ok(e.svc.Login(ctx, email, statePassword, flow.Client{}))
	wantKind(t, o, tacit.MFARequired)
	so, cer, err := e.svc.PasskeySecondStep(ctx, o.Challenge.Token, flow.Client{})
	if err != nil || so.Kind != tacit.Done || !bytes.Contains(cer.Options, []byte(b64(p.ID))) {
		t.Fatalf("second step = %s, %v, %v", cer.Options, so.Kind, err)
	}
	// A wrong assertion counts as a failed second step; the right one
	// signs in.
	wantKind(t, e.ok(e.svc.LoginMFAPasskey(ctx, o.Challenge.Token, cer.Token, e.assert(cer, p, passkeytest.BadSignature), flow.Client{})), tacit.InvalidCredentials)
	_, cer, _ = e.svc.PasskeySecondStep(ctx, o.Challenge.Token, flow.Client{})
	wantKind(t, e.ok(e.svc.LoginMFAPasskey(ctx, o.Challenge.Token, cer.Token, e.assert(cer, p, passkeytest.Honest), flow.Client{})), tacit.SignedIn)

	// Without the second-step token, nothing.
	if so, _, _ := e.svc.PasskeySecondStep(ctx, "not a token", flow.Client{}); so.Kind != tacit.InvalidCredentials {
		t.Errorf("options without a second step: %v", so.Kind)
	}
	// Another account's passkey is no second step for this one.
	arrange(t, e, accountstate.PasskeyEnabled, "eve@example.com")
	o = e.ok(e.svc.Login(ctx, email, statePassword, flow.Client{}))
	_, cer, _ = e.svc.PasskeySecondStep(ctx, o.Challenge.Token, flow.Client{})
	wantKind(t, e.ok(e.svc.LoginMFAPasskey(ctx, o.Challenge.Token, cer.Token, e.assert(cer, accountstate.Passkey("eve@example.com"), passkeytest.Honest), flow.Client{})), tacit.InvalidCredentials)
}

// TestThiefPasskeyDiesWithPassword: a thief who has the password signs
// in and adds a passkey of their own. When the owner changes the
// password, or resets it, the thief's passkey signs in no more, and a
// ceremony the thief had begun cannot be finished.
func TestThiefPasskeyDiesWithPassword(t *testing.T) {
	for _, how := range []string{"change", "reset"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, flow.EmailFirst)
			email := "ada@example.com"
			arrange(t, e, accountstate.Verified, email)
			owner := e.identity(email)
			thief := e.identity(email)
			stolen := e.addPasskey(thief, "thief")
			_, pending, _ := e.svc.BeginPasskey(ctx, thief, "", flow.Client{})
			wantKind(t, e.passkeyLogin(stolen, passkeytest.Honest), tacit.SignedIn)

			const newPassword = "owner's new one 1"
			switch how {
			case "change":
				wantKind(t, e.ok(e.svc.ChangePassword(ctx, owner, flow.ChangePasswordInput{
					CurrentPassword: statePassword, Password: newPassword, PasswordConfirm: newPassword, KeepOtherSessions: true,
				}, flow.Client{})), tacit.Done)
			case "reset":
				wantKind(t, e.ok(e.svc.ForgotPassword(ctx, email, flow.Client{})), tacit.CheckInbox)
				wantKind(t, e.ok(e.svc.ResetPassword(ctx, flow.ResetInput{Token: e.resetToken(t, email), Password: newPassword, PasswordConfirm: newPassword}, flow.Client{})), tacit.Done)
			}
			wantKind(t, e.passkeyLogin(stolen, passkeytest.Honest), tacit.InvalidCredentials)
			resp, _, _ := authenticator.Create(pending.Options)
			if o := e.ok(e.svc.AddPasskey(ctx, thief, pending.Token, "again", resp)); o.Kind != tacit.Invalid {
				t.Errorf("the thief's pending ceremony after the %s = %+v", how, o)
			}
			if list, _ := e.svc.Passkeys(ctx, owner); len(list) != 0 {
				t.Errorf("passkeys after the %s: %+v", how, list)
			}
			var changed tacit.Mail
			for _, m := range e.mails(t) {
				if m.Kind == tacit.MailPasswordChanged {
					changed = m
				}
			}
			if changed.Data["passkeys"] != "1" {
				t.Errorf("password-changed mail = %+v, want it to say 1 passkey was removed", changed)
			}
			// The new password alone signs in again: no second step left.
			wantKind(t, e.ok(e.svc.Login(ctx, email, newPassword, flow.Client{})), tacit.SignedIn)
		})
	}
}

func TestPasskeysOffForIPHost(t *testing.T) {
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) {
		u := *c.Links.Base
		u.Host = "127.0.0.1:4455"
		c.Links.Base = &u
	})
	if e.svc.PasskeysOn() {
		t.Error("passkeys on for an IP address")
	}
	if _, _, err := e.svc.PasskeyLoginOptions(context.Background(), flow.Client{}); !errors.Is(err, flow.ErrPasskeysOff) {
		t.Errorf("options: %v", err)
	}
}

// TestPasskeyCeremoniesBoundedPerClient: every ceremony stores a row for
// flow.PasskeyTTL, so each way to begin one is bounded by the client's
// PasskeyIP rule, not only the sign-in without an address: anyone may
// sign up, and a fresh session could otherwise begin adding a passkey in
// a loop and grow the table without bound; a holder of the password,
// the second step's options likewise. Another client is not held back.
func TestPasskeyCeremoniesBoundedPerClient(t *testing.T) {
	ctx := context.Background()
	const free = 3
	tight := func(c *flow.Config) {
		l := flow.DefaultLimits()
		l.PasskeyIP = flow.Limit{Free: free, Delay: time.Hour, MaxDelay: time.Hour, Window: time.Hour}
		c.Limits = &l
	}
	starts := map[string]func(e *env, id flow.Identity, mfa string, c flow.Client) tacit.Outcome{
		"sign-in options": func(e *env, _ flow.Identity, _ string, c flow.Client) tacit.Outcome {
			o, _, err := e.svc.PasskeyLoginOptions(ctx, c)
			return e.ok(o, err)
		},
		"adding a passkey": func(e *env, id flow.Identity, _ string, c flow.Client) tacit.Outcome {
			o, _, err := e.svc.BeginPasskey(ctx, id, "", c)
			return e.ok(o, err)
		},
		"second step": func(e *env, _ flow.Identity, mfa string, c flow.Client) tacit.Outcome {
			o, _, err := e.svc.PasskeySecondStep(ctx, mfa, c)
			return e.ok(o, err)
		},
	}
	for name, start := range starts {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, flow.EmailFirst, tight)
			email := "ada@example.com"
			arrange(t, e, accountstate.Verified, email)
			id := e.identity(email)
			e.addPasskey(id, "laptop")
			mfa := e.ok(e.svc.Login(ctx, email, statePassword, flow.Client{IP: "192.0.2.50"}))
			wantKind(t, mfa, tacit.MFARequired)
			attacker, other := flow.Client{IP: "192.0.2.66"}, flow.Client{IP: "192.0.2.77"}
			for range free {
				wantKind(t, start(e, id, mfa.Challenge.Token, attacker), tacit.Done)
			}
			for range 5 {
				wantKind(t, start(e, id, mfa.Challenge.Token, attacker), tacit.Throttled)
			}
			wantKind(t, start(e, id, mfa.Challenge.Token, other), tacit.Done)
		})
	}
}

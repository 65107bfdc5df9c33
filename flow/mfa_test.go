package flow_test

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// code returns the TOTP code of secret at the env's clock plus skew.
func (e *env) code(secret string, skew time.Duration) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clock.Now().Add(skew))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// identity signs email in (it must not have MFA on) and returns the session.
func (e *env) identity(email string) flow.Identity {
	e.t.Helper()
	o := e.ok(e.svc.Login(context.Background(), email, statePassword, flow.Client{}))
	wantKind(e.t, o, tacit.SignedIn)
	id, err := e.svc.Session(context.Background(), o.Session.Token)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// enrol gives a fresh verified account at email MFA and returns its
// secret and recovery codes. The clock then moves a step on, so the code
// used to enable is spent.
func (e *env) enrol(email string) (flow.Identity, string, []string) {
	e.t.Helper()
	ctx := context.Background()
	if err := accountstate.Arrange(ctx, e.store, e.hasher, accountstate.Verified, email, statePassword); err != nil {
		e.t.Fatal(err)
	}
	id := e.identity(email)
	setup, err := e.svc.SetupTOTP(ctx, id, "Acme")
	if err != nil {
		e.t.Fatal(err)
	}
	o, codes, err := e.svc.EnableTOTP(ctx, id, e.code(setup.Secret, 0), statePassword, flow.Client{})
	if err != nil || o.Kind != tacit.Done {
		e.t.Fatalf("enable = %+v, %v", o, err)
	}
	e.clock.Advance(30 * time.Second)
	return id, setup.Secret, codes
}

// challenge signs in with the right password and returns the challenge.
func (e *env) challenge(email string) string {
	e.t.Helper()
	o := e.ok(e.svc.Login(context.Background(), email, statePassword, flow.Client{}))
	if o.Kind != tacit.MFARequired || o.Challenge == nil || o.Session != nil {
		e.t.Fatalf("login with MFA = %+v", o)
	}
	if want := e.clock.Now().Add(flow.ChallengeTTL); !o.Challenge.ExpiresAt.Equal(want) {
		e.t.Fatalf("challenge expires at %v, want %v", o.Challenge.ExpiresAt, want)
	}
	return o.Challenge.Token
}

func (e *env) loginMFA(challenge, code string) tacit.Outcome {
	e.t.Helper()
	return e.ok(e.svc.LoginMFA(context.Background(), challenge, code, flow.Client{UserAgent: "phone"}))
}

func mailKinds(ms []tacit.Mail, to string) []tacit.MailKind {
	var out []tacit.MailKind
	for _, m := range ms {
		if m.To == to {
			out = append(out, m.Kind)
		}
	}
	return out
}

func TestTOTPEnrolment(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	const email = "mia@example.com"
	if err := accountstate.Arrange(ctx, e.store, e.hasher, accountstate.Verified, email, statePassword); err != nil {
		t.Fatal(err)
	}
	id := e.identity(email)
	setup, err := e.svc.SetupTOTP(ctx, id, "Acme Login")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(setup.URI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Acme Login:"+email || q.Get("issuer") != "Acme Login" ||
		q.Get("secret") != setup.Secret || q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Fatalf("otpauth URI %q", setup.URI)
	}
	if len(setup.Secret) != 32 {
		t.Fatalf("secret %q: want 32 base32 characters (160 bits)", setup.Secret)
	}
	st, err := e.svc.MFAStatus(ctx, id, "Acme Login")
	if err != nil || st.Enabled || st.Pending == nil || *st.Pending != setup {
		t.Fatalf("status while pending = %+v, %v", st, err)
	}

	// A pending set-up does not change sign-in.
	e.identity(email)

	for _, bad := range []string{"", "12345", "abcdef", e.code(setup.Secret, 5*time.Minute)} {
		o, codes, err := e.svc.EnableTOTP(ctx, id, bad, statePassword, flow.Client{})
		want := tacit.CodeIncorrect
		if bad == "" {
			want = tacit.CodeRequired
		}
		if err != nil || !reflect.DeepEqual(o, tacit.InvalidInput(tacit.FieldErrors{"code": want})) || codes != nil {
			t.Fatalf("enable with %q = %+v, %v, %v", bad, o, codes, err)
		}
	}
	o, _, err := e.svc.EnableTOTP(ctx, id, e.code(setup.Secret, 0), "", flow.Client{})
	if err != nil || !reflect.DeepEqual(o, tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired})) {
		t.Fatalf("enable without the password = %+v, %v", o, err)
	}
	o, _, err = e.svc.EnableTOTP(ctx, id, e.code(setup.Secret, 0), "wrong password", flow.Client{})
	if err != nil || o.Kind != tacit.InvalidCredentials {
		t.Fatalf("enable with a wrong password = %+v, %v", o, err)
	}
	e.mails(t)
	o, codes, err := e.svc.EnableTOTP(ctx, id, e.code(setup.Secret, -30*time.Second), statePassword, flow.Client{})
	if err != nil || o.Kind != tacit.Done {
		t.Fatalf("enable = %+v, %v", o, err)
	}
	if len(codes) != flow.RecoveryCodes {
		t.Fatalf("%d recovery codes", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 27 || c[6] != '-' || c[13] != '-' || c[20] != '-' || seen[c] {
			t.Fatalf("recovery codes %q", codes)
		}
		seen[c] = true
	}
	if got := mailKinds(e.mails(t), email); !reflect.DeepEqual(got, []tacit.MailKind{tacit.MailMFAEnabled}) {
		t.Fatalf("mails %v", got)
	}
	st, err = e.svc.MFAStatus(ctx, id, "Acme Login")
	if err != nil || !st.Enabled || st.Pending != nil || st.RecoveryCodesLeft != flow.RecoveryCodes {
		t.Fatalf("status when enabled = %+v, %v", st, err)
	}
	if _, err := e.svc.SetupTOTP(ctx, id, "Acme Login"); !errors.Is(err, flow.ErrMFAEnabled) {
		t.Fatalf("set-up with MFA on: %v", err)
	}
	if _, _, err := e.svc.EnableTOTP(ctx, id, e.code(setup.Secret, 0), statePassword, flow.Client{}); !errors.Is(err, flow.ErrMFAEnabled) {
		t.Fatalf("enable with MFA on: %v", err)
	}
}

func TestLoginWithTOTP(t *testing.T) {
	e := newEnv(t, flow.EmailFirst)
	const email = "noa@example.com"
	_, secret, _ := e.enrol(email)

	// A wrong password for an account with MFA is answered as for any
	// address: the second step does not exist for it.
	for _, who := range []string{email, "nobody@example.com"} {
		o := e.ok(e.svc.Login(context.Background(), who, "not the password", flow.Client{}))
		if !reflect.DeepEqual(o, tacit.Outcome{Kind: tacit.InvalidCredentials}) {
			t.Fatalf("wrong password for %s = %+v", who, o)
		}
	}

	ch := e.challenge(email)
	code := e.code(secret, 0)
	o := e.loginMFA(ch, code)
	wantKind(t, o, tacit.SignedIn)
	if _, err := e.svc.Session(context.Background(), o.Session.Token); err != nil {
		t.Fatalf("session after MFA: %v", err)
	}
	// The challenge is spent, and the code cannot be replayed with a new one.
	wantKind(t, e.loginMFA(ch, e.code(secret, 0)), tacit.InvalidCredentials)
	ch = e.challenge(email)
	wantKind(t, e.loginMFA(ch, code), tacit.InvalidCredentials)
	// Nor can the code of the step before, though it is within the skew.
	wantKind(t, e.loginMFA(ch, e.code(secret, -30*time.Second)), tacit.InvalidCredentials)
	// The next step's code works, with the same challenge.
	wantKind(t, e.loginMFA(ch, e.code(secret, 30*time.Second)), tacit.SignedIn)

	// Garbage is refused alike.
	for _, bad := range []string{"", "x", strings.Repeat("A", 43)} {
		wantKind(t, e.loginMFA(bad, e.code(secret, 0)), tacit.InvalidCredentials)
	}
}

func TestRecoveryCodeSingleUse(t *testing.T) {
	e := newEnv(t, flow.EmailFirst)
	const email = "ola@example.com"
	id, _, codes := e.enrol(email)

	ch := e.challenge(email)
	wantKind(t, e.loginMFA(ch, codes[3]), tacit.SignedIn)
	wantKind(t, e.loginMFA(e.challenge(email), codes[3]), tacit.InvalidCredentials)
	// Typed in capitals, without the dash, with spaces: still the code.
	loose := " " + strings.ToUpper(strings.ReplaceAll(codes[4], "-", " ")) + " "
	wantKind(t, e.loginMFA(e.challenge(email), loose), tacit.SignedIn)
	st, err := e.svc.MFAStatus(context.Background(), id, "Acme")
	if err != nil || st.RecoveryCodesLeft != flow.RecoveryCodes-2 {
		t.Fatalf("status = %+v, %v", st, err)
	}
}

func TestChallengeDiesAfterFailures(t *testing.T) {
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) {
		l := flow.DefaultLimits()
		l.MFA = flow.Limit{} // only the challenge's own count here
		c.Limits = &l
	})
	const email = "pia@example.com"
	_, secret, _ := e.enrol(email)
	ch := e.challenge(email)
	for range flow.ChallengeFailures {
		wantKind(t, e.loginMFA(ch, "000000"), tacit.InvalidCredentials)
	}
	wantKind(t, e.loginMFA(ch, e.code(secret, 0)), tacit.InvalidCredentials)
	// A new password check opens a new challenge.
	wantKind(t, e.loginMFA(e.challenge(email), e.code(secret, 0)), tacit.SignedIn)
}

func TestWrongCodesAreThrottledPerAccount(t *testing.T) {
	e := newEnv(t, flow.EmailFirst)
	const email = "quy@example.com"
	_, secret, _ := e.enrol(email)
	_, other, _ := e.enrol("ria@example.com")
	lim := flow.DefaultLimits().MFA
	for i := 0; i < lim.Free; i++ {
		wantKind(t, e.loginMFA(e.challenge(email), "000000"), tacit.InvalidCredentials)
	}
	o := e.loginMFA(e.challenge(email), e.code(secret, 0))
	if o.Kind != tacit.Throttled || o.RetryAfter != lim.Delay {
		t.Fatalf("after %d wrong codes: %+v", lim.Free, o)
	}
	// Another account is not held back.
	wantKind(t, e.loginMFA(e.challenge("ria@example.com"), e.code(other, 0)), tacit.SignedIn)
	e.clock.Advance(lim.Delay)
	wantKind(t, e.loginMFA(e.challenge(email), e.code(secret, 0)), tacit.SignedIn)
	// Success cleared the count.
	wantKind(t, e.loginMFA(e.challenge(email), "000000"), tacit.InvalidCredentials)
	e.clock.Advance(30 * time.Second)
	wantKind(t, e.loginMFA(e.challenge(email), e.code(secret, 0)), tacit.SignedIn)
}

func TestChallengeExpires(t *testing.T) {
	e := newEnv(t, flow.EmailFirst)
	const email = "sam@example.com"
	_, secret, _ := e.enrol(email)
	ch := e.challenge(email)
	e.clock.Advance(flow.ChallengeTTL)
	wantKind(t, e.loginMFA(ch, e.code(secret, 0)), tacit.InvalidCredentials)
}

func TestDisableTOTP(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	const email = "tao@example.com"
	id, secret, _ := e.enrol(email)
	ch := e.challenge(email)
	e.mails(t)
	for pw, want := range map[string]tacit.Outcome{
		"":                 tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired}),
		"not the password": {Kind: tacit.InvalidCredentials},
	} {
		if o := e.ok(e.svc.DisableTOTP(ctx, id, pw, flow.Client{})); !reflect.DeepEqual(o, want) {
			t.Fatalf("disable with %q = %+v", pw, o)
		}
	}
	wantKind(t, e.ok(e.svc.DisableTOTP(ctx, id, statePassword, flow.Client{})), tacit.Done)
	if got := mailKinds(e.mails(t), email); !reflect.DeepEqual(got, []tacit.MailKind{tacit.MailMFADisabled}) {
		t.Fatalf("mails %v", got)
	}
	// The open challenge died with it; the password alone signs in now.
	wantKind(t, e.loginMFA(ch, e.code(secret, 0)), tacit.InvalidCredentials)
	e.identity(email)
	// Turning off what is off is Done and mails nobody.
	wantKind(t, e.ok(e.svc.DisableTOTP(ctx, id, statePassword, flow.Client{})), tacit.Done)
	if got := mailKinds(e.mails(t), email); got != nil {
		t.Fatalf("mails %v", got)
	}
}

func TestPasswordResetKeepsMFA(t *testing.T) {
	e := newEnv(t, flow.EmailFirst)
	const email = "uma@example.com"
	_, secret, _ := e.enrol(email)
	ch := e.challenge(email)
	e.mails(t)
	wantKind(t, e.reset(e.forgot(email), "a new password 5"), tacit.Done)
	// A challenge opened with the old password is dead.
	wantKind(t, e.loginMFA(ch, e.code(secret, 0)), tacit.InvalidCredentials)
	o := e.ok(e.svc.Login(context.Background(), email, "a new password 5", flow.Client{}))
	if o.Kind != tacit.MFARequired {
		t.Fatalf("login after reset = %+v", o)
	}
	wantKind(t, e.loginMFA(o.Challenge.Token, e.code(secret, 0)), tacit.SignedIn)
}

// TestMFAStateSignsInWithCode checks the arranged MFA state: its password
// leads to the second step, and a code from TOTPSecret finishes it.
func TestMFAStateSignsInWithCode(t *testing.T) {
	e := newEnv(t, flow.EmailFirst)
	email := addr(string(accountstate.MFAEnabled))
	if err := accountstate.Arrange(context.Background(), e.store, e.hasher, accountstate.MFAEnabled, email, statePassword); err != nil {
		t.Fatal(err)
	}
	wantKind(t, e.loginMFA(e.challenge(email), e.code(accountstate.TOTPSecret, 0)), tacit.SignedIn)
}

// The wrong code that locks the second step mails the owner once: whoever
// is at it has the password. Earlier and later failures mail nothing.
func TestMFALockMailsOwner(t *testing.T) {
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) {
		l := flow.DefaultLimits()
		l.MFA = flow.Limit{Free: 2, Lock: 3, LockFor: time.Hour, Window: time.Hour}
		c.Limits = &l
	})
	const email = "sol@example.com"
	e.enrol(email)
	e.mails(t)
	for i := 1; i <= 4; i++ {
		o := e.loginMFA(e.challenge(email), "000000")
		if i <= 2 && o.Kind != tacit.InvalidCredentials || i > 2 && o.Kind != tacit.InvalidCredentials && o.Kind != tacit.Throttled {
			t.Fatalf("wrong code %d: %+v", i, o)
		}
		got := mailKinds(e.mails(t), email)
		want := []tacit.MailKind(nil)
		if i == 3 {
			want = []tacit.MailKind{tacit.MailMFALocked}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("mails after wrong code %d: %v, want %v", i, got, want)
		}
	}
}

// TestRenewRecoveryCodes: new codes need the password (a thief holding
// only the session gets nothing and changes nothing), kill every old code,
// and mail the owner.
func TestRenewRecoveryCodes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	const email = "rune@example.com"
	id, _, old := e.enrol(email)
	e.mails(t)
	for pw, want := range map[string]tacit.Outcome{
		"":                 tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired}),
		"not the password": {Kind: tacit.InvalidCredentials},
	} {
		o, codes, err := e.svc.RenewRecoveryCodes(ctx, id, pw, flow.Client{})
		if err != nil || !reflect.DeepEqual(o, want) || codes != nil {
			t.Fatalf("renew with %q = %+v, %v, %v", pw, o, codes, err)
		}
	}
	if got := mailKinds(e.mails(t), email); got != nil {
		t.Fatalf("failed renewals mailed %v", got)
	}
	// The old codes still work after the failures.
	wantKind(t, e.loginMFA(e.challenge(email), old[0]), tacit.SignedIn)

	o, fresh, err := e.svc.RenewRecoveryCodes(ctx, id, statePassword, flow.Client{})
	if err != nil || o.Kind != tacit.Done || len(fresh) != flow.RecoveryCodes {
		t.Fatalf("renew = %+v, %v, %v", o, fresh, err)
	}
	if got := mailKinds(e.mails(t), email); !reflect.DeepEqual(got, []tacit.MailKind{tacit.MailRecoveryCodesRenewed}) {
		t.Fatalf("mails %v", got)
	}
	for _, c := range old[1:] {
		for _, n := range fresh {
			if c == n {
				t.Fatalf("code %s survived the renewal", c)
			}
		}
	}
	wantKind(t, e.loginMFA(e.challenge(email), old[1]), tacit.InvalidCredentials)
	wantKind(t, e.loginMFA(e.challenge(email), fresh[0]), tacit.SignedIn)
	st, err := e.svc.MFAStatus(ctx, id, "Acme")
	if err != nil || st.RecoveryCodesLeft != flow.RecoveryCodes-1 {
		t.Fatalf("status = %+v, %v", st, err)
	}

	// Without MFA there is nothing to renew, and no codes appear.
	wantKind(t, e.ok(e.svc.DisableTOTP(ctx, id, statePassword, flow.Client{})), tacit.Done)
	e.mails(t)
	if _, codes, err := e.svc.RenewRecoveryCodes(ctx, id, statePassword, flow.Client{}); !errors.Is(err, flow.ErrMFAOff) || codes != nil {
		t.Fatalf("renew without MFA = %v, %v", codes, err)
	}
	if got := mailKinds(e.mails(t), email); got != nil {
		t.Fatalf("mails %v", got)
	}
}

// Recovery codes carry 120 random bits (24 base32 characters, shown in
// groups of six), past the 112 from which ASVS 6.5.2 and NIST SP 800-63B
// §5.1.2.2 allow storing a look-up secret under a plain hash: what is
// stored is SHA-256 of the code, and no two codes are alike. The 50-bit
// codes of earlier versions still work, once, until renewed.
func TestRecoveryCodeStrength(t *testing.T) {
	e := newEnv(t, flow.EmailFirst)
	const email = "una@example.com"
	id, _, codes := e.enrol(email)
	seen := map[string]bool{}
	for _, c := range codes {
		groups := strings.Split(c, "-")
		if len(groups) != 4 {
			t.Fatalf("code %q: want four groups", c)
		}
		for _, g := range groups {
			if len(g) != 6 || strings.Trim(g, "abcdefghijklmnopqrstuvwxyz234567") != "" {
				t.Fatalf("code %q: want groups of six base32 characters", c)
			}
		}
		if seen[c] {
			t.Fatalf("code %q made twice", c)
		}
		seen[c] = true
	}
	// 24 base32 characters: 24 × 5 = 120 bits.
	if bits := 5 * len(strings.ReplaceAll(codes[0], "-", "")); bits < 112 {
		t.Fatalf("%d bits per code, want at least 112", bits)
	}

	// A code of an earlier version, stored as it was.
	ctx := context.Background()
	const legacy = "abcde-fghij"
	if err := e.store.Update(ctx, func(tx tacit.Tx) error {
		return tx.SetRecoveryCodes(ctx, id.Account.ID, [][]byte{tacit.HashToken("abcdefghij"), tacit.HashToken("mnopqrstuvwx")})
	}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, e.loginMFA(e.challenge(email), legacy), tacit.SignedIn)
	wantKind(t, e.loginMFA(e.challenge(email), legacy), tacit.InvalidCredentials)
	// Lengths that are neither are never looked up.
	wantKind(t, e.loginMFA(e.challenge(email), "mnopqr-stuvwx"), tacit.InvalidCredentials)
}

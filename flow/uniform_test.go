package flow_test

import (
	"context"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/testenv"
)

const statePassword = "state password 1"

// flowCase is one request that must be answered identically for an
// address in every account state. mails says which mail each state's
// address must receive ("" for no outbox row; MailNone for a row that
// delivers nothing).
type flowCase struct {
	name   string
	mode   flow.Mode
	policy *tacit.PasswordPolicy
	// notifyUnknown sets flow.Config.NotifyUnknown.
	notifyUnknown bool
	run           func(ctx context.Context, svc *flow.Service, email string) (tacit.Outcome, error)
	mails         map[accountstate.State]tacit.MailKind
}

func register(pw, confirm string) func(context.Context, *flow.Service, string) (tacit.Outcome, error) {
	return func(ctx context.Context, svc *flow.Service, email string) (tacit.Outcome, error) {
		return svc.Register(ctx, flow.RegisterInput{Email: email, Password: pw, PasswordConfirm: confirm}, flow.Client{})
	}
}

func login(pw string) func(context.Context, *flow.Service, string) (tacit.Outcome, error) {
	return func(ctx context.Context, svc *flow.Service, email string) (tacit.Outcome, error) {
		return svc.Login(ctx, email, pw, flow.Client{IP: "192.0.2.1"})
	}
}

func forgot(ctx context.Context, svc *flow.Service, email string) (tacit.Outcome, error) {
	return svc.ForgotPassword(ctx, email, flow.Client{IP: "192.0.2.1"})
}

func resend(ctx context.Context, svc *flow.Service, email string) (tacit.Outcome, error) {
	return svc.ResendVerification(ctx, email, flow.Client{})
}

var (
	// Mail for a request that starts or continues a sign-up.
	signupMails = func(k tacit.MailKind) map[accountstate.State]tacit.MailKind {
		return map[accountstate.State]tacit.MailKind{
			accountstate.None: k, accountstate.Pending: k, accountstate.SeveralPending: k,
			accountstate.Verified: tacit.MailAlreadyRegistered, accountstate.Disabled: tacit.MailNone,
			accountstate.ResetPending: tacit.MailAlreadyRegistered, accountstate.MFAEnabled: tacit.MailAlreadyRegistered, accountstate.PasskeyEnabled: tacit.MailAlreadyRegistered,
			accountstate.MailSpent: tacit.MailNone, accountstate.Deleted: k,
		}
	}
	// Mail for a reset request: only a live account's owner hears of it.
	resetMails = func(unknown tacit.MailKind) map[accountstate.State]tacit.MailKind {
		return map[accountstate.State]tacit.MailKind{
			accountstate.None: unknown, accountstate.Pending: unknown, accountstate.SeveralPending: unknown,
			accountstate.Verified: tacit.MailResetPassword, accountstate.Disabled: tacit.MailNone,
			accountstate.ResetPending: tacit.MailResetPassword, accountstate.MFAEnabled: tacit.MailResetPassword, accountstate.PasskeyEnabled: tacit.MailResetPassword,
			accountstate.MailSpent: tacit.MailNone, accountstate.Deleted: unknown,
		}
	}
	noMails         = map[accountstate.State]tacit.MailKind{}
	requireClasses  = tacit.PasswordPolicy{Min: 8, Max: 64, Require: []tacit.CharClass{tacit.Upper, tacit.Digit}, Blocklist: tacit.CommonPasswords()}
	uniformityCases = []flowCase{
		{name: "register/email_first", mode: flow.EmailFirst, run: register("", ""), mails: signupMails(tacit.MailFinishSignup)},
		// Email-first ignores password fields, whatever they hold.
		{name: "register/email_first_with_short_password", mode: flow.EmailFirst, run: register("x", "y"), mails: signupMails(tacit.MailFinishSignup)},
		{name: "register/full_form/valid", mode: flow.FullForm, run: register("plum orchard 7", "plum orchard 7"), mails: signupMails(tacit.MailVerify)},
		{name: "register/full_form/missing_password", mode: flow.FullForm, run: register("", "plum orchard 7"), mails: noMails},
		{name: "register/full_form/missing_confirm", mode: flow.FullForm, run: register("plum orchard 7", ""), mails: noMails},
		{name: "register/full_form/too_short", mode: flow.FullForm, run: register("short", "short"), mails: noMails},
		{name: "register/full_form/too_long", mode: flow.FullForm, run: register(string(make([]byte, 300)), ""), mails: noMails},
		{name: "register/full_form/mismatch", mode: flow.FullForm, run: register("plum orchard 7", "plum orchard 8"), mails: noMails},
		{name: "register/full_form/breached", mode: flow.FullForm, run: register("password1", "password1"), mails: noMails},
		{name: "register/full_form/missing_classes", mode: flow.FullForm, policy: &requireClasses, run: register("plumorchard", "plumorchard"), mails: noMails},
		{name: "register/full_form/classes_ok", mode: flow.FullForm, policy: &requireClasses, run: register("Plum0rchard", "Plum0rchard"), mails: signupMails(tacit.MailVerify)},
		{name: "resend", mode: flow.EmailFirst, run: resend, mails: map[accountstate.State]tacit.MailKind{
			accountstate.None: tacit.MailNone, accountstate.Pending: tacit.MailFinishSignup, accountstate.SeveralPending: tacit.MailFinishSignup,
			accountstate.Verified: tacit.MailAlreadyRegistered, accountstate.Disabled: tacit.MailNone,
			accountstate.ResetPending: tacit.MailAlreadyRegistered, accountstate.MFAEnabled: tacit.MailAlreadyRegistered, accountstate.PasskeyEnabled: tacit.MailAlreadyRegistered,
			accountstate.MailSpent: tacit.MailNone, accountstate.Deleted: tacit.MailNone,
		}},
		{name: "forgot", mode: flow.EmailFirst, run: forgot, mails: resetMails(tacit.MailNone)},
		{name: "forgot/notify_unknown", mode: flow.EmailFirst, notifyUnknown: true, run: forgot, mails: resetMails(tacit.MailResetUnknown)},
		{name: "login/wrong_password", mode: flow.EmailFirst, run: login("not the password"), mails: noMails},
		// The state's own password: a disabled account still fails, and
		// only a verified one may differ (that proves control).
		{name: "login/empty_password", mode: flow.EmailFirst, run: login(""), mails: noMails},
	}
)

// TestUniformOutcomes runs every flow case for an address in each account
// state and checks that the public outcomes are equal for every pair of
// states and that each address got exactly the mail specified.
func TestUniformOutcomes(t *testing.T) {
	ctx := context.Background()
	for _, c := range uniformityCases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.mode, func(cfg *flow.Config) {
				if c.policy != nil {
					cfg.Policy = *c.policy
				}
				cfg.NotifyUnknown = c.notifyUnknown
			})
			for _, s := range accountstate.All {
				if err := accountstate.Arrange(ctx, e.store, e.hasher, s, addr(string(s)), statePassword); err != nil {
					t.Fatal(err)
				}
			}
			outcomes := map[accountstate.State]tacit.Outcome{}
			for _, s := range accountstate.All {
				o, err := c.run(ctx, e.svc, addr(string(s)))
				if err != nil {
					t.Fatalf("%s: %v", s, err)
				}
				outcomes[s] = o
			}
			for _, p := range accountstate.Pairs() {
				if a, b := outcomes[p[0]], outcomes[p[1]]; !reflect.DeepEqual(a, b) {
					t.Errorf("%s gets %+v but %s gets %+v", p[0], a, p[1], b)
				}
			}
			got := map[string][]tacit.MailKind{}
			for _, m := range e.mails(t) {
				got[m.To] = append(got[m.To], m.Kind)
			}
			for _, s := range accountstate.All {
				want := []tacit.MailKind(nil)
				if k, ok := c.mails[s]; ok {
					want = []tacit.MailKind{k}
				}
				if !reflect.DeepEqual(got[addr(string(s))], want) {
					t.Errorf("%s: mails %v, want %v", s, got[addr(string(s))], want)
				}
			}
		})
	}
}

// TestOutcomesCannotCarryExistence checks the shape of the answers the
// uniformity cases produce: sign-up always says check_inbox or lists field
// errors, and a failed login says only invalid_credentials.
func TestOutcomesCannotCarryExistence(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.FullForm)
	if err := accountstate.Arrange(ctx, e.store, e.hasher, accountstate.Verified, "v@example.com", statePassword); err != nil {
		t.Fatal(err)
	}
	o := e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "v@example.com", Password: "plum orchard 7", PasswordConfirm: "plum orchard 7"}, flow.Client{}))
	if !reflect.DeepEqual(o, tacit.Outcome{Kind: tacit.CheckInbox}) {
		t.Errorf("register = %+v", o)
	}
	o = e.ok(e.svc.Register(ctx, flow.RegisterInput{Email: "v@example.com", Password: "short", PasswordConfirm: "shor"}, flow.Client{}))
	want := tacit.Outcome{Kind: tacit.Invalid, Fields: tacit.FieldErrors{"password": "too_short", "password_confirm": "mismatch"}}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("register = %+v, want %+v", o, want)
	}
	o = e.ok(e.svc.Login(ctx, "v@example.com", "wrong", flow.Client{}))
	if !reflect.DeepEqual(o, tacit.Outcome{Kind: tacit.InvalidCredentials}) {
		t.Errorf("login = %+v", o)
	}
}

// TestUniformBetweenOutsiderRequests: an outsider makes
// accountstate.OutsiderFailures failed sign-ins about an address in each
// state; then something happens (accountstate.AllBetween: the owner signs
// in, resets or changes the password, or the counter table fills up);
// then the outsider tries again, at once and after a pause. Every answer
// must be the one an address without an account gets.
func TestUniformBetweenOutsiderRequests(t *testing.T) {
	ctx := context.Background()
	outsider := flow.Client{IP: "203.0.113.5"}
	const newPassword = "owner's new one 1"
	for _, between := range accountstate.AllBetween {
		t.Run(string(between), func(t *testing.T) {
			e := newEnv(t, flow.EmailFirst, noClientLimit)
			owners := map[accountstate.State]*ownerSide{}
			for _, s := range accountstate.All {
				arrange(t, e, s, addr(string(s)))
				if s.Live() {
					// The owner signed in on this device before the
					// outsider came.
					owners[s] = &ownerSide{client: flow.Client{IP: "198.51.100.7"}}
					owners[s].signInMFA(t, e, addr(string(s)), statePassword)
				}
			}
			e.clock.Advance(30 * time.Second) // a fresh TOTP step for the owners
			e.mails(t)

			seqs := map[accountstate.State][]tacit.Outcome{}
			try := func(n int) {
				for range n {
					for _, s := range accountstate.All {
						seqs[s] = append(seqs[s], e.ok(e.svc.Login(ctx, addr(string(s)), "outsider's guess", outsider)))
					}
				}
			}
			try(accountstate.OutsiderFailures)
			e.clock.Advance(2 * time.Second)

			switch between {
			case accountstate.OwnerSignedIn:
				for s, o := range owners {
					o.signInMFA(t, e, addr(string(s)), statePassword)
				}
			case accountstate.OwnerSignedInNewDevice:
				for s := range owners {
					(&ownerSide{client: flow.Client{IP: "198.51.100.8"}}).signInMFA(t, e, addr(string(s)), statePassword)
				}
			case accountstate.OwnerReset:
				for _, s := range accountstate.All {
					wantKind(t, e.ok(e.svc.ForgotPassword(ctx, addr(string(s)), flow.Client{IP: "198.51.100.7"})), tacit.CheckInbox)
				}
				links := map[string]string{}
				for _, m := range e.mails(t) {
					if m.Kind == tacit.MailResetPassword {
						links[m.To] = m.Data["link"]
					}
				}
				for s, o := range owners {
					if s == accountstate.MailSpent {
						if links[addr(string(s))] != "" {
							t.Errorf("%s: a reset link was sent past the spent allowance", s)
						}
						continue // no link within the hour, as for any address
					}
					u, err := url.Parse(links[addr(string(s))])
					if err != nil {
						t.Fatal(err)
					}
					out := e.ok(e.svc.ResetPassword(ctx, flow.ResetInput{Token: u.Query().Get("token"), Password: newPassword, PasswordConfirm: newPassword}, o.client))
					wantKind(t, out, tacit.Done)
					o.keep(out)
					o.signInMFA(t, e, addr(string(s)), newPassword)
				}
			case accountstate.OwnerChangedPassword:
				for _, o := range owners {
					out := e.ok(e.svc.ChangePassword(ctx, o.id, flow.ChangePasswordInput{
						CurrentPassword: statePassword, Password: newPassword, PasswordConfirm: newPassword,
					}, o.client))
					wantKind(t, out, tacit.Done)
				}
			case accountstate.CounterTableFull:
				testenv.FillCounterTable(t, e.store, e.svc, e.clock.Now(), 20)
			}

			try(3)
			e.clock.Advance(3 * time.Second)
			try(3)
			for _, s := range accountstate.All {
				if !reflect.DeepEqual(seqs[s], seqs[accountstate.None]) {
					t.Errorf("%s: the outsider got\n%v\nbut for none\n%v", s, seqs[s], seqs[accountstate.None])
				}
			}
			if between == accountstate.CounterTableFull && seqs[accountstate.None][accountstate.OutsiderFailures].Kind != tacit.Throttled {
				t.Errorf("with the table full the outsider got %v, want throttled", seqs[accountstate.None][accountstate.OutsiderFailures:])
			}
		})
	}
}

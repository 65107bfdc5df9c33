package flow_test

import (
	"context"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// TestStolenDeviceTokenDiesWithPassword is an attack: a thief who once
// signed in with the password keeps the device token that sign-in handed
// out. Once the owner changes the password, or resets it from the
// mailbox, the token must no longer count the thief's guesses apart from
// the address's: with the address locked, the thief is held back like
// anyone. Without a change the token still gets its device past the lock,
// which shows the test reaches the device rule at all.
func TestStolenDeviceTokenDiesWithPassword(t *testing.T) {
	ctx := context.Background()
	const owner, fresh = "owner@example.com", "owner's new one 1"
	for _, c := range []struct {
		name string
		// act is what the owner does after the thief signed in.
		act  func(t *testing.T, e *env, o *ownerSide)
		want tacit.OutcomeKind // the thief's guess once the address is locked
	}{
		{"owner did nothing", func(*testing.T, *env, *ownerSide) {}, tacit.InvalidCredentials},
		{"owner changed password", func(t *testing.T, e *env, o *ownerSide) {
			wantKind(t, e.ok(e.svc.ChangePassword(ctx, o.id, flow.ChangePasswordInput{
				CurrentPassword: statePassword, Password: fresh, PasswordConfirm: fresh,
			}, o.client)), tacit.Done)
		}, tacit.Throttled},
		{"owner reset by mail", func(t *testing.T, e *env, o *ownerSide) {
			e.mails(t)
			wantKind(t, e.ok(e.svc.ForgotPassword(ctx, owner, o.client)), tacit.CheckInbox)
			tok := e.resetToken(t, owner)
			wantKind(t, e.ok(e.svc.ResetPassword(ctx, flow.ResetInput{Token: tok, Password: fresh, PasswordConfirm: fresh}, o.client)), tacit.Done)
		}, tacit.Throttled},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, flow.EmailFirst, noClientLimit)
			arrange(t, e, accountstate.Verified, owner)
			thief := &ownerSide{client: flow.Client{IP: "203.0.113.66"}}
			thief.signIn(t, e, owner, statePassword)
			if thief.client.Device == "" {
				t.Fatal("the thief's sign-in handed out no device token")
			}
			o := &ownerSide{client: flow.Client{IP: "198.51.100.7"}}
			o.signIn(t, e, owner, statePassword)
			c.act(t, e, o)

			// Anyone's failures lock the address.
			for range 10 {
				e.ok(e.svc.Login(ctx, owner, "outsider's guess", flow.Client{IP: "192.0.2.1"}))
				e.clock.Advance(time.Minute)
			}
			wantKind(t, e.ok(e.svc.Login(ctx, owner, "outsider's guess", flow.Client{IP: "192.0.2.1"})), tacit.Throttled)
			wantKind(t, e.ok(e.svc.Login(ctx, owner, "thief's guess", thief.client)), c.want)
		})
	}
}

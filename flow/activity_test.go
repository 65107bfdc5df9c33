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

func eventKinds(es []tacit.Event) []tacit.EventKind {
	var out []tacit.EventKind
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return out
}

// TestActivity records what the owner did, newest first, with the failed
// sign-ins that came before a sign-in; an outsider's failures alone
// record nothing; operator actions are recorded too.
func TestActivity(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	const email = "act@example.com"
	if err := accountstate.Arrange(ctx, e.store, e.hasher, accountstate.Verified, email, statePassword); err != nil {
		t.Fatal(err)
	}
	outsider := flow.Client{IP: "203.0.113.4"}
	for range 3 {
		wantKind(t, e.ok(e.svc.Login(ctx, email, "a wrong guess 1", outsider)), tacit.InvalidCredentials)
	}
	a := accountOf(t, e, email)
	activity := func() []tacit.Event {
		t.Helper()
		var list []tacit.Event
		if err := e.store.View(ctx, func(tx tacit.Tx) error {
			var err error
			list, err = tx.Events(ctx, a.ID, 100)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return list
	}
	if got := activity(); len(got) != 0 {
		t.Fatalf("failed sign-ins alone recorded %v", eventKinds(got))
	}
	e.clock.Advance(time.Minute)
	o := e.ok(e.svc.Login(ctx, email, statePassword, flow.Client{IP: "198.51.100.2", UserAgent: "Firefox"}))
	wantKind(t, o, tacit.SignedIn)
	id, err := e.svc.Session(ctx, o.Session.Token)
	if err != nil {
		t.Fatal(err)
	}
	got := activity()
	if len(got) != 1 || got[0].Kind != tacit.EventSignedIn || got[0].Count != 3 || got[0].IP != "198.51.100.2" || got[0].UserAgent != "Firefox" {
		t.Fatalf("after sign-in: %+v", got)
	}
	e.clock.Advance(time.Minute)
	wantKind(t, e.ok(e.svc.ChangePassword(ctx, id, flow.ChangePasswordInput{CurrentPassword: statePassword, Password: "newer pass 22", PasswordConfirm: "newer pass 22"}, flow.Client{})), tacit.Done)
	e.clock.Advance(time.Minute)
	wantKind(t, e.ok(e.svc.EndOtherSessions(ctx, id, "", flow.Client{})), tacit.Done)
	op := e.operator()
	e.clock.Advance(time.Minute)
	if _, err := op.Disable(ctx, email); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := op.Enable(ctx, email); err != nil {
		t.Fatal(err)
	}
	want := []tacit.EventKind{tacit.EventEnabled, tacit.EventDisabled, tacit.EventSessionsEnded, tacit.EventPasswordChanged, tacit.EventSignedIn}
	if got := eventKinds(activity()); !reflect.DeepEqual(got, want) {
		t.Fatalf("activity %v, want %v", got, want)
	}
}

// TestNotMe: "this wasn't me" ends every session, the one that said it
// too, and mails a working reset link, after which the old password
// opens nothing.
func TestNotMe(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	const email = "notme@example.com"
	mine := signIn(t, e, email)
	thief := e.ok(e.svc.Login(ctx, email, statePassword, flow.Client{IP: "203.0.113.66"}))
	id, err := e.svc.Session(ctx, mine)
	if err != nil {
		t.Fatal(err)
	}
	e.mails(t)
	wantKind(t, e.ok(e.svc.NotMe(ctx, id, flow.Client{})), tacit.Done)
	for _, tok := range []string{mine, thief.Session.Token} {
		if _, err := e.svc.Session(ctx, tok); !errors.Is(err, flow.ErrNoSession) {
			t.Errorf("session after not-me: %v", err)
		}
	}
	wantKind(t, e.reset(e.resetToken(t, email), "owner again 123"), tacit.Done)
	wantKind(t, e.ok(e.svc.Login(ctx, email, statePassword, flow.Client{})), tacit.InvalidCredentials)
}

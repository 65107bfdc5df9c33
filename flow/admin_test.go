package flow_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// TestAdminTokens: a token works as made, once its name is known; any
// change to it, a removed token and garbage are one error; names and
// scopes are checked; each use is recorded.
func TestAdminTokens(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	op := e.operator()
	token, err := op.CreateAdminToken(ctx, "ops", tacit.AdminWrite)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "tacit_admin_") {
		t.Errorf("token %q", token)
	}
	e.clock.Advance(time.Minute)
	got, err := op.CheckAdminToken(ctx, token)
	if err != nil || got.Name != "ops" || got.Scope != tacit.AdminWrite || !got.LastUsedAt.Equal(e.clock.Now()) {
		t.Fatalf("CheckAdminToken = %+v, %v", got, err)
	}
	list, err := op.AdminTokens(ctx)
	if err != nil || len(list) != 1 || !list[0].LastUsedAt.Equal(e.clock.Now()) {
		t.Errorf("AdminTokens = %+v, %v", list, err)
	}
	last := token[len(token)-1:]
	flip := map[string]string{"A": "B"}[last]
	if flip == "" {
		flip = "A"
	}
	for _, bad := range []string{"", "nonsense", token[:len(token)-1] + flip, token + "x", strings.Replace(token, ".", "", 1),
		strings.TrimPrefix(token, "tacit_admin_"), "tacit_admin_." + strings.SplitN(token, ".", 2)[1]} {
		if _, err := op.CheckAdminToken(ctx, bad); !errors.Is(err, flow.ErrBadAdminToken) {
			t.Errorf("CheckAdminToken(%q) = %v, want ErrBadAdminToken", bad, err)
		}
	}
	if _, err := op.CreateAdminToken(ctx, "ops", tacit.AdminRead); !errors.Is(err, flow.ErrAdminTokenExists) {
		t.Errorf("a name twice: %v", err)
	}
	for _, name := range []string{"", "two words", strings.Repeat("x", 65), "ops/ci", "é"} {
		if _, err := op.CreateAdminToken(ctx, name, tacit.AdminRead); !errors.Is(err, flow.ErrBadAdminTokenName) {
			t.Errorf("name %q: %v", name, err)
		}
	}
	if _, err := op.CreateAdminToken(ctx, "x", "admin"); !errors.Is(err, flow.ErrBadScope) {
		t.Errorf("scope admin: %v", err)
	}
	if err := op.RemoveAdminToken(ctx, "ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := op.CheckAdminToken(ctx, token); !errors.Is(err, flow.ErrBadAdminToken) {
		t.Errorf("a removed token: %v", err)
	}
	if err := op.RemoveAdminToken(ctx, "ops"); !errors.Is(err, flow.ErrNoAdminToken) {
		t.Errorf("removed twice: %v", err)
	}
}

// TestAdminScopes: read allows only reads; write allows both.
func TestAdminScopes(t *testing.T) {
	for _, c := range []struct {
		have, need tacit.AdminScope
		ok         bool
	}{
		{tacit.AdminRead, tacit.AdminRead, true}, {tacit.AdminRead, tacit.AdminWrite, false},
		{tacit.AdminWrite, tacit.AdminRead, true}, {tacit.AdminWrite, tacit.AdminWrite, true},
		{"", tacit.AdminRead, false}, {"admin", tacit.AdminRead, false},
	} {
		if got := c.have.Allows(c.need); got != c.ok {
			t.Errorf("%q.Allows(%q) = %v", c.have, c.need, got)
		}
	}
}

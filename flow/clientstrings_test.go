package flow_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// TestSessionClientStrings signs in with a Client whose strings no engine
// should be handed as they are: invalid UTF-8 and NUL (which PostgreSQL's
// text refuses), and lengths whose byte cut falls inside a character. The
// flows take Client from any embedder, not only from package web, so the
// IP gets the same treatment as the User-Agent.
func TestSessionClientStrings(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("a", 255)
	for _, tt := range []struct {
		name           string
		client         flow.Client
		wantUA, wantIP string
	}{
		{"é across the cut", flow.Client{UserAgent: long + "é", IP: "192.0.2.1"}, long, "192.0.2.1"},
		{"invalid UTF-8", flow.Client{UserAgent: "A\xffB\xc3", IP: "192.0.2.\xff"}, "A\uFFFDB\uFFFD", "192.0.2.\uFFFD"},
		{"NUL", flow.Client{UserAgent: "A\x00B", IP: "\x00"}, "A\uFFFDB", "\uFFFD"},
		{"long IP", flow.Client{UserAgent: "ua", IP: strings.Repeat("é", 100)}, "ua", strings.Repeat("é", 32)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, flow.EmailFirst)
			if err := accountstate.Arrange(ctx, e.store, e.hasher, accountstate.Verified, "pat@example.com", statePassword); err != nil {
				t.Fatal(err)
			}
			wantKind(t, e.ok(e.svc.Login(ctx, "pat@example.com", statePassword, tt.client)), tacit.SignedIn)
			var ss []tacit.Session
			err := e.store.View(ctx, func(tx tacit.Tx) error {
				a, err := tx.AccountByEmail(ctx, "pat@example.com")
				if err != nil {
					return err
				}
				ss, err = tx.SessionsByAccount(ctx, a.ID)
				return err
			})
			if err != nil || len(ss) != 1 {
				t.Fatalf("sessions: %v, %d", err, len(ss))
			}
			ua, ip := ss[0].UserAgent, ss[0].IP
			if ua != tt.wantUA || ip != tt.wantIP || !utf8.ValidString(ua) || !utf8.ValidString(ip) {
				t.Errorf("stored User-Agent %q and IP %q, want %q and %q", ua, ip, tt.wantUA, tt.wantIP)
			}
		})
	}
}

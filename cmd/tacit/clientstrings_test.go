package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tacitauth/tacit"
)

// TestSignInOddUserAgent signs in through the real server, on each engine,
// with User-Agents that a careless cut or copy turns into invalid UTF-8,
// which PostgreSQL refuses to store: a correct password must still sign in,
// and the session must keep a valid, bounded User-Agent.
func TestSignInOddUserAgent(t *testing.T) {
	ascii255 := strings.Repeat("a", 255)
	for _, engine := range []struct {
		name string
		url  func(*testing.T) string
	}{{"sqlite", sqliteURL}, {"postgres", postgresURL}} {
		t.Run(engine.name, func(t *testing.T) {
			dbURL := engine.url(t)
			db := openTestStore(t, dbURL)
			ctx := context.Background()
			a := tacit.Account{Email: "ua@example.com", PasswordHash: testHash(t, "ua password 1"), CreatedAt: aliceCreated}
			if err := db.Update(ctx, func(tx tacit.Tx) error { return tx.CreateAccount(ctx, &a) }); err != nil {
				t.Fatal(err)
			}
			addr := freeAddr(t)
			var log lockedBuffer
			stop := startServe(t, addr, fastEnv(t.TempDir(), "TACIT_DATABASE_URL", dbURL,
				"TACIT_LIMIT_LOGIN_IP", "off"), &log)
			defer stop()

			for _, tt := range []struct {
				name, ua, want string
			}{
				// A cut at byte 256 falls inside "é": the whole
				// character goes.
				{"é across the cut", ascii255 + "é", ascii255},
				{"invalid UTF-8", "Mozilla/5.0 \xff\xfe (X11; \xc3)", "Mozilla/5.0 \uFFFD (X11; \uFFFD)"},
				// Each replacement takes three bytes: the cut comes
				// after the cleaning, on a character boundary.
				{"invalid UTF-8 across the cut", ascii255 + "\xff\xff", ascii255},
			} {
				body, _ := json.Marshal(map[string]string{"email": "ua@example.com", "password": "ua password 1"})
				req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/login", strings.NewReader(string(body)))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", tt.ua)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s: sign-in answered %d, want 200\nlog:\n%s", tt.name, resp.StatusCode, log.String())
					continue
				}
				var sessions []tacit.Session
				err = db.View(ctx, func(tx tacit.Tx) (err error) {
					sessions, err = tx.SessionsByAccount(ctx, a.ID)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(sessions) == 0 {
					t.Fatalf("%s: no session stored", tt.name)
				}
				got := sessions[0].UserAgent // newest first
				if got != tt.want || !utf8.ValidString(got) || len(got) > 256 {
					t.Errorf("%s: stored User-Agent %q, want %q", tt.name, got, tt.want)
				}
			}
		})
	}
}

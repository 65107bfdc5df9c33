package flow_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/postgres"
	"github.com/tacitauth/tacit/sqlite"
	_ "modernc.org/sqlite"
)

// checkPasses checks tok with CheckSession n times, failing the test
// unless every check passes: it fills the cache, which the tests below
// then try to outlive.
func checkPasses(t *testing.T, svc *flow.Service, tok string, n int) flow.Identity {
	t.Helper()
	var id flow.Identity
	for range n {
		var err error
		if id, err = svc.CheckSession(context.Background(), tok); err != nil {
			t.Fatalf("check of a live session: %v", err)
		}
	}
	return id
}

// checkFails fails the test unless tok no longer passes CheckSession.
func checkFails(t *testing.T, svc *flow.Service, tok, after string) {
	t.Helper()
	for range 3 {
		if _, err := svc.CheckSession(context.Background(), tok); !errors.Is(err, flow.ErrNoSession) {
			t.Fatalf("check after %s: %v, want ErrNoSession at once", after, err)
		}
	}
}

// TestCheckSessionEndsAtOnce: a thief holding a session cached by forward
// auth loses it on this instance the moment the owner ends it, whichever
// way, and so does any session past its expiry.
func TestCheckSessionEndsAtOnce(t *testing.T) {
	ctx := context.Background()
	const pw = statePassword
	for _, c := range []struct {
		name string
		end  func(e *env, owner flow.Identity, thief string, thiefID flow.Identity)
	}{
		{"sign-out", func(e *env, _ flow.Identity, thief string, _ flow.Identity) {
			e.ok(e.svc.Logout(ctx, thief))
		}},
		{"sign-out from the device list", func(e *env, owner flow.Identity, _ string, thiefID flow.Identity) {
			wantKind(t, e.ok(e.svc.EndSession(ctx, owner, thiefID.Session.ID, "", flow.Client{})), tacit.Done)
		}},
		{"sign-out of the other devices", func(e *env, owner flow.Identity, _ string, _ flow.Identity) {
			wantKind(t, e.ok(e.svc.EndOtherSessions(ctx, owner, "", flow.Client{})), tacit.Done)
		}},
		{"password change", func(e *env, owner flow.Identity, _ string, _ flow.Identity) {
			in := flow.ChangePasswordInput{CurrentPassword: pw, Password: "a new password 2", PasswordConfirm: "a new password 2"}
			wantKind(t, e.ok(e.svc.ChangePassword(ctx, owner, in, flow.Client{})), tacit.Done)
		}},
		{"password reset", func(e *env, owner flow.Identity, _ string, _ flow.Identity) {
			e.mails(t)
			wantKind(t, e.reset(e.forgot(owner.Account.Email), "a new password 2"), tacit.Done)
		}},
		{"owner deletes the account", func(e *env, owner flow.Identity, _ string, _ flow.Identity) {
			wantKind(t, e.ok(e.svc.DeleteAccount(ctx, owner, pw, flow.Client{})), tacit.Done)
		}},
		{"this wasn't me", func(e *env, owner flow.Identity, _ string, _ flow.Identity) {
			wantKind(t, e.ok(e.svc.NotMe(ctx, owner, flow.Client{})), tacit.Done)
		}},
		{"operator disables", func(e *env, owner flow.Identity, _ string, _ flow.Identity) {
			if _, err := e.operator().Disable(ctx, owner.Account.Email); err != nil {
				t.Fatal(err)
			}
		}},
		{"operator deletes", func(e *env, owner flow.Identity, _ string, _ flow.Identity) {
			if err := e.operator().Delete(ctx, owner.Account.Email); err != nil {
				t.Fatal(err)
			}
		}},
		{"operator ends the sessions", func(e *env, owner flow.Identity, _ string, _ flow.Identity) {
			if _, err := e.operator().EndSessions(ctx, owner.Account.Email); err != nil {
				t.Fatal(err)
			}
		}},
		{"idle expiry", func(e *env, _ flow.Identity, _ string, _ flow.Identity) {
			e.clock.Advance(time.Hour)
		}},
		{"absolute expiry", func(e *env, _ flow.Identity, thief string, _ flow.Identity) {
			// Seen every 50 seconds: within the idle limit and never
			// due to be recorded as seen, so only the cache answers.
			for range 4 {
				e.clock.Advance(50 * time.Second)
				checkPasses(t, e.svc, thief, 1)
			}
			e.clock.Advance(2 * time.Hour)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, flow.EmailFirst, func(c *flow.Config) {
				c.SessionIdle = time.Hour
				c.SessionLifetime = 2*time.Hour + time.Minute
			})
			const email = "owner@example.com"
			ownerTok := signIn(t, e, email)
			owner, err := e.svc.Session(ctx, ownerTok)
			if err != nil {
				t.Fatal(err)
			}
			thief := e.ok(e.svc.Login(ctx, email, pw, flow.Client{UserAgent: "thief"})).Session.Token
			thiefID := checkPasses(t, e.svc, thief, 3)
			c.end(e, owner, thief, thiefID)
			checkFails(t, e.svc, thief, c.name)
		})
	}
}

// TestCheckSessionSignedOutWithMadeUpToken: signing out with a token that
// names no session revokes nothing, so it cannot be used to empty the
// cache, and a live session keeps passing.
func TestCheckSessionSignedOutWithMadeUpToken(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst)
	tok := signIn(t, e, "kit@example.com")
	checkPasses(t, e.svc, tok, 2)
	before := e.store.LocalRevocations()
	made, _ := tacit.NewToken()
	e.ok(e.svc.Logout(ctx, made))
	if e.store.LocalRevocations() != before {
		t.Error("signing out with a made-up token counted as a revocation")
	}
	checkPasses(t, e.svc, tok, 2)
}

// instances returns two stores on one fresh database, as two servers
// would open it, and a function that runs SQL on it by hand, as an
// operator would.
type instances func(t *testing.T) (a, b tacit.Store, exec func(query string))

var engines = map[string]instances{
	"sqlite": func(t *testing.T) (tacit.Store, tacit.Store, func(string)) {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "tacit.db")
		open := func() *sqlite.DB {
			db, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return db
		}
		a, b := open(), open()
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { raw.Close() })
		return a, b, func(q string) {
			if _, err := raw.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	},
	"postgres": func(t *testing.T) (tacit.Store, tacit.Store, func(string)) {
		ctx := context.Background()
		url, _ := testenv.PostgresSchema(t)
		open := func() *postgres.DB {
			db, err := postgres.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return db
		}
		a, b := open(), open()
		return a, b, func(q string) { testenv.PostgresExec(t, url, q) }
	},
}

// TestCheckSessionAcrossInstances: a session ended on instance A, or its
// account disabled by hand, stops passing forward auth on instance B,
// which had it cached, within flow.RevocationBound. Every check B starts
// at or after the revocation's commit plus the bound must fail.
func TestCheckSessionAcrossInstances(t *testing.T) {
	ctx := context.Background()
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			storeA, storeB, exec := open(t)
			h := testenv.Hasher(t)
			cfg := flow.Config{Links: tacit.Links{Base: base}}
			a, err := flow.New(storeA, h, cfg)
			if err != nil {
				t.Fatal(err)
			}
			b, err := flow.New(storeB, h, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, end := range []struct {
				what string
				do   func(email, tok string)
			}{
				{"sign-out on A", func(_, tok string) { a.Logout(ctx, tok) }},
				{"account disabled by hand", func(email, _ string) {
					exec("UPDATE accounts SET disabled = TRUE WHERE email = '" + email + "'")
				}},
			} {
				email := []string{"ann@example.com", "bo@example.com"}[i]
				if err := accountstate.Arrange(ctx, storeA, h, accountstate.Verified, email, statePassword); err != nil {
					t.Fatal(err)
				}
				o, err := a.Login(ctx, email, statePassword, flow.Client{})
				if err != nil || o.Kind != tacit.SignedIn {
					t.Fatalf("login: %v %v", o.Kind, err)
				}
				tok := o.Session.Token
				checkPasses(t, b, tok, 3)
				end.do(email, tok)
				committed := time.Now()
				for {
					start := time.Now()
					_, err := b.CheckSession(ctx, tok)
					if errors.Is(err, flow.ErrNoSession) {
						t.Logf("%s: B refused the session %v after", end.what, start.Sub(committed).Round(time.Millisecond))
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					if late := start.Sub(committed); late >= flow.RevocationBound {
						t.Fatalf("%s: B still passed the session %v after, past the bound of %v", end.what, late, flow.RevocationBound)
					}
					time.Sleep(10 * time.Millisecond)
				}
				checkFails(t, b, tok, end.what)
			}
		})
	}
}

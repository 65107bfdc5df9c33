package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/storetest"
)

// engine opens this package's databases for the tests, each in a new file
// in a temporary directory.
var engine = storetest.Engine[*DB]{
	Open:  Open,
	Fresh: func(t *testing.T) string { return filepath.Join(t.TempDir(), "tacit.db") },
	Row: func(db *DB, query string, dest ...any) error {
		return db.reader.QueryRow(query).Scan(dest...)
	},
	Exec: func(db *DB, statement string) error {
		_, err := db.writer.Exec(statement)
		return err
	},
	Snapshot: OpenSnapshot,
}

// TestStore and TestCounterFlood, the slow tests, run in parallel.
func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, engine)
}

// pragma reads one PRAGMA's value through pool.
func pragma(t *testing.T, db *DB, write bool, name string) string {
	t.Helper()
	pool := db.reader
	if write {
		pool = db.writer
	}
	var v string
	if err := pool.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestPragmas(t *testing.T) {
	db := engine.OpenMigrated(t)
	for _, write := range []bool{true, false} {
		for name, want := range map[string]string{
			"journal_mode": "wal",
			"busy_timeout": "5000",
			"foreign_keys": "1",
			"synchronous":  "1", // NORMAL
		} {
			if got := pragma(t, db, write, name); got != want {
				t.Errorf("writer=%v: PRAGMA %s = %q, want %q", write, name, got, want)
			}
		}
	}
	if got := pragma(t, db, false, "query_only"); got != "1" {
		t.Errorf("reader PRAGMA query_only = %q, want 1", got)
	}
	if got := pragma(t, db, true, "query_only"); got != "0" {
		t.Errorf("writer PRAGMA query_only = %q, want 0", got)
	}
}

// Every embedded migration is recorded and every table exists. (How
// Migrate runs, again and at once from several servers, is in storetest.)
func TestMigrate(t *testing.T) {
	db := engine.OpenMigrated(t)
	ms, err := embedded.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var rows, maxVersion int
	err = db.reader.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&rows, &maxVersion)
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) || maxVersion != ms[len(ms)-1].Version {
		t.Fatalf("schema_migrations has %d rows up to %d, want %d up to %d", rows, maxVersion, len(ms), ms[len(ms)-1].Version)
	}
	for _, table := range []string{"accounts", "signups", "sessions", "outbox", "dev_mailbox",
		"reset_tokens", "email_changes", "counters", "secrets"} {
		var n int
		if err := db.reader.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

// Data written and committed is on disk: it survives Close and reopening.
func TestDurability(t *testing.T) {
	ctx := context.Background()
	path := engine.Fresh(t)
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	a := tacit.Account{Email: "ada@example.com", PasswordHash: "h", CreatedAt: created}
	m := tacit.Mail{Kind: tacit.MailVerify, To: "ada@example.com", Data: map[string]string{"link": "l"}, CreatedAt: created}
	err = db.Update(ctx, func(tx tacit.Tx) error {
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		return tx.EnqueueMail(ctx, &m)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = engine.OpenAt(t, path)
	if current, err := db.MigrationsCurrent(ctx); err != nil || !current {
		t.Fatalf("MigrationsCurrent after reopen = %v, %v", current, err)
	}
	err = db.View(ctx, func(tx tacit.Tx) error {
		got, err := tx.AccountByEmail(ctx, a.Email)
		if err != nil {
			return err
		}
		if got != a {
			t.Errorf("account after reopen = %+v, want %+v", got, a)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mails, err := db.ClaimMail(ctx, created, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 || mails[0].ID != m.ID || mails[0].Data["link"] != "l" {
		t.Fatalf("mails after reopen = %+v, want mail %d", mails, m.ID)
	}
}

// Many goroutines writing at once queue for the one writer connection
// instead of failing with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	const goroutines, each = 20, 10
	ctx := context.Background()
	db := engine.OpenMigrated(t)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				err := db.Update(ctx, func(tx tacit.Tx) error {
					a := tacit.Account{Email: fmt.Sprintf("u%d-%d@example.com", g, i), PasswordHash: "h", CreatedAt: time.Now()}
					if err := tx.CreateAccount(ctx, &a); err != nil {
						return err
					}
					// A read after the write inside the same transaction.
					_, err := tx.AccountByID(ctx, a.ID)
					return err
				})
				if err != nil {
					t.Errorf("Update: %v", err)
					return
				}
			}
		})
	}
	// Readers run alongside the writers.
	for range 4 {
		wg.Go(func() {
			for range 50 {
				err := db.View(ctx, func(tx tacit.Tx) error {
					_, err := tx.AccountByEmail(ctx, "u0-0@example.com")
					if err != nil && !errors.Is(err, tacit.ErrNotFound) {
						return err
					}
					return nil
				})
				if err != nil {
					t.Errorf("View: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	wantAccounts(t, db, goroutines*each)
}

// wantAccounts fails the test unless db holds want accounts.
func wantAccounts(t *testing.T, db *DB, want int) {
	t.Helper()
	var n int
	if err := db.reader.QueryRow(`SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%d accounts, want %d", n, want)
	}
}

// A path may hold characters that mean something in a URI.
func TestOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?name#1%.db")
	db := engine.OpenAt(t, path)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	var file string
	if err := db.reader.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		t.Fatal(err)
	}
	if file != path {
		t.Fatalf("database file = %q, want %q", file, path)
	}
}

// A transaction that reads before it writes is what deadlocks deferred
// SQLite transactions across connections (the reader cannot upgrade its
// lock once another connection has written). IMMEDIATE transactions take
// the write lock first, so two handles doing this at once both succeed.
func TestTwoHandlesReadThenWrite(t *testing.T) {
	const perHandle, each = 4, 10
	ctx := context.Background()
	first, second := engine.OpenTwo(t)
	var wg sync.WaitGroup
	for h, db := range []*DB{first, second} {
		for g := range perHandle {
			wg.Go(func() {
				for i := range each {
					email := fmt.Sprintf("h%d-g%d-%d@example.com", h, g, i)
					err := db.Update(ctx, func(tx tacit.Tx) error {
						if _, err := tx.AccountByEmail(ctx, email); !errors.Is(err, tacit.ErrNotFound) {
							return fmt.Errorf("lookup before create: %v", err)
						}
						a := tacit.Account{Email: email, PasswordHash: "h", CreatedAt: time.Now()}
						return tx.CreateAccount(ctx, &a)
					})
					if err != nil {
						t.Errorf("Update: %v", err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	wantAccounts(t, first, 2*perHandle*each)
}

// Statements kept prepared are ready only once their tables exist; before
// Migrate a transaction parses them itself and fails as SQLite says.
func TestPreparedBeforeMigrate(t *testing.T) {
	ctx := context.Background()
	db := engine.OpenAt(t, engine.Fresh(t))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	hit := func(tx tacit.Tx) error {
		_, err := tx.HitCounter(ctx, []byte("k"), now, time.Minute)
		return err
	}
	if err := db.Update(ctx, hit); err == nil {
		t.Fatal("HitCounter before Migrate succeeded")
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := db.Update(ctx, hit); err != nil {
			t.Fatalf("HitCounter after Migrate: %v", err)
		}
	}
	if !db.writerStmts.ready.Load() {
		t.Fatal("writer statements not prepared after Migrate")
	}
	err := db.View(ctx, func(tx tacit.Tx) error {
		c, err := tx.Counter(ctx, []byte("k"), now)
		if err == nil && c.Count != 2 {
			t.Errorf("count = %d, want 2", c.Count)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/storetest"
)

// openAt opens the database at path and closes it when the test ends.
func openAt(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openMigrated opens a fresh migrated database file in a temporary directory.
func openMigrated(t *testing.T) *DB {
	t.Helper()
	db := openAt(t, filepath.Join(t.TempDir(), "tacit.db"))
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// TestStore and TestCounterFlood, the slow tests, run in parallel.
func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) tacit.Store { return openMigrated(t) })
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
	db := openMigrated(t)
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

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	db := openAt(t, filepath.Join(t.TempDir(), "tacit.db"))
	current, err := db.MigrationsCurrent(ctx)
	if err != nil || current {
		t.Fatalf("MigrationsCurrent before Migrate = %v, %v; want false, nil", current, err)
	}
	for i := range 3 {
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	current, err = db.MigrationsCurrent(ctx)
	if err != nil || !current {
		t.Fatalf("MigrationsCurrent after Migrate = %v, %v; want true, nil", current, err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var rows, maxVersion int
	err = db.reader.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&rows, &maxVersion)
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) || maxVersion != ms[len(ms)-1].version {
		t.Fatalf("schema_migrations has %d rows up to %d, want %d up to %d", rows, maxVersion, len(ms), ms[len(ms)-1].version)
	}
	for _, table := range []string{"accounts", "signups", "sessions", "outbox", "dev_mailbox",
		"reset_tokens", "email_changes", "counters", "secrets"} {
		var n int
		if err := db.reader.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

// Several servers starting at once on one file each run Migrate.
func TestMigrateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tacit.db")
	dbs := []*DB{openAt(t, path), openAt(t, path), openAt(t, path)}
	var wg sync.WaitGroup
	for _, db := range dbs {
		wg.Go(func() {
			if err := db.Migrate(context.Background()); err != nil {
				t.Errorf("Migrate: %v", err)
			}
		})
	}
	wg.Wait()
	current, err := dbs[0].MigrationsCurrent(context.Background())
	if err != nil || !current {
		t.Fatalf("MigrationsCurrent = %v, %v; want true, nil", current, err)
	}
}

// Data written and committed is on disk: it survives Close and reopening.
func TestDurability(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tacit.db")
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

	db = openAt(t, path)
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

// Times are stored as UTC Unix microseconds and come back in UTC.
func TestTimes(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	local := time.FixedZone("UTC+5", 5*3600)
	created := time.Date(2030, 6, 7, 8, 9, 10, 123456789, local)
	a := tacit.Account{Email: "ada@example.com", PasswordHash: "h", CreatedAt: created}
	if err := db.Update(ctx, func(tx tacit.Tx) error { return tx.CreateAccount(ctx, &a) }); err != nil {
		t.Fatal(err)
	}
	var stored int64
	if err := db.reader.QueryRow(`SELECT created_at FROM accounts WHERE id = ?`, a.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if want := created.UnixMicro(); stored != want {
		t.Fatalf("stored created_at = %d, want %d", stored, want)
	}
	err := db.View(ctx, func(tx tacit.Tx) error {
		got, err := tx.AccountByID(ctx, a.ID)
		if err != nil {
			return err
		}
		want := time.Date(2030, 6, 7, 3, 9, 10, 123456000, time.UTC)
		if got.CreatedAt != want || got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt = %v (%v), want %v", got.CreatedAt, got.CreatedAt.Location(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// outboxRow reads the columns a worker never sees.
func outboxRow(t *testing.T, db *DB, id int64) (data string, sent, failed *int64, lastError string) {
	t.Helper()
	err := db.reader.QueryRow(`SELECT data, sent_at, failed_at, last_error FROM outbox WHERE id = ?`, id).
		Scan(&data, &sent, &failed, &lastError)
	if err != nil {
		t.Fatalf("outbox row %d: %v", id, err)
	}
	return data, sent, failed, lastError
}

// Delivered and abandoned mail keeps no tokens.
func TestOutboxClearsData(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mails := []tacit.Mail{
		{Kind: tacit.MailVerify, To: "a@example.com", Data: map[string]string{"link": "secret-1"}, CreatedAt: now},
		{Kind: tacit.MailVerify, To: "b@example.com", Data: map[string]string{"link": "secret-2"}, CreatedAt: now},
		{Kind: tacit.MailVerify, To: "c@example.com", Data: map[string]string{"link": "secret-3"}, CreatedAt: now},
	}
	err := db.Update(ctx, func(tx tacit.Tx) error {
		for i := range mails {
			if err := tx.EnqueueMail(ctx, &mails[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if data, _, _, _ := outboxRow(t, db, mails[0].ID); data != `{"link":"secret-1"}` {
		t.Fatalf("queued data = %s", data)
	}
	if err := db.MailSent(ctx, mails[0].ID, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := db.MailFailed(ctx, mails[1].ID, time.Time{}, "550 no such user"); err != nil {
		t.Fatal(err)
	}
	if err := db.MailFailed(ctx, mails[2].ID, now.Add(time.Minute), "421 later"); err != nil {
		t.Fatal(err)
	}

	data, sent, failed, _ := outboxRow(t, db, mails[0].ID)
	if data != "{}" || sent == nil || *sent != now.Add(time.Second).UnixMicro() || failed != nil {
		t.Errorf("sent mail: data %s, sent_at %v, failed_at %v", data, sent, failed)
	}
	data, sent, failed, lastError := outboxRow(t, db, mails[1].ID)
	if data != "{}" || sent != nil || failed == nil || lastError != "550 no such user" {
		t.Errorf("abandoned mail: data %s, sent_at %v, failed_at %v, last_error %q", data, sent, failed, lastError)
	}
	data, sent, failed, lastError = outboxRow(t, db, mails[2].ID)
	if data != `{"link":"secret-3"}` || sent != nil || failed != nil || lastError != "421 later" {
		t.Errorf("retried mail: data %s, sent_at %v, failed_at %v, last_error %q", data, sent, failed, lastError)
	}
}

// Many goroutines writing at once queue for the one writer connection
// instead of failing with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	const goroutines, each = 20, 10
	ctx := context.Background()
	db := openMigrated(t)
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
	var n int
	if err := db.reader.QueryRow(`SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != goroutines*each {
		t.Fatalf("%d accounts, want %d", n, goroutines*each)
	}
}

// Two handles on one file stand for two server processes: their writers
// meet in SQLite's lock, where busy_timeout and IMMEDIATE transactions make
// them wait rather than fail, and no mail is claimed twice.
func TestTwoHandlesClaimOnce(t *testing.T) {
	const total = 200
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tacit.db")
	first := openAt(t, path)
	if err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	second := openAt(t, path)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	err := first.Update(ctx, func(tx tacit.Tx) error {
		for i := range total {
			m := tacit.Mail{Kind: tacit.MailNone, To: fmt.Sprintf("u%d@example.com", i), CreatedAt: now}
			if err := tx.EnqueueMail(ctx, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for _, db := range []*DB{first, second, first, second, first, second} {
		wg.Go(func() {
			for {
				mails, err := db.ClaimMail(ctx, now, time.Hour, 5)
				if err != nil {
					t.Errorf("ClaimMail: %v", err)
					return
				}
				if len(mails) == 0 {
					return
				}
				for _, m := range mails {
					if err := db.MailSent(ctx, m.ID, now); err != nil {
						t.Errorf("MailSent: %v", err)
						return
					}
					mu.Lock()
					claimed[m.ID]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(claimed) != total {
		t.Fatalf("%d mails claimed, want %d", len(claimed), total)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("mail %d claimed %d times", id, n)
		}
	}
}

// A path may hold characters that mean something in a URI.
func TestOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?name#1%.db")
	db := openAt(t, path)
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
	path := filepath.Join(t.TempDir(), "tacit.db")
	first := openAt(t, path)
	if err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	second := openAt(t, path)
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
	var n int
	if err := first.reader.QueryRow(`SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2*perHandle*each {
		t.Fatalf("%d accounts, want %d", n, 2*perHandle*each)
	}
}

// Hits from two processes on one file meet in SQLite's write lock; the
// single-statement upsert loses none and no two hits see the same count.
func TestTwoHandlesHitCounter(t *testing.T) {
	const perHandle, each = 4, 50
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tacit.db")
	first := openAt(t, path)
	if err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	second := openAt(t, path)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	key := []byte("flooded")
	var mu sync.Mutex
	var seen []int
	var wg sync.WaitGroup
	for _, db := range []*DB{first, second} {
		for range perHandle {
			wg.Go(func() {
				for range each {
					var c tacit.Counter
					err := db.Update(ctx, func(tx tacit.Tx) error {
						var err error
						c, err = tx.HitCounter(ctx, key, now, time.Hour)
						return err
					})
					if err != nil {
						t.Errorf("HitCounter: %v", err)
						return
					}
					mu.Lock()
					seen = append(seen, c.Count)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	const total = 2 * perHandle * each
	slices.Sort(seen)
	for i, n := range seen {
		if n != i+1 {
			t.Fatalf("counts seen: position %d holds %d, want %d", i, n, i+1)
		}
	}
	err := second.View(ctx, func(tx tacit.Tx) error {
		c, err := tx.Counter(ctx, key, now)
		if err != nil {
			return err
		}
		if c.Count != total {
			t.Errorf("count = %d, want %d", c.Count, total)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Instances starting together on one file agree on a new secret.
func TestTwoHandlesSecret(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tacit.db")
	first := openAt(t, path)
	if err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	second := openAt(t, path)
	dbs := []*DB{first, second, first, second, first, second}
	got := make([][]byte, len(dbs))
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			v, err := db.Secret(ctx, "throttle")
			if err != nil {
				t.Errorf("Secret: %v", err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for i, v := range got {
		if len(v) != 32 || !bytes.Equal(v, got[0]) {
			t.Fatalf("handle call %d got secret %x, first got %x", i, v, got[0])
		}
	}
}

// Statements kept prepared are ready only once their tables exist; before
// Migrate a transaction parses them itself and fails as SQLite says.
func TestPreparedBeforeMigrate(t *testing.T) {
	ctx := context.Background()
	db := openAt(t, filepath.Join(t.TempDir(), "tacit.db"))
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

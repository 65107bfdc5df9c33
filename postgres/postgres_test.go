package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/storetest"
)

// serverURL returns the URL of the test server from TACIT_TEST_POSTGRES,
// or skips the test.
func serverURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("TACIT_TEST_POSTGRES")
	if u == "" {
		t.Skip("TACIT_TEST_POSTGRES not set: skipping PostgreSQL tests (set it to a database URL to run them)")
	}
	return u
}

// admin runs statements on the test server outside any store.
func admin(t *testing.T, server string, sqls ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	for _, s := range sqls {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// freshSchema creates an empty schema, dropped when the test ends, and
// returns its name and the server URL with search_path set to it.
func freshSchema(t *testing.T) (schema, dbURL string) {
	t.Helper()
	server := serverURL(t)
	b := make([]byte, 8)
	rand.Read(b)
	schema = "tacit_test_" + hex.EncodeToString(b)
	admin(t, server, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { admin(t, server, "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("TACIT_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return schema, u.String()
}

// openAt opens the database at dbURL and closes it when the test ends
// (before the schema is dropped: cleanups run last-registered first).
func openAt(t *testing.T, dbURL string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openMigrated opens a fresh migrated store in its own schema.
func openMigrated(t *testing.T) *DB {
	t.Helper()
	_, dbURL := freshSchema(t)
	db := openAt(t, dbURL)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

func TestStore(t *testing.T) {
	serverURL(t)
	storetest.Run(t, func(t *testing.T) tacit.Store { return openMigrated(t) })
}

// count runs a query that returns one integer.
func count(t *testing.T, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	schema, dbURL := freshSchema(t)
	db := openAt(t, dbURL)
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
	if len(ms) != 2 || ms[0].name != "001_init.sql" || ms[1].name != "002_account_lifecycle.sql" {
		t.Fatalf("embedded migrations = %+v", ms)
	}
	wantSchemaMigrations(t, db, ms)
	// Every table lives in the schema named by search_path.
	for _, table := range []string{"schema_migrations", "accounts", "signups", "sessions", "outbox",
		"dev_mailbox", "reset_tokens", "email_changes", "counters", "secrets"} {
		n := count(t, db, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2`,
			schema, table)
		if n != 1 {
			t.Errorf("table %s.%s: found %d", schema, table, n)
		}
	}

	// A new pool, as after a restart, sees the schema current.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, dbURL)
	if current, err := db.MigrationsCurrent(ctx); err != nil || !current {
		t.Fatalf("MigrationsCurrent after reopening = %v, %v", current, err)
	}
}

// wantSchemaMigrations checks that schema_migrations records each of ms
// exactly once.
func wantSchemaMigrations(t *testing.T, db *DB, ms []migration) {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Version int
		Name    string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		t.Fatal(err)
	}
	var want []row
	for _, m := range ms {
		want = append(want, row{m.version, m.name})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("schema_migrations = %+v, want %+v", got, want)
	}
}

// Instances starting at once on a fresh database each run Migrate: all
// succeed and each migration is applied once.
func TestMigrateConcurrent(t *testing.T) {
	const instances = 4
	_, dbURL := freshSchema(t)
	dbs := make([]*DB, instances)
	for i := range dbs {
		dbs[i] = openAt(t, dbURL)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, db := range dbs {
		wg.Go(func() {
			<-start
			if err := db.Migrate(context.Background()); err != nil {
				t.Errorf("Migrate: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	wantSchemaMigrations(t, dbs[0], ms)
	for i, db := range dbs {
		if current, err := db.MigrationsCurrent(context.Background()); err != nil || !current {
			t.Errorf("instance %d: MigrationsCurrent = %v, %v", i, current, err)
		}
	}
}

// Two pools stand for two instances: their workers claim 1,000 mails at
// once and every mail is delivered exactly once, with one attempt.
func TestTwoInstancesClaimOnce(t *testing.T) {
	const total, workersPerInstance, batch = 1000, 4, 10
	ctx := context.Background()
	_, dbURL := freshSchema(t)
	first := openAt(t, dbURL)
	if err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	second := openAt(t, dbURL)
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
	delivered := map[int64]int{}
	perInstance := map[*DB]int{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, db := range []*DB{first, second} {
		for range workersPerInstance {
			wg.Go(func() {
				<-start
				for {
					mails, err := db.ClaimMail(ctx, now, time.Hour, batch)
					if err != nil {
						t.Errorf("ClaimMail: %v", err)
						return
					}
					if len(mails) == 0 {
						return
					}
					for _, m := range mails {
						if m.Attempts != 1 {
							t.Errorf("mail %d claimed with %d attempts", m.ID, m.Attempts)
						}
						if err := db.MailSent(ctx, m.ID, now); err != nil {
							t.Errorf("MailSent: %v", err)
							return
						}
					}
					mu.Lock()
					for _, m := range mails {
						delivered[m.ID]++
					}
					perInstance[db] += len(mails)
					mu.Unlock()
				}
			})
		}
	}
	close(start)
	wg.Wait()
	if len(delivered) != total {
		t.Fatalf("%d distinct mails delivered, want %d", len(delivered), total)
	}
	for id, n := range delivered {
		if n != 1 {
			t.Errorf("mail %d delivered %d times", id, n)
		}
	}
	if n := count(t, first, `SELECT count(*) FROM outbox WHERE sent_at IS NULL OR attempts <> 1`); n != 0 {
		t.Errorf("%d outbox rows unsent or claimed more than once", n)
	}
	t.Logf("instance shares: %d and %d", perInstance[first], perInstance[second])
}

// Hits from two instances, twenty goroutines each, lose no increment and
// no two see the same count.
func TestTwoInstancesHitCounter(t *testing.T) {
	const goroutines, each = 20, 10
	ctx := context.Background()
	_, dbURL := freshSchema(t)
	first := openAt(t, dbURL)
	if err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	second := openAt(t, dbURL)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	key := tacit.HashToken("flooded")
	var mu sync.Mutex
	var seen []int
	var wg sync.WaitGroup
	for _, db := range []*DB{first, second} {
		for range goroutines {
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
	const total = 2 * goroutines * each
	if len(seen) != total {
		t.Fatalf("%d hits returned, want %d", len(seen), total)
	}
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

// A burst of requests on a key with no counter yet, checked and counted
// in one Update each as the flows do, from two instances: exactly limit of
// them get through. Without Counter's lock every request of the burst
// would read "no counter" and pass.
func TestCheckThenHitSerialised(t *testing.T) {
	const limit, requests = 5, 40
	ctx := context.Background()
	_, dbURL := freshSchema(t)
	first := openAt(t, dbURL)
	if err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	second := openAt(t, dbURL)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	key := tacit.HashToken("burst")
	var mu sync.Mutex
	admitted := 0
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range requests {
		db := []*DB{first, second}[i%2]
		wg.Go(func() {
			<-start
			var ok bool
			err := db.Update(ctx, func(tx tacit.Tx) error {
				c, err := tx.Counter(ctx, key, now)
				if err != nil && !errors.Is(err, tacit.ErrNotFound) {
					return err
				}
				if c.Count >= limit {
					return nil
				}
				// Work between check and hit, as a flow does, widens
				// the window an unserialised store would leave open.
				time.Sleep(time.Millisecond)
				_, err = tx.HitCounter(ctx, key, now, time.Hour)
				ok = err == nil
				return err
			})
			if err != nil {
				t.Errorf("Update: %v", err)
				return
			}
			if ok {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if admitted != limit {
		t.Fatalf("%d requests admitted, want %d", admitted, limit)
	}
	if n := count(t, first, `SELECT count FROM counters WHERE key = $1`, key); n != limit {
		t.Fatalf("count = %d, want %d", n, limit)
	}
}

// A write inside View is refused by PostgreSQL itself.
func TestViewReadOnly(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	err := db.View(ctx, func(tx tacit.Tx) error {
		_, err := tx.HitCounter(ctx, []byte("k"), time.Now(), time.Hour)
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" { // read_only_sql_transaction
		t.Fatalf("HitCounter in View: %v, want SQLSTATE 25006", err)
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
	if err := db.pool.QueryRow(ctx, `SELECT created_at FROM accounts WHERE id = $1`, a.ID).Scan(&stored); err != nil {
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
	err := db.pool.QueryRow(context.Background(),
		`SELECT data, sent_at, failed_at, last_error FROM outbox WHERE id = $1`, id).
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

// Without pool_max_conns in the URL the pool gets defaultMaxConns; with
// it, the URL wins. Connections are named for pg_stat_activity.
func TestPoolConfig(t *testing.T) {
	_, dbURL := freshSchema(t)
	db := openAt(t, dbURL)
	if got := db.pool.Config().MaxConns; got != defaultMaxConns {
		t.Errorf("MaxConns = %d, want %d", got, defaultMaxConns)
	}
	var name string
	if err := db.pool.QueryRow(context.Background(), `SHOW application_name`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "tacit" {
		t.Errorf("application_name = %q, want tacit", name)
	}
	db = openAt(t, dbURL+"&pool_max_conns=3")
	if got := db.pool.Config().MaxConns; got != 3 {
		t.Errorf("MaxConns with pool_max_conns=3 = %d, want 3", got)
	}

	// Without prepared statements, as behind a transaction pooler, the
	// store works the same.
	ctx := context.Background()
	db = openAt(t, dbURL+"&default_query_exec_mode=exec")
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate in exec mode: %v", err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var c tacit.Counter
	err := db.Update(ctx, func(tx tacit.Tx) error {
		if _, err := tx.HitCounter(ctx, []byte("k"), now, time.Hour); err != nil {
			return err
		}
		var err error
		c, err = tx.Counter(ctx, []byte("k"), now)
		return err
	})
	if err != nil || c.Count != 1 {
		t.Fatalf("hit and read a counter in exec mode: %+v, %v", c, err)
	}
}

// A server that does not answer fails Open with an error that says where
// it looked and withholds the password.
func TestOpenUnreachable(t *testing.T) {
	ctx := context.Background()
	// Port 1 on the loopback address: nothing listens there.
	_, err := Open(ctx, "postgres://tacit:s3cret@127.0.0.1:1/tacitdb?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"cannot reach database", `"tacitdb"`, "127.0.0.1:1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %s", msg, want)
		}
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("error %q reveals the password", msg)
	}
	_, err = Open(ctx, "postgres://tacit:s3cret@127.0.0.1:bad/x")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open of a malformed URL: %v", err)
	}
}

// TestHousekeepingOneInstanceAtATime: while one instance purges, another's
// purge and trim skip the deleting instead of doing it twice.
func TestHousekeepingOneInstanceAtATime(t *testing.T) {
	ctx := context.Background()
	_, dbURL := freshSchema(t)
	a, b := openAt(t, dbURL), openAt(t, dbURL)
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	err := a.Update(ctx, func(tx tacit.Tx) error {
		_, err := tx.HitCounter(ctx, []byte("expired"), now.Add(-2*time.Hour), time.Hour)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Instance a holds both housekeeping locks in an open transaction.
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, key := range []int64{purgeLock, trimLock} {
		if mine, err := housekeepingLock(ctx, tx, key); err != nil || !mine {
			t.Fatalf("lock %x: %v, %v", key, mine, err)
		}
	}
	if err := b.Purge(ctx, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if left, err := b.TrimCounters(ctx, now, 0); err != nil || left != 1 {
		t.Fatalf("trim while another instance housekeeps: left %d, %v; want 1 untouched", left, err)
	}
	tx.Rollback(ctx)
	if left, err := b.TrimCounters(ctx, now, 0); err != nil || left != 0 {
		t.Fatalf("trim once the lock is free: left %d, %v", left, err)
	}
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/sqlstore"
	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/sqlite"
	"github.com/tacitauth/tacit/storetest"
)

// engine opens this package's databases for the tests, each in a new
// schema on the test server.
var engine = storetest.Engine[*DB]{
	Open:  Open,
	Fresh: func(t *testing.T) string { dbURL, _ := testenv.PostgresSchema(t); return dbURL },
	Row: func(db *DB, query string, dest ...any) error {
		return db.pool.QueryRow(context.Background(), query).Scan(dest...)
	},
	Exec: func(db *DB, statement string) error {
		_, err := db.pool.Exec(context.Background(), statement)
		return err
	},
	Snapshot: OpenSnapshot,
}

// TestCopyAcrossEngines copies a SQLite database into PostgreSQL and back,
// and a PostgreSQL database into SQLite and back, as tacit migrate-data
// does, checking every table of the schema each time.
func TestCopyAcrossEngines(t *testing.T) {
	testenv.PostgresServer(t)
	lite := storetest.Engine[*sqlite.DB]{
		Open:     sqlite.Open,
		Fresh:    func(t *testing.T) string { return filepath.Join(t.TempDir(), "tacit.db") },
		Snapshot: sqlite.OpenSnapshot,
	}
	t.Run("SQLiteToPostgreSQL", func(t *testing.T) { storetest.Copy(t, lite, engine) })
	t.Run("PostgreSQLToSQLite", func(t *testing.T) { storetest.Copy(t, engine, lite) })
}

func TestStore(t *testing.T) {
	testenv.PostgresServer(t)
	storetest.Run(t, engine)
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

// The embedded migrations are recorded in schema_migrations, and every
// table lives in the schema named by search_path. (How Migrate runs, again
// and at once from several instances, is in storetest.)
func TestMigrate(t *testing.T) {
	dbURL, schema := testenv.PostgresSchema(t)
	db := engine.OpenAt(t, dbURL)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	ms, err := embedded.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	// Later migrations are numbered by whoever adds them; the released
	// ones come first, in order.
	if len(ms) < 4 || ms[0].Name != "001_init.sql" || ms[1].Name != "002_account_lifecycle.sql" || ms[2].Name != "003_mfa.sql" {
		t.Fatalf("embedded migrations = %+v", ms)
	}
	wantSchemaMigrations(t, db, ms)
	for _, table := range []string{"schema_migrations", "accounts", "signups", "sessions", "outbox",
		"dev_mailbox", "reset_tokens", "email_changes", "counters", "secrets", "totp", "recovery_codes", "mfa_challenges"} {
		n := count(t, db, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2`,
			schema, table)
		if n != 1 {
			t.Errorf("table %s.%s: found %d", schema, table, n)
		}
	}
}

// wantSchemaMigrations checks that schema_migrations records each of ms
// exactly once.
func wantSchemaMigrations(t *testing.T, db *DB, ms []sqlstore.Migration) {
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
		want = append(want, row{m.Version, m.Name})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("schema_migrations = %+v, want %+v", got, want)
	}
}

// A write inside View is refused by PostgreSQL itself.
func TestViewReadOnly(t *testing.T) {
	ctx := context.Background()
	db := engine.OpenMigrated(t)
	err := db.View(ctx, func(tx tacit.Tx) error {
		_, err := tx.HitCounter(ctx, []byte("k"), time.Now(), time.Hour)
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" { // read_only_sql_transaction
		t.Fatalf("HitCounter in View: %v, want SQLSTATE 25006", err)
	}
}

// Without pool_max_conns in the URL the pool gets defaultMaxConns; with
// it, the URL wins. Connections are named for pg_stat_activity.
func TestPoolConfig(t *testing.T) {
	dbURL := engine.Fresh(t)
	db := engine.OpenAt(t, dbURL)
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
	db = engine.OpenAt(t, dbURL+"&pool_max_conns=3")
	if got := db.pool.Config().MaxConns; got != 3 {
		t.Errorf("MaxConns with pool_max_conns=3 = %d, want 3", got)
	}

	// Without prepared statements, as behind a transaction pooler, the
	// store works the same.
	ctx := context.Background()
	db = engine.OpenAt(t, dbURL+"&default_query_exec_mode=exec")
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
	a, b := engine.OpenTwo(t)
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
	for _, key := range []int64{sqlstore.PurgeLock, sqlstore.TrimLock} {
		if mine, err := housekeepingLock(ctx, tx, key); err != nil || !mine {
			t.Fatalf("lock %x: %v, %v", key, mine, err)
		}
	}
	if err := b.Purge(ctx, now, time.Hour); err != nil {
		t.Fatal(err)
	}
	// It reports what the other instance's trim leaves (nothing: the
	// counter expired), so that it does not take an untrimmed table for
	// a full one, but deletes nothing itself.
	if left, err := b.TrimCounters(ctx, now, 0); err != nil || left != 0 {
		t.Fatalf("trim while another instance housekeeps: left %d, %v; want 0 reported", left, err)
	}
	var rows int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM counters`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("counter rows after a trim that skipped the deleting: %d, %v; want 1 untouched", rows, err)
	}
	tx.Rollback(ctx)
	if left, err := b.TrimCounters(ctx, now, 0); err != nil || left != 0 {
		t.Fatalf("trim once the lock is free: left %d, %v", left, err)
	}
}

// TestTrimReportsHoldingWhileAnotherTrims: an instance whose trim skips
// the deleting, because another instance is trimming, still reports
// counters that hold their keys back beyond the cap, so that it too fails
// closed; counters that hold nothing back count only up to the cap.
func TestTrimReportsHoldingWhileAnotherTrims(t *testing.T) {
	ctx := context.Background()
	a, b := engine.OpenTwo(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	err := a.Update(ctx, func(tx tacit.Tx) error {
		for i := range 5 {
			k := []byte(fmt.Sprintf("key %d", i))
			if _, err := tx.HitCounter(ctx, k, now, time.Hour); err != nil {
				return err
			}
			if i < 3 {
				if err := tx.HoldCounter(ctx, k, now.Add(time.Minute)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if mine, err := housekeepingLock(ctx, tx, sqlstore.TrimLock); err != nil || !mine {
		t.Fatalf("trim lock: %v, %v", mine, err)
	}
	for _, c := range []struct{ keep, want int }{{1, 3}, {4, 4}, {10, 5}} {
		if left, err := b.TrimCounters(ctx, now, c.keep); err != nil || left != c.want {
			t.Errorf("trim to %d while another trims: left %d, %v; want %d", c.keep, left, err, c.want)
		}
	}
}

// housekeepingLock takes the housekeeping lock key in t as an instance's
// housekeeping does.
func housekeepingLock(ctx context.Context, t pgx.Tx, key int64) (bool, error) {
	return (*pgEngine)(nil).Lock(ctx, querier{t}, key, false)
}

// A full disk (SQLSTATE 53100) is tacit.ErrStorageFull, which the HTTP
// surface answers 503 with Retry-After, as SQLite's SQLITE_FULL; other
// errors, including the rest of class 53, are not. The error keeps its
// PostgreSQL detail for the log.
func TestClassifyDiskFull(t *testing.T) {
	full := fmt.Errorf("insert: %w", &pgconn.PgError{Code: "53100", Message: `could not extend file "base/16384/16390": No space left on device`})
	for _, c := range []struct {
		err  error
		full bool
	}{
		{full, true},
		{fmt.Errorf("commit: %w", full), true},
		{&pgconn.PgError{Code: "53200", Message: "out of memory"}, false},
		{&pgconn.PgError{Code: "53300", Message: "too many connections"}, false},
		{&pgconn.PgError{Code: uniqueViolation}, false},
		{errors.New("no space left on device"), false},
		{nil, false},
	} {
		got := classify(c.err)
		if errors.Is(got, tacit.ErrStorageFull) != c.full {
			t.Errorf("classify(%v) = %v; storage full %v, want %v", c.err, got, !c.full, c.full)
		}
		var pg *pgconn.PgError
		if c.err != nil && errors.As(c.err, &pg) && !errors.As(got, &pg) {
			t.Errorf("classify(%v) = %v lost the PostgreSQL error", c.err, got)
		}
	}
	if got := classify(classify(full)); strings.Count(got.Error(), tacit.ErrStorageFull.Error()) != 1 {
		t.Errorf("classify twice = %q, want storage full said once", got)
	}
}

// A write transaction and a lone statement that meet disk_full on a real
// server return tacit.ErrStorageFull, and the transaction's other writes
// are rolled back.
func TestDiskFullFromServer(t *testing.T) {
	testenv.PostgresServer(t)
	ctx := context.Background()
	db, err := Open(ctx, engine.Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.pool.Exec(ctx, `CREATE TABLE full_probe (n int)`); err != nil {
		t.Fatal(err)
	}
	const raise = `DO $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$`
	e := (*pgEngine)(db)
	err = e.Write(ctx, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO full_probe VALUES (1)`); err != nil {
			return err
		}
		_, err := q.Exec(ctx, raise)
		return err
	})
	if !errors.Is(err, tacit.ErrStorageFull) {
		t.Errorf("Write meeting disk_full: %v, want tacit.ErrStorageFull", err)
	}
	if n := count(t, db, `SELECT count(*) FROM full_probe`); n != 0 {
		t.Errorf("%d rows written by the transaction that met disk_full, want 0", n)
	}
	err = e.Statement(ctx, func(q sqlstore.Querier) error { _, err := q.Exec(ctx, raise); return err })
	if !errors.Is(err, tacit.ErrStorageFull) {
		t.Errorf("Statement meeting disk_full: %v, want tacit.ErrStorageFull", err)
	}
}

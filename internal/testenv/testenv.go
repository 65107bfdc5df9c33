// Package testenv sets up the real components tacit's tests run on: a
// fresh SQLite file, a fresh PostgreSQL schema, password hashing cheap
// enough for tests and throttling that lets one client send thousands of
// requests. Only tests import it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/sqlite"
)

// SQLite opens a fresh, migrated SQLite file in t's temporary directory,
// closed when the test ends.
func SQLite(t testing.TB) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tacit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// Hasher is argon2id with the least work it accepts: tests hash many
// passwords, and what they check does not depend on the cost.
func Hasher(t testing.TB) *argon2id.Hasher {
	t.Helper()
	h, err := argon2id.New(argon2id.Params{Memory: 64, Time: 1, Threads: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// RoomyLimits are the default limits with the per-client ones raised out
// of the way: every test request comes from 127.0.0.1, and tests that send
// thousands of them must not be held back as one client. The per-address
// limits stay at their defaults.
func RoomyLimits() *flow.Limits {
	l := flow.DefaultLimits()
	huge := flow.Limit{Free: 1 << 30, Delay: time.Second, Window: time.Hour}
	l.LoginIP, l.RequestsIP, l.ResetSubmit, l.ClientSecretIP = huge, huge, huge, huge
	return &l
}

// PostgresServer returns the URL of the PostgreSQL test server, from
// TACIT_TEST_POSTGRES, or skips the test.
func PostgresServer(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TACIT_TEST_POSTGRES")
	if u == "" {
		t.Skip("TACIT_TEST_POSTGRES not set: skipping a PostgreSQL test (set it to a database URL to run it)")
	}
	return u
}

// PostgresSchema creates an empty schema on the test server, dropped when
// the test ends, and returns the server's URL with search_path set to it,
// which keeps every table of the test there, and the schema's name. It
// skips the test without a server.
func PostgresSchema(t testing.TB) (dbURL, schema string) {
	t.Helper()
	server := PostgresServer(t)
	b := make([]byte, 8)
	rand.Read(b)
	schema = "tacit_test_" + hex.EncodeToString(b)
	PostgresExec(t, server, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { PostgresExec(t, server, "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("TACIT_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), schema
}

// PostgresExec runs statements on the PostgreSQL database at dbURL,
// outside any store: to set up what no store method makes.
func PostgresExec(t testing.TB, dbURL string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// FillCounterTable fills store's counter table with more than maxKeys
// counters that hold their keys back for an hour from now, trims it to
// maxKeys as the server's trim loop does, and tells svc the table is
// full: the state "counter table full" of the uniformity tests.
func FillCounterTable(t testing.TB, store tacit.Store, svc *flow.Service, now time.Time, maxKeys int) {
	t.Helper()
	ctx := context.Background()
	err := store.Update(ctx, func(tx tacit.Tx) error {
		for i := range maxKeys + 5 {
			k := []byte(fmt.Sprintf("holding junk %d", i))
			if _, err := tx.HitCounter(ctx, k, now, time.Hour); err != nil {
				return err
			}
			if err := tx.HoldCounter(ctx, k, now.Add(time.Hour)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	left, err := store.TrimCounters(ctx, now, maxKeys)
	if err != nil {
		t.Fatal(err)
	}
	if left <= maxKeys {
		t.Fatalf("%d counters left after the trim, want more than %d", left, maxKeys)
	}
	svc.SetCounterTableFull(left > maxKeys)
}

package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/internal/sqlstore"
)

// A migration's Go step runs in the migration's transaction: when it
// fails, neither its writes nor any migration's record remain, and the
// next Migrate runs it again. A step without its SQL file is refused.
func TestGoStepInMigrationTransaction(t *testing.T) {
	ctx := context.Background()
	saved := goSteps[6]
	t.Cleanup(func() { goSteps[6] = saved })
	goSteps[999] = saved
	_, err := migrations()
	delete(goSteps, 999)
	if err == nil || !strings.Contains(err.Error(), "999") {
		t.Fatalf("migrations() with a step lacking its file = %v", err)
	}

	boom := errors.New("boom")
	goSteps[6] = func(ctx context.Context, t sqlstore.Querier) error {
		if _, err := t.Exec(ctx, `INSERT INTO accounts (email, password_hash, created_at) VALUES ('x@example.com', 'h', 0)`); err != nil {
			return err
		}
		return boom
	}
	db := engine.OpenAt(t, engine.Fresh(t))
	if err := db.Migrate(ctx); !errors.Is(err, boom) {
		t.Fatalf("Migrate with a failing step = %v, want %v", err, boom)
	}
	if n := count(t, db, `SELECT count(*) FROM pg_tables WHERE tablename = 'accounts' AND schemaname = current_schema()`); n != 0 {
		t.Fatalf("after the failed step the accounts table exists (%d)", n)
	}
	ran := 0
	goSteps[6] = func(context.Context, sqlstore.Querier) error { ran++; return nil }
	for range 2 {
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if ran != 1 {
		t.Fatalf("step ran %d times over two Migrates, want 1", ran)
	}
	if n := count(t, db, `SELECT count(*) FROM schema_migrations WHERE version = 6`); n != 1 {
		t.Fatalf("migration 6 recorded %d times", n)
	}
}

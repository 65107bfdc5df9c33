package sqlite

import (
	"context"
	"errors"
	"github.com/tacitauth/tacit/internal/sqlstore"
	"strings"
	"testing"
)

// A migration's Go step runs in the migration's transaction: when it
// fails, neither its writes nor its migration's record remain, and the
// next Migrate runs it again. A step without its SQL file is refused.
func TestGoStepInMigrationTransaction(t *testing.T) {
	ctx := context.Background()
	saved := goSteps[6]
	t.Cleanup(func() { goSteps[6] = saved })
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
	var accounts, recorded int
	if err := db.reader.QueryRow(`SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM schema_migrations WHERE version = 6)`).Scan(&accounts, &recorded); err != nil {
		t.Fatal(err)
	}
	if accounts != 0 || recorded != 0 {
		t.Fatalf("after the failed step: %d accounts, migration 6 recorded %d times; want 0, 0", accounts, recorded)
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

	goSteps[999] = saved
	defer delete(goSteps, 999)
	if _, err := migrations(); err == nil || !strings.Contains(err.Error(), "999") {
		t.Fatalf("migrations() with a step lacking its file = %v", err)
	}
}

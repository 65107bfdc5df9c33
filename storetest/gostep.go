package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/internal/sqlstore"
)

// GoStep checks that a migration's Go step runs in the migration's
// transaction: when it fails, neither its writes nor its migration's
// record remain, and the next Migrate runs it again, once. A step without
// its SQL file is refused. steps is the engine's map of Go steps, which
// its Migrate reads: GoStep replaces migration 6's for a while, so the
// engine must not migrate anything else meanwhile (no parallel test).
// failed, if not nil, checks what the engine left after the failed step.
func GoStep[S Migrator](t *testing.T, e Engine[S], steps map[int]func(context.Context, sqlstore.Querier) error, failed func(t *testing.T, db S)) {
	ctx := context.Background()
	saved := steps[6]
	t.Cleanup(func() { steps[6] = saved })
	steps[999] = saved
	err := e.OpenAt(t, e.Fresh(t)).Migrate(ctx)
	delete(steps, 999)
	if err == nil || !strings.Contains(err.Error(), "999") {
		t.Fatalf("Migrate with a step lacking its file = %v", err)
	}

	boom := errors.New("boom")
	steps[6] = func(ctx context.Context, q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO accounts (email, password_hash, created_at) VALUES ('x@example.com', 'h', 0)`); err != nil {
			return err
		}
		return boom
	}
	db := e.OpenAt(t, e.Fresh(t))
	if err := db.Migrate(ctx); !errors.Is(err, boom) {
		t.Fatalf("Migrate with a failing step = %v, want %v", err, boom)
	}
	wantCurrent(t, db, false, "after the failed step")
	if failed != nil {
		failed(t, db)
	}
	ran := 0
	steps[6] = func(context.Context, sqlstore.Querier) error { ran++; return nil }
	for range 2 {
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if ran != 1 {
		t.Fatalf("step ran %d times over two Migrates, want 1: the failed one was recorded, or a recorded one ran again", ran)
	}
	var written int
	e.row(t, db, `SELECT count(*) FROM accounts WHERE email = 'x@example.com'`, &written)
	if written != 0 {
		t.Fatalf("the failed step's write remains (%d rows)", written)
	}
	wantMigratedOnce(t, e, db)
}

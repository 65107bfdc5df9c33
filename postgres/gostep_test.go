package postgres

import (
	"testing"

	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/storetest"
)

// A migration's Go step runs in the migration's transaction, which for
// PostgreSQL is every migration's: the failed step leaves not even the
// tables of the migrations before it.
func TestGoStepInMigrationTransaction(t *testing.T) {
	testenv.PostgresServer(t)
	storetest.GoStep(t, engine, embedded.Steps, func(t *testing.T, db *DB) {
		if n := count(t, db, `SELECT count(*) FROM pg_tables WHERE tablename = 'accounts' AND schemaname = current_schema()`); n != 0 {
			t.Fatalf("after the failed step the accounts table exists (%d)", n)
		}
	})
}

package sqlite

import (
	"testing"

	"github.com/tacitauth/tacit/storetest"
)

// A migration's Go step runs in the migration's transaction: the failed
// step leaves no row and no record of its migration. Not in parallel: it
// replaces a step that every Migrate reads.
func TestGoStepInMigrationTransaction(t *testing.T) {
	storetest.GoStep(t, engine, embedded.Steps, func(t *testing.T, db *DB) {
		var accounts, recorded int
		if err := db.reader.QueryRow(`SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM schema_migrations WHERE version = 6)`).Scan(&accounts, &recorded); err != nil {
			t.Fatal(err)
		}
		if accounts != 0 || recorded != 0 {
			t.Fatalf("after the failed step: %d accounts, migration 6 recorded %d times; want 0, 0", accounts, recorded)
		}
	})
}

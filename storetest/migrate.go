package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// A fresh database is not current until Migrate, which may run again, as
// it does at every start; another handle, as after a restart, finds the
// database current.
func testMigrate(t *testing.T, e engine) {
	dbs := e.unmigrated(t, 2)
	wantCurrent(t, dbs[0], false, "before Migrate")
	for i := range 3 {
		if err := dbs[0].Migrate(context.Background()); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	wantCurrent(t, dbs[0], true, "after Migrate")
	wantCurrent(t, dbs[1], true, "on another handle after Migrate")
	wantMigratedOnce(t, e, dbs[0])
}

// Instances starting at once on a fresh database each run Migrate: all
// succeed and each migration is applied once.
func testMigrateConcurrent(t *testing.T, e engine) {
	const instances = 4
	dbs := e.unmigrated(t, instances)
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
	for i, db := range dbs {
		wantCurrent(t, db, true, fmt.Sprintf("instance %d", i))
	}
	wantMigratedOnce(t, e, dbs[0])
}

// wantCurrent fails unless MigrationsCurrent reports want.
func wantCurrent(t *testing.T, db Migrator, want bool, when string) {
	t.Helper()
	current, err := db.MigrationsCurrent(context.Background())
	if err != nil || current != want {
		t.Fatalf("MigrationsCurrent %s = %v, %v; want %v, nil", when, current, err, want)
	}
}

// wantMigratedOnce fails unless schema_migrations records each migration
// exactly once.
func wantMigratedOnce(t *testing.T, e engine, db Migrator) {
	t.Helper()
	var rows, versions int
	e.row(t, db, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`, &rows, &versions)
	if rows == 0 || rows != versions {
		t.Fatalf("schema_migrations holds %d rows for %d versions", rows, versions)
	}
}

package sqlite

import (
	"context"
	"embed"
	"fmt"

	"github.com/tacitauth/tacit/internal/sqlstore"
)

// migrationFiles holds the schema changes, named NNN_name.sql and applied
// in the order of NNN. A released migration is never edited; a change is a
// new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// goSteps are the migrations' steps in Go (see sqlstore.GoSteps).
var goSteps = sqlstore.GoSteps()

// migrations returns the embedded migrations in version order.
func migrations() ([]sqlstore.Migration, error) {
	return sqlstore.Migrations(migrationFiles, goSteps)
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
)`

// Migrate applies the embedded migrations that the database lacks, each in
// its own transaction together with its schema_migrations row, so a failed
// migration leaves no trace and a later one is never applied without it.
// It is safe to call on every start, from several processes at once: each
// transaction takes the write lock before checking what is applied.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := db.writer.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for i := range ms {
		err := inTx(ctx, db.writer, nil, db.writerStmts, func(q sqlstore.Querier) error { return sqlstore.Apply(ctx, q, ms[i:i+1]) })
		if err != nil {
			return fmt.Errorf("migrate %w", err)
		}
	}
	return nil
}

// MigrationsCurrent reports whether every embedded migration has been
// applied, so a server can refuse to report ready on an old schema.
func (db *DB) MigrationsCurrent(ctx context.Context) (bool, error) {
	// Readiness asks this: a replaced file is not ready.
	if err := db.checkFile(); err != nil {
		return false, err
	}
	ms, err := migrations()
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	current, err := sqlstore.Current(ctx, querier{db: db.reader},
		`SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`, ms)
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	return current, nil
}

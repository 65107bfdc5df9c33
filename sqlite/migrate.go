package sqlite

import (
	"context"
	"fmt"

	"github.com/tacitauth/tacit/internal/sqlstore"
)

// Migrate applies the embedded migrations that the database lacks, each in
// its own transaction together with its schema_migrations row, so a failed
// migration leaves no trace and a later one is never applied without it.
// It is safe to call on every start, from several processes at once: each
// transaction takes the write lock before checking what is applied.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := embedded.Migrations()
	if err == nil {
		err = sqlstore.CreateMigrationsTable(ctx, querier{db: db.writer})
	}
	if err != nil {
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
	current, err := embedded.Current(ctx, querier{db: db.reader})
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	return current, nil
}

package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/tacitauth/tacit/internal/sqlstore"
)

// migrateLock is the advisory lock Migrate holds: the ASCII bytes of
// "tacitmig" as a bigint. Advisory locks are per database, so deployments in
// two schemas of one database merely take turns migrating.
const migrateLock int64 = 0x74616369746d6967

// Migrate applies the embedded migrations that the database lacks, with
// their schema_migrations rows, in one transaction: PostgreSQL's DDL is
// transactional, so a failed migration leaves no trace.
//
// It is safe to call on every start, from several instances at once. The
// transaction first takes an advisory lock that it holds until it ends, so
// instances migrate one after another and each sees what the previous one
// committed; without it two would both find a migration missing and both
// run it (CREATE TABLE IF NOT EXISTS itself is not safe against a
// concurrent creator either).
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := embedded.Migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	err = db.inTx(ctx, pgx.TxOptions{}, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if err := sqlstore.CreateMigrationsTable(ctx, q); err != nil {
			return err
		}
		return sqlstore.Apply(ctx, q, ms)
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrationsCurrent reports whether every embedded migration has been
// applied, so a server can refuse to report ready on an old schema.
func (db *DB) MigrationsCurrent(ctx context.Context) (bool, error) {
	var current bool
	err := db.inTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(q sqlstore.Querier) (err error) {
		current, err = embedded.Current(ctx, q)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	return current, nil
}

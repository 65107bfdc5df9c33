package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
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

// migrateLock is the advisory lock Migrate holds: the ASCII bytes of
// "tacitmig" as a bigint. Advisory locks are per database, so deployments in
// two schemas of one database merely take turns migrating.
const migrateLock int64 = 0x74616369746d6967

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
)`

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
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	err = db.inTx(ctx, pgx.TxOptions{}, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := q.Exec(ctx, createMigrationsTable); err != nil {
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
	ms, err := migrations()
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	var current bool
	err = db.inTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(q sqlstore.Querier) (err error) {
		// to_regclass looks the name up on the search path, as the
		// other queries do, and is NULL rather than an error if it is
		// missing.
		current, err = sqlstore.Current(ctx, q, `SELECT to_regclass('schema_migrations') IS NOT NULL`, ms)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	return current, nil
}

package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// migrationFiles holds the schema changes, named NNN_name.sql and applied
// in the order of NNN. A released migration is never edited; a change is a
// new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	sql     string
	// step is the migration's Go step, if it has one (see goSteps).
	step func(context.Context, pgx.Tx) error
}

// goSteps are the changes of data that SQL cannot express, by the version
// of the migration they belong to: each runs in that migration's
// transaction right after its SQL file, so the two are applied together or
// not at all, and never again once recorded. A Go step still has its
// NNN_name.sql file (which may hold only a comment), so versions stay one
// sequence across both kinds and both engines.
var goSteps = map[int]func(context.Context, pgx.Tx) error{
	6: renormalizeAddresses,
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.sql", base)
		}
		text, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: version, name: base, sql: string(text), step: goSteps[version]})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for v := range goSteps {
		if !slices.ContainsFunc(ms, func(m migration) bool { return m.version == v }) {
			return nil, fmt.Errorf("migration step in Go %d has no migration file", v)
		}
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
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
	err = db.inTx(ctx, pgx.TxOptions{}, func(t pgx.Tx) error {
		if _, err := t.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := t.Exec(ctx, createMigrationsTable); err != nil {
			return err
		}
		applied, err := appliedVersions(ctx, t)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if applied[m.version] {
				continue
			}
			if err := apply(ctx, t, m); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// apply runs m and records it.
func apply(ctx context.Context, t pgx.Tx, m migration) error {
	// Without arguments pgx sends the text as a simple query, which may
	// hold several statements.
	if _, err := t.Exec(ctx, m.sql); err != nil {
		return err
	}
	if m.step != nil {
		if err := m.step(ctx, t); err != nil {
			return err
		}
	}
	_, err := t.Exec(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.version, m.name, micros(time.Now()))
	return err
}

// MigrationsCurrent reports whether every embedded migration has been
// applied, so a server can refuse to report ready on an old schema.
func (db *DB) MigrationsCurrent(ctx context.Context) (bool, error) {
	ms, err := migrations()
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	var current bool
	err = db.inTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(t pgx.Tx) error {
		// to_regclass looks the name up on the search path, as the
		// other queries do, and is NULL rather than an error if it is
		// missing.
		var exists bool
		if err := t.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			current = len(ms) == 0
			return nil
		}
		applied, err := appliedVersions(ctx, t)
		if err != nil {
			return err
		}
		current = true
		for _, m := range ms {
			current = current && applied[m.version]
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	return current, nil
}

// appliedVersions returns the versions recorded in schema_migrations.
func appliedVersions(ctx context.Context, t pgx.Tx) (map[int]bool, error) {
	rows, err := t.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, err
	}
	applied := map[int]bool{}
	for _, v := range versions {
		applied[v] = true
	}
	return applied, nil
}

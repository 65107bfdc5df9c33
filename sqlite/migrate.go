package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
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
	step func(context.Context, *sql.Tx) error
}

// goSteps are the changes of data that SQL cannot express, by the version
// of the migration they belong to: each runs in that migration's
// transaction right after its SQL file, so the two are applied together or
// not at all, and never again once recorded. A Go step still has its
// NNN_name.sql file (which may hold only a comment), so versions stay one
// sequence across both kinds and both engines.
var goSteps = map[int]func(context.Context, *sql.Tx) error{
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
	for _, m := range ms {
		if err := inTx(ctx, db.writer, nil, func(t *sql.Tx) error { return apply(ctx, t, m) }); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// apply runs m unless it is already recorded.
func apply(ctx context.Context, t *sql.Tx, m migration) error {
	var n int
	err := t.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n)
	if err != nil || n > 0 {
		return err
	}
	if _, err := t.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if m.step != nil {
		if err := m.step(ctx, t); err != nil {
			return err
		}
	}
	_, err = t.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
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
	var tables int
	err = db.reader.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables)
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	if tables == 0 {
		return len(ms) == 0, nil
	}
	applied, err := appliedVersions(ctx, db.reader)
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	for _, m := range ms {
		if !applied[m.version] {
			return false, nil
		}
	}
	return true, nil
}

func appliedVersions(ctx context.Context, pool *sql.DB) (map[int]bool, error) {
	rows, err := pool.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

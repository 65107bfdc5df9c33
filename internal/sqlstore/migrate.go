package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Migration is one schema change of an engine: its SQL file and, if it has
// one, its Go step.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Step     func(context.Context, Querier) error
	recorded bool
}

// GoSteps are the changes of data that SQL cannot express, by the version
// of the migration they belong to, the same on every engine: each runs in
// that migration's transaction right after its SQL file, so the two are
// applied together or not at all, and never again once recorded. A Go step
// still has its NNN_name.sql file (which may hold only a comment), so
// versions stay one sequence across both kinds and both engines.
func GoSteps() map[int]func(context.Context, Querier) error {
	return map[int]func(context.Context, Querier) error{
		6: RenormalizeAddresses,
	}
}

// Schema is an engine's migrations: its migrations/NNN_name.sql files, in
// its dialect, with the Go steps (GoSteps), and its query for whether
// schema_migrations exists.
type Schema struct {
	Files  fs.FS
	Steps  map[int]func(context.Context, Querier) error
	Exists string
}

// Migrations returns s's migrations in version order.
func (s Schema) Migrations() ([]Migration, error) {
	return Migrations(s.Files, s.Steps)
}

// Current reports whether schema_migrations records every migration of s.
func (s Schema) Current(ctx context.Context, q Querier) (bool, error) {
	ms, err := s.Migrations()
	if err != nil {
		return false, err
	}
	return Current(ctx, q, s.Exists, ms)
}

// migrationsTable records the migrations applied. BIGINT is an INTEGER in
// SQLite too: any declared type that contains INT has integer affinity.
const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at BIGINT  NOT NULL
)`

// CreateMigrationsTable creates schema_migrations, where Apply records
// the migrations, unless it exists.
func CreateMigrationsTable(ctx context.Context, q Querier) error {
	_, err := q.Exec(ctx, migrationsTable)
	return err
}

// Migrations returns the migrations in files (migrations/NNN_name.sql,
// which a released version never edits), with their Go steps, in version
// order.
func Migrations(files fs.FS, steps map[int]func(context.Context, Querier) error) ([]Migration, error) {
	names, err := fs.Glob(files, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNN_name.sql", base)
		}
		text, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: version, Name: base, SQL: string(text), Step: steps[version]})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for v := range steps {
		if !slices.ContainsFunc(ms, func(m Migration) bool { return m.Version == v }) {
			return nil, fmt.Errorf("migration step in Go %d has no migration file", v)
		}
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// Apply runs those of ms that schema_migrations does not record, each with
// its Go step, and records them, all in q's transaction.
func Apply(ctx context.Context, q Querier, ms []Migration) error {
	if err := recorded(ctx, q, ms); err != nil {
		return err
	}
	for _, m := range ms {
		if m.recorded {
			continue
		}
		// Without arguments the text goes as a simple query, which may
		// hold several statements.
		if _, err := q.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if m.Step != nil {
			if err := m.Step(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
		}
		_, err := q.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, Micros(time.Now()))
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	return nil
}

// Current reports whether schema_migrations records every one of ms;
// exists is the engine's query for whether that table exists.
func Current(ctx context.Context, q Querier, exists string, ms []Migration) (bool, error) {
	var found bool
	if err := q.QueryRow(ctx, exists).Scan(&found); err != nil {
		return false, err
	}
	if !found {
		return len(ms) == 0, nil
	}
	if err := recorded(ctx, q, ms); err != nil {
		return false, err
	}
	return !slices.ContainsFunc(ms, func(m Migration) bool { return !m.recorded }), nil
}

// recorded marks those of ms that schema_migrations records.
func recorded(ctx context.Context, q Querier, ms []Migration) error {
	versions, err := collect(ctx, q, func(row Row) (v int, err error) {
		err = row.Scan(&v)
		return v, err
	}, `SELECT version FROM schema_migrations`)
	for i := range ms {
		ms[i].recorded = slices.Contains(versions, ms[i].Version)
	}
	return err
}

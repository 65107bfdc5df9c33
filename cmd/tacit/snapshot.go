package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	// The driver package sqlite uses, registered as "sqlite".
	_ "modernc.org/sqlite"
)

// snapshot is a read-only view of a database for the few reads that
// tacit.Store does not offer: listing every account, its second factors
// and sessions, counting rows, and listing the schema's tables. tacit.Store is the flows' interface and rightly has no
// "list everything"; these reads serve only the maintenance commands, so
// they are plain SQL here rather than methods every engine must carry.
//
// It is one read-only transaction, so everything read through it is one
// consistent state of the database. The SQL is written once for both
// engines (but for the catalogue read of columns): the tables have the
// same columns, times are Unix microseconds in both, and the SQLite driver
// takes $1 placeholders as PostgreSQL does.
type snapshot struct {
	query func(ctx context.Context, sql string, args ...any) (rowSet, error)
	close func() error
	// listColumns lists every table and its columns, in the engine's
	// own catalogue: the one read that differs between the engines.
	listColumns string
}

// The catalogue reads of columns, without the migration runner's own
// table.
const (
	sqliteColumns = `SELECT m.name, p.name FROM sqlite_schema AS m, pragma_table_info(m.name) AS p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name <> 'schema_migrations'
		ORDER BY m.name, p.cid`
	postgresColumns = `SELECT table_name::text, column_name::text FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'
		ORDER BY table_name, ordinal_position`
)

// rowSet is what database/sql's and pgx's result sets share.
type rowSet interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// openSnapshot opens d read-only; setting names where d came from, for
// errors. A missing SQLite file is an error, not a new empty database.
func openSnapshot(ctx context.Context, d Database, setting string) (*snapshot, error) {
	var s *snapshot
	var err error
	if d.Engine == enginePostgres {
		s, err = openPostgresSnapshot(ctx, d.URL)
	} else {
		s, err = openSQLiteSnapshot(ctx, d.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, d.redact(err))
	}
	return s, nil
}

// openSQLiteSnapshot opens the file read-only (mode=ro: SQLite refuses
// every write and does not create a missing file) and begins a read
// transaction, which in WAL mode does not stop a writer.
func openSQLiteSnapshot(ctx context.Context, path string) (*snapshot, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	q := url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(5000)"}}
	dsn := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", dsn.String())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &snapshot{
		query: func(ctx context.Context, query string, args ...any) (rowSet, error) {
			rows, err := tx.QueryContext(ctx, query, args...)
			if err != nil {
				return nil, err
			}
			return sqlRows{rows}, nil
		},
		close:       func() error { return errors.Join(tx.Rollback(), db.Close()) },
		listColumns: sqliteColumns,
	}, nil
}

// sqlRows gives *sql.Rows pgx's Close, which reports nothing: Err does.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// openPostgresSnapshot connects once and begins a REPEATABLE READ, READ
// ONLY transaction: one snapshot, and no write possible.
func openPostgresSnapshot(ctx context.Context, dbURL string) (*snapshot, error) {
	// pgxpool's parser, as package postgres uses, so that a URL with
	// pool settings (pool_max_conns) works here too: they are dropped
	// rather than sent to the server as unknown run-time settings.
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		// The parse error may quote the URL; say only what failed.
		return nil, errors.New("open postgres: cannot parse the database URL")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return &snapshot{
		query: func(ctx context.Context, query string, args ...any) (rowSet, error) {
			return tx.Query(ctx, query, args...)
		},
		close: func() error {
			// Closing must work after the command's context ended.
			ctx := context.WithoutCancel(ctx)
			return errors.Join(tx.Rollback(ctx), conn.Close(ctx))
		},
		listColumns: postgresColumns,
	}, nil
}

// each runs query and calls fn with each row's Scan.
func (s *snapshot) each(ctx context.Context, query string, args []any, fn func(scan func(dest ...any) error) error) error {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// count runs a query that returns one number.
func (s *snapshot) count(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := s.each(ctx, query, args, func(scan func(...any) error) error { return scan(&n) })
	return n, err
}

// columns returns the database's tables, each with its columns, as its
// schema lists them; the migration runner's table is left out.
func (s *snapshot) columns(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	err := s.each(ctx, s.listColumns, nil, func(scan func(...any) error) error {
		var table, column string
		if err := scan(&table, &column); err != nil {
			return err
		}
		out[table] = append(out[table], column)
		return nil
	})
	return out, err
}

// fromMicros turns a stored time (Unix microseconds, 0 for never) back
// into a time.Time, as both engines do.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

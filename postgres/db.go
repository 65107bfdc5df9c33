// Package postgres stores tacit's state in PostgreSQL, for production and
// for running several instances on one database. It uses pgx's pool
// directly (not database/sql) for its error codes, transaction options and
// per-connection statement cache.
//
// The queries are package sqlstore's, shared with package sqlite; this
// package opens the pool, runs the transactions, takes the locks and keeps
// the schema. It behaves like package sqlite in every way the flows can
// see; the shared suite in package storetest checks both. Where PostgreSQL needs more than
// SQLite to give the same guarantee (SQLite runs one writer at a time,
// PostgreSQL many), the method says how.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/sqlstore"
)

// defaultMaxConns is the pool size unless the URL sets pool_max_conns. A
// connection is held only while a transaction runs, and the flows hash
// passwords outside transactions, so a few connections serve many requests;
// ten keeps several instances well under PostgreSQL's default limit of 100
// connections.
const defaultMaxConns = 10

// DB is a tacit.Store backed by a PostgreSQL database.
type DB struct {
	sqlstore.Store
	pool *pgxpool.Pool
}

var _ tacit.Store = (*DB)(nil)

// dialect is PostgreSQL's, which runs writers side by side: lookups of
// single-use rows lock them, and claims skip rows others hold.
var dialect = sqlstore.Dialect{
	Unique:     isUnique,
	Lock:       " FOR UPDATE",
	SkipLocked: " FOR UPDATE SKIP LOCKED",
	Columns: `SELECT table_name::text, column_name::text FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'
		ORDER BY table_name, ordinal_position`,
}

// migrationFiles holds the schema changes, named NNN_name.sql and applied
// in the order of NNN. A released migration is never edited; a change is a
// new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// embedded are PostgreSQL's migrations, with how it asks whether
// schema_migrations exists. to_regclass looks the name up on the search
// path, as the other queries do, and is NULL rather than an error if it is
// missing.
var embedded = sqlstore.Schema{Files: migrationFiles, Steps: sqlstore.GoSteps(),
	Exists: `SELECT to_regclass('schema_migrations') IS NOT NULL`}

// Open connects to the database at url (a postgres:// URL or a key=value
// string, as libpq takes) and checks that it answers. It does not migrate:
// call Migrate.
//
// Parameters pgx does not know itself are sent as run-time settings, so
// "?search_path=tacit" keeps tacit's tables in their own schema.
// pool_max_conns and the other pgxpool settings may be given in url, and
// so may default_query_exec_mode=exec behind a pooler (such as PgBouncer in
// transaction mode) that cannot keep pgx's per-connection prepared
// statements.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL and its password; name
		// neither.
		return nil, errors.New("open postgres: cannot parse the database URL")
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		// Lets an operator tell tacit's connections apart in
		// pg_stat_activity.
		cfg.ConnConfig.RuntimeParams["application_name"] = "tacit"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: cannot reach database %q on %s:%d as %q: %w",
			cfg.ConnConfig.Database, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.User, err)
	}
	db := &DB{pool: pool}
	db.Store = sqlstore.Store{Engine: (*pgEngine)(db), Dialect: &dialect}
	return db, nil
}

// OpenSnapshot connects once to the database at url and begins a
// REPEATABLE READ, READ ONLY transaction: one snapshot, and no write
// possible.
func OpenSnapshot(ctx context.Context, url string) (*sqlstore.Snapshot, error) {
	// pgxpool's parser, as Open uses, so that a URL with pool settings
	// (pool_max_conns) works here too: they are dropped rather than sent
	// to the server as unknown run-time settings.
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("open postgres: cannot parse the database URL")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	t, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return sqlstore.NewSnapshot(querier{t}, &dialect, func() error {
		// Closing must work after the caller's context ended.
		ctx := context.WithoutCancel(ctx)
		return errors.Join(t.Rollback(ctx), conn.Close(ctx))
	}), nil
}

// Close closes every connection of the pool, waiting for those in use.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// pgEngine is the DB as sqlstore.Engine sees it; its methods are not the
// DB's own.
type pgEngine DB

// Write runs fn in one read-write transaction. It uses READ COMMITTED,
// PostgreSQL's default: the uniqueness rules, the single-statement counter
// upsert, the row locks of sqlstore.Dialect.Lock and the counter lock
// taken by Counter (see there) give the guarantees the flows rely on
// without retrying fn on serialisation failures.
func (e *pgEngine) Write(ctx context.Context, fn func(sqlstore.Querier) error) error {
	return (*DB)(e).inTx(ctx, pgx.TxOptions{}, fn)
}

// Read runs fn in a read-only transaction. REPEATABLE READ makes every read
// in it see one snapshot, as a SQLite read transaction does; a read-only
// transaction at that level never fails to serialise. Writes in it fail.
func (e *pgEngine) Read(ctx context.Context, fn func(sqlstore.Querier) error) error {
	return (*DB)(e).inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// Statement runs fn's statement on the pool, in the statement's own
// transaction.
func (e *pgEngine) Statement(ctx context.Context, fn func(sqlstore.Querier) error) error {
	return classify(fn(querier{e.pool}))
}

// Reader is the pool.
func (e *pgEngine) Reader() sqlstore.Querier { return querier{e.pool} }

// Lock takes a transaction-scoped advisory lock: waiting for it, or only
// if no other instance holds it.
func (e *pgEngine) Lock(ctx context.Context, q sqlstore.Querier, key int64, wait bool) (bool, error) {
	if wait {
		_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, key)
		return err == nil, err
	}
	var mine bool
	err := q.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, key).Scan(&mine)
	return mine, err
}

// Tx adds Counter's lock to the shared queries.
func (e *pgEngine) Tx(q sqlstore.Querier, write bool) tacit.Tx {
	return &tx{Tx: &sqlstore.Tx{Q: q, Dialect: &dialect, Write: write}, pg: q.(querier).r.(pgx.Tx)}
}

// inTx runs fn in a transaction and commits if fn succeeds; an error or a
// panic in fn rolls back. fn's own error is returned as it is; those of
// BEGIN and COMMIT are wrapped.
func (db *DB) inTx(ctx context.Context, opts pgx.TxOptions, fn func(sqlstore.Querier) error) error {
	var fnErr error
	err := pgx.BeginTxFunc(ctx, db.pool, opts, func(t pgx.Tx) error {
		fnErr = fn(querier{t})
		return fnErr
	})
	if err != nil && fnErr == nil {
		return fmt.Errorf("transaction: %w", classify(err))
	}
	return classify(err)
}

// diskFull is the SQLSTATE of a write (or a temporary file) refused for
// want of disk space.
const diskFull = "53100"

// classify marks an error of a full disk (SQLSTATE 53100, disk_full) as
// tacit.ErrStorageFull, so that it is answered as the passing condition
// it is rather than as a fault, as SQLite's SQLITE_FULL is. PostgreSQL
// rolls back the transaction that met it: nothing is half written.
func classify(err error) error {
	var e *pgconn.PgError
	if errors.As(err, &e) && e.Code == diskFull && !errors.Is(err, tacit.ErrStorageFull) {
		return fmt.Errorf("%w: %w", tacit.ErrStorageFull, err)
	}
	return err
}

// querier runs statements on a transaction or the pool.
type querier struct {
	r interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.r.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return q.r.Query(ctx, query, args...)
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return q.r.QueryRow(ctx, query, args...)
}

// uniqueViolation is the SQLSTATE of a UNIQUE or PRIMARY KEY violation.
const uniqueViolation = "23505"

// isUnique reports whether err is a UNIQUE (or PRIMARY KEY) constraint
// violation.
func isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == uniqueViolation
}

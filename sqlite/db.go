// Package sqlite stores tacit's state in one SQLite file, using the pure-Go
// driver modernc.org/sqlite so the binary needs no C toolchain. The
// queries are package sqlstore's, shared with package postgres; this
// package opens the file, runs the transactions and keeps the schema.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// readerConns is the size of the read pool. WAL lets readers run alongside
// the single writer; a handful is plenty on the small machines tacit targets.
const readerConns = 4

// DB is a tacit.Store backed by one SQLite file.
//
// It keeps two connection pools on the same file. The writer pool has a
// single connection whose transactions begin IMMEDIATE: writers queue in Go
// for that connection instead of spinning in SQLite's busy handler, and no
// transaction ever has to upgrade a read lock to a write lock, which is what
// deadlocks (SQLITE_BUSY at once, no retry) under concurrent deferred
// transactions. The reader pool serves View and plain reads and is opened
// query-only, so a View cannot write by mistake.
//
// Update's fn must not call the DB's own writing methods (ClaimMail,
// SaveDevMail, Secret, TrimCounters …): the only writer connection is
// held by fn's transaction.
type DB struct {
	sqlstore.Store
	writer      *sql.DB
	reader      *sql.DB
	writerStmts *stmts
	readerStmts *stmts

	path     string      // absolute
	file     os.FileInfo // the file opened, to tell it from a replacement
	replaced atomic.Bool // once set, every transaction is refused
}

var _ tacit.Store = (*DB)(nil)

// dialect is SQLite's: one writer at a time, so no row is ever locked.
var dialect = sqlstore.Dialect{
	Unique: isUnique,
	// SQLite would give the next row the highest ID in the table plus
	// one: a newest account just deleted would hand its ID on.
	NewAccountID: `(max(coalesce((SELECT max(id) FROM accounts), 0), coalesce((SELECT max(highest_deleted) FROM account_ids), 0)) + 1)`,
	Columns: `SELECT m.name, p.name FROM sqlite_schema AS m, pragma_table_info(m.name) AS p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name <> 'schema_migrations'
		ORDER BY m.name, p.cid`,
}

// migrationFiles holds the schema changes, named NNN_name.sql and applied
// in the order of NNN. A released migration is never edited; a change is a
// new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// embedded are SQLite's migrations, with how it asks whether
// schema_migrations exists.
var embedded = sqlstore.Schema{Files: migrationFiles, Steps: sqlstore.GoSteps(),
	Exists: `SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`}

// Open opens the SQLite database at path, creating the file if needed, and
// switches it to WAL. It does not migrate: call Migrate.
func Open(ctx context.Context, path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	writer, err := openPool(ctx, dsn(abs, true), 1)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	// The writer has set WAL (a persistent property of the file) before
	// any reader connects.
	reader, err := openPool(ctx, dsn(abs, false), readerConns)
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	// After the writer has created the file: this is the file the pools
	// hold from now on, whatever comes to be at the path.
	file, err := os.Stat(abs)
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	db := &DB{
		writer:      writer,
		reader:      reader,
		writerStmts: newStmts(writer, sqlstore.CounterByKey, sqlstore.HitCounter),
		readerStmts: newStmts(reader, sqlstore.CounterByKey),
		path:        abs,
		file:        file,
	}
	db.Store = sqlstore.Store{Engine: (*sqlEngine)(db), Dialect: &dialect}
	return db, nil
}

// OpenSnapshot opens the file read-only (mode=ro: SQLite refuses every
// write and does not create a missing file) and begins a read
// transaction, which in WAL mode does not stop a writer. A missing file is
// an error, not a new empty database.
func OpenSnapshot(ctx context.Context, path string) (*sqlstore.Snapshot, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	q := url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(5000)"}}
	pool, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	pool.SetMaxOpenConns(1)
	t, err := pool.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return sqlstore.NewSnapshot(querier{db: t}, &dialect, func() error { return errors.Join(t.Rollback(), pool.Close()) }), nil
}

// dsn builds a file: URI for the driver. A URI (rather than a bare path)
// lets the path hold any character, '?' included, since it is
// percent-encoded.
func dsn(path string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL is durable in WAL mode except for the last transactions
	// before a power loss; it never corrupts the file.
	q.Add("_pragma", "synchronous(NORMAL)")
	if write {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_query_only", "1")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

func openPool(ctx context.Context, dsn string, conns int) (*sql.DB, error) {
	pool, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	// Connections are cheap to keep and carry their PRAGMAs; never expire.
	pool.SetConnMaxLifetime(0)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// Close closes both pools and their prepared statements.
func (db *DB) Close() error {
	return errors.Join(db.writerStmts.close(), db.readerStmts.close(), db.writer.Close(), db.reader.Close())
}

// sqlEngine is the DB as sqlstore.Engine sees it; its methods are not the
// DB's own.
type sqlEngine DB

// checkFile returns tacit.ErrStorageReplaced if the file at the DB's path
// is no longer the one it opened (moved over, or removed): its pools
// still hold the old one, and SQLite would go on using it, and its WAL,
// unaware. A stat per transaction costs a microsecond or two. Once
// found, the refusal stays until the DB is closed, so that a file moved
// back does not make the writes in between seem kept. It cannot see a
// file overwritten in place (cp onto it), which keeps its identity; the
// restore steps in the README never do that.
func (db *DB) checkFile() error {
	if !db.replaced.Load() {
		fi, err := os.Stat(db.path)
		switch {
		case err == nil && os.SameFile(fi, db.file):
			return nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("check database file: %w", err)
		}
		db.replaced.Store(true)
	}
	return fmt.Errorf("%w: %s is not the file opened at start (it was replaced or removed while in use); restart to open the file now there",
		tacit.ErrStorageReplaced, db.path)
}

// Write runs fn in one IMMEDIATE transaction on the writer connection.
func (e *sqlEngine) Write(ctx context.Context, fn func(sqlstore.Querier) error) error {
	if err := (*DB)(e).checkFile(); err != nil {
		return err
	}
	e.writerStmts.warm(ctx)
	return inTx(ctx, e.writer, nil, e.writerStmts, fn)
}

// Read runs fn in a read-only transaction on the reader pool; it sees one
// consistent snapshot and never waits for writers.
func (e *sqlEngine) Read(ctx context.Context, fn func(sqlstore.Querier) error) error {
	if err := (*DB)(e).checkFile(); err != nil {
		return err
	}
	e.readerStmts.warm(ctx)
	return inTx(ctx, e.reader, &sql.TxOptions{ReadOnly: true}, e.readerStmts, fn)
}

// Statement runs fn in an IMMEDIATE transaction, which holds the
// database's write lock from its start: two workers, in this process or
// another, can never claim the same mail.
func (e *sqlEngine) Statement(ctx context.Context, fn func(sqlstore.Querier) error) error {
	if err := (*DB)(e).checkFile(); err != nil {
		return err
	}
	return inTx(ctx, e.writer, nil, e.writerStmts, fn)
}

// Reader is the reader pool.
func (e *sqlEngine) Reader() sqlstore.Querier { return querier{db: e.reader} }

// Lock has nothing to take: the writer connection is the lock.
func (e *sqlEngine) Lock(context.Context, sqlstore.Querier, int64, bool) (bool, error) {
	return true, nil
}

// Tx needs nothing beyond the shared queries.
func (e *sqlEngine) Tx(base *sqlstore.Tx) tacit.Tx { return base }

// inTx runs fn in a transaction on pool and commits if fn succeeds.
func inTx(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, s *stmts, fn func(sqlstore.Querier) error) error {
	t, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", classify(err))
	}
	// Rolls back on error or panic; after Commit it does nothing.
	defer t.Rollback()
	if err := fn(querier{db: t, tx: t, stmts: s}); err != nil {
		return classify(err)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", classify(err))
	}
	return nil
}

// classify marks an error of a full disk (SQLITE_FULL) as
// tacit.ErrStorageFull, so that it is answered as the passing condition
// it is rather than as a fault. SQLite rolls back the transaction that
// met it: nothing is half written.
func classify(err error) error {
	var e *sqlite.Error
	if errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_FULL && !errors.Is(err, tacit.ErrStorageFull) {
		return fmt.Errorf("%w: %w", tacit.ErrStorageFull, err)
	}
	return err
}

// querier runs statements on a pool or in a transaction, tx, using the
// pool's prepared statement (stmts) for a query that has one.
type querier struct {
	db interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
	tx    *sql.Tx
	stmts *stmts
}

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.db.ExecContext(ctx, query, args...)
	if err != nil || len(args) == 0 {
		// A script without arguments (a migration, which may hold only
		// a comment) may have no result to count.
		return 0, err
	}
	return res.RowsAffected()
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	if q.stmts != nil {
		if st := q.stmts.lookup(query); st != nil {
			return q.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
		}
	}
	return q.db.QueryRowContext(ctx, query, args...)
}

// sqlRows gives *sql.Rows the Close of sqlstore.Rows, which reports
// nothing: Err does.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// isUnique reports whether err is a UNIQUE (or PRIMARY KEY) constraint
// violation.
func isUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// SealSecrets is sqlstore.Store's: it seals the clear TOTP secrets and
// signing keys. When it sealed any that were clear, it then rebuilds the
// file (VACUUM) and empties the write-ahead log, since SQLite leaves an
// updated row's old bytes in the page's free space and in the log, where
// anyone reading the file would still find them.
func (db *DB) SealSecrets(ctx context.Context) (sqlstore.Sealed, error) {
	n, err := db.Store.SealSecrets(ctx)
	if err != nil || n.Clear == 0 {
		return n, err
	}
	for _, stmt := range []string{`VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := db.writer.ExecContext(ctx, stmt); err != nil {
			return n, fmt.Errorf("seal secrets: %s: %w", stmt, classify(err))
		}
	}
	return n, nil
}

// Path returns the absolute path of the database file, for the tools and
// tests that open it again (OpenSnapshot).
func (db *DB) Path() string { return db.path }

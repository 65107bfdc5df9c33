// Package sqlite stores tacit's state in one SQLite file, using the pure-Go
// driver modernc.org/sqlite so the binary needs no C toolchain.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	"github.com/tacitauth/tacit"
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
type DB struct {
	writer      *sql.DB
	reader      *sql.DB
	writerStmts *stmts
	readerStmts *stmts
}

var _ tacit.Store = (*DB)(nil)

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
	return &DB{
		writer:      writer,
		reader:      reader,
		writerStmts: newStmts(writer, counterByKey, hitCounter),
		readerStmts: newStmts(reader, counterByKey),
	}, nil
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

// Update runs fn in one IMMEDIATE transaction on the writer connection.
// fn must not call the DB's own writing methods (ClaimMail, SaveDevMail,
// Secret, TrimCounters …): the only writer connection is held by fn's
// transaction.
func (db *DB) Update(ctx context.Context, fn func(tacit.Tx) error) error {
	db.writerStmts.warm(ctx)
	return inTx(ctx, db.writer, nil, func(t *sql.Tx) error { return fn(&tx{tx: t, stmts: db.writerStmts}) })
}

// View runs fn in a read-only transaction on the reader pool; it sees one
// consistent snapshot and never waits for writers.
func (db *DB) View(ctx context.Context, fn func(tacit.Tx) error) error {
	readOnly := &sql.TxOptions{ReadOnly: true}
	db.readerStmts.warm(ctx)
	return inTx(ctx, db.reader, readOnly, func(t *sql.Tx) error { return fn(&tx{tx: t, stmts: db.readerStmts}) })
}

// inTx runs fn in a transaction on pool and commits if fn succeeds.
func inTx(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	t, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// Rolls back on error or panic; after Commit it does nothing.
	defer t.Rollback()
	if err := fn(t); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// tx implements tacit.Tx on one database/sql transaction. Its methods live
// in the file of the table they touch.
type tx struct {
	tx    *sql.Tx
	stmts *stmts // of the pool tx runs on
}

// Purge deletes expired sign-ups, sessions, reset tokens, email changes,
// MFA challenges and counters, and delivered, abandoned or captured mail
// older than now-keep, in one transaction.
func (db *DB) Purge(ctx context.Context, now time.Time, keep time.Duration) error {
	cutoff := micros(now.Add(-keep))
	deletes := []struct {
		query string
		args  []any
	}{
		{`DELETE FROM signups WHERE expires_at <= ?`, []any{micros(now)}},
		{`DELETE FROM sessions WHERE expires_at <= ?`, []any{micros(now)}},
		{`DELETE FROM reset_tokens WHERE expires_at <= ?`, []any{micros(now)}},
		{`DELETE FROM email_changes WHERE expires_at <= ?`, []any{micros(now)}},
		{`DELETE FROM mfa_challenges WHERE expires_at <= ?`, []any{micros(now)}},
		{`DELETE FROM counters WHERE expires_at <= ?`, []any{micros(now)}},
		{`DELETE FROM outbox WHERE sent_at < ? OR failed_at < ?`, []any{cutoff, cutoff}},
		{`DELETE FROM dev_mailbox WHERE sent_at < ?`, []any{cutoff}},
	}
	return inTx(ctx, db.writer, nil, func(t *sql.Tx) error {
		for _, s := range deletes {
			if _, err := t.ExecContext(ctx, s.query, s.args...); err != nil {
				return fmt.Errorf("purge: %w", err)
			}
		}
		return nil
	})
}

// micros is the stored form of a time: Unix microseconds, UTC. The zero
// time is stored as 0 so that "never" round-trips as the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros turns a stored time back into a time.Time in UTC.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// isUnique reports whether err is a UNIQUE (or PRIMARY KEY) constraint
// violation.
func isUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// scanner is what *sql.Row and *sql.Rows share, so one scan function
// serves single-row lookups and lists.
type scanner interface {
	Scan(dest ...any) error
}

// notFound maps sql.ErrNoRows to tacit.ErrNotFound, naming what was looked up.
func notFound(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, tacit.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// oneRow checks the result of an UPDATE of one row by ID: no row changed
// means the row does not exist.
func oneRow(what string, res sql.Result, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, tacit.ErrNotFound)
	}
	return nil
}

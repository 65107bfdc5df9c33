// Package postgres stores tacit's state in PostgreSQL, for production and
// for running several instances on one database. It uses pgx's pool
// directly (not database/sql) for its error codes, transaction options and
// per-connection statement cache.
//
// It behaves like package sqlite in every way the flows can see; the shared
// suite in package storetest checks both. Where PostgreSQL needs more than
// SQLite to give the same guarantee (SQLite runs one writer at a time,
// PostgreSQL many), the method says how.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tacitauth/tacit"
)

// defaultMaxConns is the pool size unless the URL sets pool_max_conns. A
// connection is held only while a transaction runs, and the flows hash
// passwords outside transactions, so a few connections serve many requests;
// ten keeps several instances well under PostgreSQL's default limit of 100
// connections.
const defaultMaxConns = 10

// DB is a tacit.Store backed by a PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool
}

var _ tacit.Store = (*DB)(nil)

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
	return &DB{pool: pool}, nil
}

// Close closes every connection of the pool, waiting for those in use.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Update runs fn in one read-write transaction. It uses READ COMMITTED,
// PostgreSQL's default: the uniqueness rules, the single-statement counter
// upsert and the counter lock taken by Counter (see there) give the
// guarantees the flows rely on without retrying fn on serialisation
// failures.
func (db *DB) Update(ctx context.Context, fn func(tacit.Tx) error) error {
	return db.inTx(ctx, pgx.TxOptions{}, func(t pgx.Tx) error { return fn(&tx{tx: t}) })
}

// View runs fn in a read-only transaction. REPEATABLE READ makes every read
// in it see one snapshot, as a SQLite read transaction does; a read-only
// transaction at that level never fails to serialise. Writes in it fail.
func (db *DB) View(ctx context.Context, fn func(tacit.Tx) error) error {
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	return db.inTx(ctx, opts, func(t pgx.Tx) error { return fn(&tx{tx: t, readOnly: true}) })
}

// inTx runs fn in a transaction and commits if fn succeeds; an error or a
// panic in fn rolls back. fn's own error is returned as it is; those of
// BEGIN and COMMIT are wrapped.
func (db *DB) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	var fnErr error
	err := pgx.BeginTxFunc(ctx, db.pool, opts, func(t pgx.Tx) error {
		fnErr = fn(t)
		return fnErr
	})
	if err != nil && fnErr == nil {
		return fmt.Errorf("transaction: %w", err)
	}
	return err
}

// tx implements tacit.Tx on one pgx transaction. Its methods live in the
// file of the table they touch.
type tx struct {
	tx       pgx.Tx
	readOnly bool // in View: no locks may be taken
}

// forUpdate is appended to a token or account lookup. In an Update it locks the row
// found, so that of two transactions spending one single-use token at once
// (a reset link, an email-change link, a sign-up link submitted twice) the
// second waits for the first and, the row then being gone, finds nothing:
// READ COMMITTED re-reads a locked row once its locker commits. A View
// takes no locks.
func (t *tx) forUpdate() string {
	if t.readOnly {
		return ""
	}
	return " FOR UPDATE"
}

// Purge deletes expired sign-ups, sessions, reset tokens, email changes,
// MFA challenges and counters, and delivered, abandoned or captured mail
// older than now-keep, in one transaction.
func (db *DB) Purge(ctx context.Context, now time.Time, keep time.Duration) error {
	cutoff := micros(now.Add(-keep))
	deletes := []struct {
		query string
		arg   int64
	}{
		{`DELETE FROM signups WHERE expires_at <= $1`, micros(now)},
		{`DELETE FROM sessions WHERE expires_at <= $1`, micros(now)},
		{`DELETE FROM reset_tokens WHERE expires_at <= $1`, micros(now)},
		{`DELETE FROM email_changes WHERE expires_at <= $1`, micros(now)},
		{`DELETE FROM mfa_challenges WHERE expires_at <= $1`, micros(now)},
		{`DELETE FROM counters WHERE expires_at <= $1`, micros(now)},
		{`DELETE FROM outbox WHERE sent_at < $1 OR failed_at < $1`, cutoff},
		{`DELETE FROM dev_mailbox WHERE sent_at < $1`, cutoff},
	}
	return db.inTx(ctx, pgx.TxOptions{}, func(t pgx.Tx) error {
		if mine, err := housekeepingLock(ctx, t, purgeLock); err != nil || !mine {
			return err
		}
		for _, d := range deletes {
			if _, err := t.Exec(ctx, d.query, d.arg); err != nil {
				return fmt.Errorf("purge: %w", err)
			}
		}
		return nil
	})
}

// Advisory lock keys of the housekeeping jobs. Every instance runs them on
// a timer; only one at a time does the work, the others skip their turn.
const (
	purgeLock = 0x7461636974707267 // "tacitprg"
	trimLock  = 0x7461636974747269 // "tacittri"
	// outboxTrimLock is TrimOutbox's.
	outboxTrimLock = 0x746163697474726f // "tacittro"
)

// devMailLock serialises saves to the dev mailbox: at read committed, two
// instances saving at once would each trim without seeing the other's
// new row and leave one more than devMailKeep.
const devMailLock = 0x746163697464766d // "tacitdvm"

// housekeepingLock takes the transaction-scoped advisory lock key if no
// other instance holds it, and reports whether it did.
func housekeepingLock(ctx context.Context, t pgx.Tx, key int64) (bool, error) {
	var mine bool
	err := t.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, key).Scan(&mine)
	return mine, err
}

// micros is the stored form of a time: Unix microseconds, UTC, as in the
// SQLite engine, so both compare and round-trip times alike. The zero time
// is stored as 0 so that "never" round-trips as the zero time.
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

// uniqueViolation is the SQLSTATE of a UNIQUE or PRIMARY KEY violation.
const uniqueViolation = "23505"

// isUnique reports whether err is a UNIQUE (or PRIMARY KEY) constraint
// violation.
func isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == uniqueViolation
}

// scanner is what pgx.Row and pgx.Rows share, so one scan function serves
// single-row lookups and lists.
type scanner interface {
	Scan(dest ...any) error
}

// notFound maps pgx.ErrNoRows to tacit.ErrNotFound, naming what was looked up.
func notFound(what string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, tacit.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// oneRow checks the result of an UPDATE or DELETE of one row: no row
// changed means the row does not exist.
func oneRow(what string, tag pgconn.CommandTag, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, tacit.ErrNotFound)
	}
	return nil
}

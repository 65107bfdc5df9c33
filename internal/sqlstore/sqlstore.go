// Package sqlstore holds the SQL of tacit's storage, written once for both
// engines: every query of the entity tables, the housekeeping jobs, and
// export and import. Packages sqlite and postgres supply only what truly
// differs between the engines (opening and pools, transactions, row and
// advisory locks, unique-violation detection, the schema and its
// migrations) as an Engine and a Dialect.
//
// The queries take $N placeholders, which the SQLite driver accepts as
// PostgreSQL does; times are stored as Unix microseconds in both, and the
// tables have the same columns.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/seal"
	"github.com/tacitauth/tacit/internal/upkeep"
)

// Querier runs statements: a transaction of either engine, or a pool
// outside any transaction.
type Querier interface {
	// Exec runs a statement and returns how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Row is one row of a result, as both drivers give it.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result set, as both drivers give it; its errors, Close's
// included, are Err's.
type Rows interface {
	Row
	Next() bool
	Err() error
	Close()
}

// Engine is how one storage engine runs statements.
type Engine interface {
	// Write runs fn in a read-write transaction and commits if fn
	// succeeds; fn's own error is returned as it is.
	Write(ctx context.Context, fn func(Querier) error) error
	// Read runs fn in a read-only transaction that sees one snapshot.
	Read(ctx context.Context, fn func(Querier) error) error
	// Statement runs fn, which makes one writing statement, in the
	// engine's cheapest way to commit a single statement.
	Statement(ctx context.Context, fn func(Querier) error) error
	// Reader runs single reads outside any transaction.
	Reader() Querier
	// Lock takes the transaction-scoped lock key in q, a Write's
	// transaction, so that one instance at a time does the work it
	// guards: waiting for it if wait, else reporting whether it was
	// free. An engine that runs one writer at a time has nothing to take.
	Lock(ctx context.Context, q Querier, key int64, wait bool) (bool, error)
	// Tx returns the tacit.Tx of base, the shared queries on a
	// transaction of Write or Read.
	Tx(base *Tx) tacit.Tx
}

// Dialect is what the shared queries must know of an engine's SQL.
type Dialect struct {
	// Unique reports whether err is a UNIQUE or PRIMARY KEY violation.
	Unique func(error) bool
	// Lock ends a lookup in a read-write transaction that must lock the
	// row it finds (" FOR UPDATE"); SkipLocked ends a subquery that picks
	// rows to change, passing over those another transaction holds.
	// Both are empty where one writer runs at a time.
	Lock, SkipLocked string
	// NewAccountID is an SQL expression for a new account's ID, or
	// empty to let the engine's identity column choose. An engine whose
	// own choice could give a deleted account's ID to a new one sets it
	// (see the account_ids table).
	NewAccountID string
	// Columns lists every table and its columns, in the engine's own
	// catalogue, leaving out the migration runner's table: two columns,
	// table and column, in table and then column order.
	Columns string
}

// Store implements the tacit.Store methods that are the same on every
// engine, on an Engine and its Dialect. An engine's DB embeds it.
type Store struct {
	Engine  Engine
	Dialect *Dialect
	// revoked counts the revoking transactions (see Tx.revokes) this
	// Store committed.
	revoked atomic.Uint64
	// keys seal the secrets stored (see SetKeys); nil stores them clear.
	keys *seal.Keys
}

// SetKeys makes the store seal the TOTP secrets and OpenID Connect
// signing keys it writes under keys.Current, and open those sealed under
// any of keys. Without keys the store writes them clear (a library's
// tests, or a program that keeps its database elsewhere protected) and
// refuses to read a sealed one. Set it once, before the store is used.
func (s *Store) SetKeys(keys *seal.Keys) { s.keys = keys }

// Update runs fn in one read-write transaction. A transaction that ends a
// session or changes a password or address also bumps the revocation
// generation, as its last statement, and is counted in LocalRevocations
// once committed.
func (s *Store) Update(ctx context.Context, fn func(tacit.Tx) error) error {
	revokes := false
	err := s.Engine.Write(ctx, func(q Querier) error {
		base := &Tx{Q: q, Dialect: s.Dialect, Write: true, keys: s.keys}
		if err := fn(s.Engine.Tx(base)); err != nil {
			return err
		}
		if revokes = base.revokes; !revokes {
			return nil
		}
		// Last, so that the one row every revoking transaction
		// updates is locked only while committing (see migration 010).
		_, err := q.Exec(ctx, `UPDATE revocations SET generation = generation + 1 WHERE id = 1`)
		if err != nil {
			return fmt.Errorf("bump revocation generation: %w", err)
		}
		return nil
	})
	if revokes {
		// Counted whether or not the commit went through: a cache that
		// drops its entries once too often is only slower.
		s.revoked.Add(1)
	}
	return err
}

// View runs fn in a read-only transaction that sees one snapshot.
func (s *Store) View(ctx context.Context, fn func(tacit.Tx) error) error {
	return s.Engine.Read(ctx, func(q Querier) error { return fn(s.Engine.Tx(&Tx{Q: q, Dialect: s.Dialect, keys: s.keys})) })
}

// RevocationGeneration reads the revocation generation, which every
// instance on the database bumps when it commits a revoking transaction.
func (s *Store) RevocationGeneration(ctx context.Context) (int64, error) {
	var g int64
	err := s.Engine.Reader().QueryRow(ctx, `SELECT generation FROM revocations WHERE id = 1`).Scan(&g)
	if err != nil {
		return 0, fmt.Errorf("revocation generation: %w", err)
	}
	return g, nil
}

// LocalRevocations counts the revoking transactions this Store has run.
func (s *Store) LocalRevocations() uint64 { return s.revoked.Load() }

// Tx implements tacit.Tx on one transaction. Its methods live in the file
// of the table they touch.
type Tx struct {
	Q       Querier
	Dialect *Dialect
	// Write is set in a read-write transaction, where lookups of
	// single-use rows lock them.
	Write bool
	// revokes is set by the writes that end a session or change what a
	// session's identity shows: Update then bumps the revocation
	// generation.
	revokes bool
	// keys are the Store's (see Store.SetKeys).
	keys *seal.Keys
}

// lock is appended to a token or account lookup. In a read-write
// transaction on an engine that runs writers side by side it locks the
// row found, so that of two transactions spending one single-use token at
// once (a reset link, an email-change link, a sign-up link submitted
// twice) the second waits for the first and, the row then being gone,
// finds nothing: READ COMMITTED re-reads a locked row once its locker
// commits. A read-only transaction takes no locks.
func (t *Tx) lock() string {
	if !t.Write {
		return ""
	}
	return t.Dialect.Lock
}

// Micros is the stored form of a time: Unix microseconds, UTC. The zero
// time is stored as 0 so that "never" round-trips as the zero time.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// FromMicros turns a stored time back into a time.Time in UTC.
func FromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// NotFound maps a driver's "no rows" (both wrap sql.ErrNoRows) to
// tacit.ErrNotFound, naming what was looked up.
func NotFound(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, tacit.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// oneRow checks the result of an UPDATE or DELETE of one row: no row
// changed means the row does not exist.
func oneRow(what string, n int64, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, tacit.ErrNotFound)
	}
	return nil
}

// created checks the result of an INSERT: a uniqueness rule broken is
// tacit.ErrConflict.
func (t *Tx) created(what string, err error) error {
	if t.Dialect.Unique(err) {
		return fmt.Errorf("%s: %w", what, tacit.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// collect runs query and scans each row with scan; no rows is a nil slice.
func collect[T any](ctx context.Context, q Querier, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// Admin is what the maintenance commands read of a store beyond
// tacit.Store: the address report `tacit migrate` prints, and the hash
// samples that size serve's envelope, and the operator's directory of
// accounts (`tacit users`). Every engine's DB has it through Store;
// listing whole tables is Snapshot's.
type Admin interface {
	AddressReport(ctx context.Context) (upkeep.Report, error)
	HashSamples(ctx context.Context) ([]string, error)
	tacit.AccountDirectory
	// OutboxPending counts the mails neither delivered nor given up.
	OutboxPending(ctx context.Context) (int64, error)
	// LiveSessions counts the sessions before their absolute expiry at
	// now and seen after idleSince.
	LiveSessions(ctx context.Context, now, idleSince time.Time) (int64, error)
}

var _ Admin = (*Store)(nil)

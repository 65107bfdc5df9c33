package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/sqlstore"
)

// tx is the shared tacit.Tx with the one method PostgreSQL does its own
// way.
type tx struct {
	*sqlstore.Tx
	pg pgx.Tx
}

// Counter returns the live counter for key; one that expired at or before
// now is tacit.ErrNotFound even while its row awaits Purge.
//
// In an Update, Counter first takes a transaction-scoped advisory lock on
// the key, held until the transaction ends. The flows check a counter and
// then hit it in one transaction so that parallel requests cannot all pass
// the check before any is counted; SQLite gives that by running one writer
// at a time, while PostgreSQL's READ COMMITTED would let every parallel
// transaction read the same count. With the lock, transactions that check
// one key run their check-then-hit one after another, across instances.
// A row lock (SELECT … FOR UPDATE) would not do: it locks nothing while
// the key has no live row, which is exactly when a burst of first attempts
// arrives. The read runs as a second statement after the lock is granted,
// since a READ COMMITTED statement reads the snapshot taken when it
// starts; both go in one batch, one round trip.
func (t *tx) Counter(ctx context.Context, key []byte, now time.Time) (tacit.Counter, error) {
	if !t.Write {
		return t.Tx.Counter(ctx, key, now)
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, counterLock(key))
	b.Queue(sqlstore.CounterByKey, key, sqlstore.Micros(now))
	res := t.pg.SendBatch(ctx, b)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return tacit.Counter{}, fmt.Errorf("counter: lock: %w", err)
	}
	c, err := sqlstore.ScanCounter(res.QueryRow())
	if err != nil {
		return tacit.Counter{}, sqlstore.NotFound("counter", err)
	}
	return c, nil
}

// counterLock is the advisory lock key for a counter key: advisory locks
// take a bigint, counter keys are any bytes. Two keys sharing a lock
// (chance 2⁻⁶⁴ a pair) would only take turns.
func counterLock(key []byte) int64 {
	h := fnv.New64a()
	h.Write(key)
	return int64(h.Sum64())
}

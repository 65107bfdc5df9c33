package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tacitauth/tacit"
)

const counterColumns = `key, count, first_at, last_at, expires_at, hold_until`

const counterByKey = `SELECT ` + counterColumns + ` FROM counters WHERE key = $1 AND expires_at > $2`

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
	if t.readOnly {
		c, err := scanCounter(t.tx.QueryRow(ctx, counterByKey, key, micros(now)))
		if err != nil {
			return tacit.Counter{}, notFound("counter", err)
		}
		return c, nil
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, counterLock(key))
	b.Queue(counterByKey, key, micros(now))
	res := t.tx.SendBatch(ctx, b)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return tacit.Counter{}, fmt.Errorf("counter: lock: %w", err)
	}
	c, err := scanCounter(res.QueryRow())
	if err != nil {
		return tacit.Counter{}, notFound("counter", err)
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

// hitCounter is one statement, so the read of the old count and the write
// of the new one cannot be split by another writer: a concurrent hit on
// the same key waits on the row (or on the index entry of a row being
// inserted) and then updates the committed row, so no hit is lost. In
// ON CONFLICT DO UPDATE every SET expression sees the row as it was before
// the update, so the CASEs test the old expiry.
const hitCounter = `INSERT INTO counters (key, count, first_at, last_at, expires_at)
VALUES ($1, 1, $2, $2, $3)
ON CONFLICT (key) DO UPDATE SET
    count      = CASE WHEN counters.expires_at <= $2 THEN 1 ELSE counters.count + 1 END,
    first_at   = CASE WHEN counters.expires_at <= $2 THEN $2 ELSE counters.first_at END,
    last_at    = $2,
    expires_at = $3,
    hold_until = CASE WHEN counters.expires_at <= $2 THEN 0 ELSE counters.hold_until END
RETURNING ` + counterColumns

// HitCounter records one event for key at now and returns the counter after
// it. A missing or expired counter restarts at 1 with FirstAt now; either
// way it now expires at now+ttl.
func (t *tx) HitCounter(ctx context.Context, key []byte, now time.Time, ttl time.Duration) (tacit.Counter, error) {
	row := t.tx.QueryRow(ctx, hitCounter, key, micros(now), micros(now.Add(ttl)))
	c, err := scanCounter(row)
	if err != nil {
		return tacit.Counter{}, fmt.Errorf("hit counter: %w", err)
	}
	return c, nil
}

// DeleteCounter forgets key; forgetting a missing key is not an error.
func (t *tx) DeleteCounter(ctx context.Context, key []byte) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM counters WHERE key = $1`, key); err != nil {
		return fmt.Errorf("delete counter: %w", err)
	}
	return nil
}

// HoldCounter sets key's hold_until; a missing key is not an error.
func (t *tx) HoldCounter(ctx context.Context, key []byte, until time.Time) error {
	if _, err := t.tx.Exec(ctx, `UPDATE counters SET hold_until = $1 WHERE key = $2`, micros(until), key); err != nil {
		return fmt.Errorf("hold counter: %w", err)
	}
	return nil
}

// PutCounter writes c as it is.
func (t *tx) PutCounter(ctx context.Context, c tacit.Counter) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO counters (`+counterColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (key) DO UPDATE SET count = excluded.count, first_at = excluded.first_at,
		    last_at = excluded.last_at, expires_at = excluded.expires_at, hold_until = excluded.hold_until`,
		c.Key, c.Count, micros(c.FirstAt), micros(c.LastAt), micros(c.ExpiresAt), micros(c.HoldUntil))
	if err != nil {
		return fmt.Errorf("put counter: %w", err)
	}
	return nil
}

// TrimCounters deletes expired counters and then, while more than keep
// remain, those expiring soonest (ties by key, so the result does not
// depend on row order), but never one whose hold has not ended: a counter
// that delays or locks a key is the state an attacker would most like
// forgotten, and it is by construction older than fresh junk keys. So
// more than keep may remain; the flows then refuse new keys (fail
// closed) rather than lose a lock. Counters are keyed by hashes of whatever a client
// sends, so without a cap a flood of made-up identifiers would grow the
// table without bound. The soonest-expiring counters are the least
// recently hit, the ones that matter least for throttling.
func (db *DB) TrimCounters(ctx context.Context, now time.Time, keep int) (int, error) {
	if keep < 0 {
		return 0, fmt.Errorf("trim counters: max %d is negative", keep)
	}
	var left int
	err := db.inTx(ctx, pgx.TxOptions{}, func(t pgx.Tx) error {
		mine, err := housekeepingLock(ctx, t, trimLock)
		if err != nil {
			return err
		}
		if mine {
			if _, err := t.Exec(ctx, `DELETE FROM counters WHERE expires_at <= $1`, micros(now)); err != nil {
				return err
			}
		}
		var holding int
		err = t.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE expires_at > $1 AND hold_until > $1) FROM counters`,
			micros(now)).Scan(&left, &holding)
		if err != nil {
			return err
		}
		if !mine {
			// Another instance is trimming: report what its trim leaves,
			// so that this instance does not take a table that is merely
			// untrimmed for a full one.
			left = min(left, max(keep, holding))
			return nil
		}
		if left <= keep {
			return nil
		}
		tag, err := t.Exec(ctx,
			`DELETE FROM counters WHERE key IN (
			     SELECT key FROM counters WHERE hold_until <= $1 ORDER BY expires_at, key LIMIT $2)`, micros(now), left-keep)
		left -= int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("trim counters: %w", err)
	}
	return left, nil
}

func scanCounter(row scanner) (tacit.Counter, error) {
	var c tacit.Counter
	var first, last, expires, hold int64
	if err := row.Scan(&c.Key, &c.Count, &first, &last, &expires, &hold); err != nil {
		return tacit.Counter{}, err
	}
	c.FirstAt, c.LastAt, c.ExpiresAt, c.HoldUntil = fromMicros(first), fromMicros(last), fromMicros(expires), fromMicros(hold)
	return c, nil
}

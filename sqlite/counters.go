package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const counterColumns = `key, count, first_at, last_at, expires_at, hold_until`

// Counter returns the live counter for key; one that expired at or before
// now is tacit.ErrNotFound even while its row awaits Purge.
func (t *tx) Counter(ctx context.Context, key []byte, now time.Time) (tacit.Counter, error) {
	st, err := t.prepared(ctx, counterByKey)
	if err != nil {
		return tacit.Counter{}, fmt.Errorf("counter: %w", err)
	}
	c, err := scanCounter(st.QueryRowContext(ctx, key, micros(now)))
	if err != nil {
		return tacit.Counter{}, notFound("counter", err)
	}
	return c, nil
}

const counterByKey = `SELECT ` + counterColumns + ` FROM counters WHERE key = ? AND expires_at > ?`

// hitCounter is one statement, so the read of the old count and the write
// of the new one cannot be split by another writer: concurrent hits, from
// this process or another on the same file, are never lost. In SQLite's
// UPDATE every SET expression sees the row as it was before the update, so
// the CASEs test the old expiry (PostgreSQL does the same, so the upsert
// carries over with only its placeholders changed).
const hitCounter = `INSERT INTO counters (key, count, first_at, last_at, expires_at)
VALUES (:key, 1, :now, :now, :expires)
ON CONFLICT (key) DO UPDATE SET
    count      = CASE WHEN counters.expires_at <= :now THEN 1 ELSE counters.count + 1 END,
    first_at   = CASE WHEN counters.expires_at <= :now THEN :now ELSE counters.first_at END,
    last_at    = :now,
    expires_at = :expires,
    hold_until = CASE WHEN counters.expires_at <= :now THEN 0 ELSE counters.hold_until END
RETURNING ` + counterColumns

// HitCounter records one event for key at now and returns the counter after
// it. A missing or expired counter restarts at 1 with FirstAt now; either
// way it now expires at now+ttl.
func (t *tx) HitCounter(ctx context.Context, key []byte, now time.Time, ttl time.Duration) (tacit.Counter, error) {
	st, err := t.prepared(ctx, hitCounter)
	if err != nil {
		return tacit.Counter{}, fmt.Errorf("hit counter: %w", err)
	}
	row := st.QueryRowContext(ctx,
		sql.Named("key", key), sql.Named("now", micros(now)), sql.Named("expires", micros(now.Add(ttl))))
	c, err := scanCounter(row)
	if err != nil {
		return tacit.Counter{}, fmt.Errorf("hit counter: %w", err)
	}
	return c, nil
}

// DeleteCounter forgets key; forgetting a missing key is not an error.
func (t *tx) DeleteCounter(ctx context.Context, key []byte) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM counters WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete counter: %w", err)
	}
	return nil
}

// HoldCounter sets key's hold_until; a missing key is not an error.
func (t *tx) HoldCounter(ctx context.Context, key []byte, until time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE counters SET hold_until = ? WHERE key = ?`, micros(until), key); err != nil {
		return fmt.Errorf("hold counter: %w", err)
	}
	return nil
}

// PutCounter writes c as it is.
func (t *tx) PutCounter(ctx context.Context, c tacit.Counter) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO counters (`+counterColumns+`) VALUES (?, ?, ?, ?, ?, ?)
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
// table, and the file, without bound. The soonest-expiring counters are
// the least recently hit, the ones that matter least for throttling.
func (db *DB) TrimCounters(ctx context.Context, now time.Time, keep int) (int, error) {
	if keep < 0 {
		return 0, fmt.Errorf("trim counters: max %d is negative", keep)
	}
	var left int
	err := inTx(ctx, db.writer, nil, func(t *sql.Tx) error {
		if _, err := t.ExecContext(ctx, `DELETE FROM counters WHERE expires_at <= ?`, micros(now)); err != nil {
			return err
		}
		if err := t.QueryRowContext(ctx, `SELECT count(*) FROM counters`).Scan(&left); err != nil {
			return err
		}
		if left <= keep {
			return nil
		}
		res, err := t.ExecContext(ctx,
			`DELETE FROM counters WHERE key IN (
			     SELECT key FROM counters WHERE hold_until <= ? ORDER BY expires_at, key LIMIT ?)`, micros(now), left-keep)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		left -= int(n)
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

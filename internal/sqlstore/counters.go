package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const counterColumns = `key, count, first_at, last_at, expires_at, hold_until`

// CounterByKey reads a live counter. SQLite keeps it prepared, and
// PostgreSQL runs it after taking the key's lock in an Update.
const CounterByKey = `SELECT ` + counterColumns + ` FROM counters WHERE key = $1 AND expires_at > $2`

// Counter returns the live counter for key, without a lock: as it is on
// an engine that runs one writer at a time, and in a read-only
// transaction.
func (t *Tx) Counter(ctx context.Context, key []byte, now time.Time) (tacit.Counter, error) {
	c, err := ScanCounter(t.Q.QueryRow(ctx, CounterByKey, key, Micros(now)))
	if err != nil {
		return tacit.Counter{}, NotFound("counter", err)
	}
	return c, nil
}

// HitCounter is one statement, so the read of the old count and the write
// of the new one cannot be split by another writer: concurrent hits, from
// this process or another, are never lost (on PostgreSQL a concurrent hit
// on the same key waits on the row, or on the index entry of a row being
// inserted, and then updates the committed row). In ON CONFLICT DO UPDATE
// every SET expression sees the row as it was before the update, on both
// engines, so the CASEs test the old expiry. SQLite binds each $N once, so
// $2 may appear many times.
const HitCounter = `INSERT INTO counters (key, count, first_at, last_at, expires_at)
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
func (t *Tx) HitCounter(ctx context.Context, key []byte, now time.Time, ttl time.Duration) (tacit.Counter, error) {
	c, err := ScanCounter(t.Q.QueryRow(ctx, HitCounter, key, Micros(now), Micros(now.Add(ttl))))
	if err != nil {
		return tacit.Counter{}, fmt.Errorf("hit counter: %w", err)
	}
	return c, nil
}

// DeleteCounter forgets key; forgetting a missing key is not an error.
func (t *Tx) DeleteCounter(ctx context.Context, key []byte) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM counters WHERE key = $1`, key); err != nil {
		return fmt.Errorf("delete counter: %w", err)
	}
	return nil
}

// HoldCounter sets key's hold_until; a missing key is not an error.
func (t *Tx) HoldCounter(ctx context.Context, key []byte, until time.Time) error {
	if _, err := t.Q.Exec(ctx, `UPDATE counters SET hold_until = $1 WHERE key = $2`, Micros(until), key); err != nil {
		return fmt.Errorf("hold counter: %w", err)
	}
	return nil
}

// PutCounter writes c as it is.
func (t *Tx) PutCounter(ctx context.Context, c tacit.Counter) error {
	_, err := t.Q.Exec(ctx, `INSERT INTO counters (`+counterColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (key) DO UPDATE SET count = excluded.count, first_at = excluded.first_at,
		    last_at = excluded.last_at, expires_at = excluded.expires_at, hold_until = excluded.hold_until`,
		c.Key, c.Count, Micros(c.FirstAt), Micros(c.LastAt), Micros(c.ExpiresAt), Micros(c.HoldUntil))
	if err != nil {
		return fmt.Errorf("put counter: %w", err)
	}
	return nil
}

// Lock keys of the housekeeping jobs. Every instance runs them on a timer;
// only one at a time does the work, the others skip their turn.
const (
	PurgeLock      = 0x7461636974707267 // "tacitprg"
	TrimLock       = 0x7461636974747269 // "tacittri"
	outboxTrimLock = 0x746163697474726f // "tacittro"
	// devMailLock serialises saves to the dev mailbox: at read
	// committed, two instances saving at once would each trim without
	// seeing the other's new row and leave one more than devMailKeep.
	devMailLock = 0x746163697464766d // "tacitdvm"
)

// housekeep runs fn in a read-write transaction that holds the job's lock
// if no other instance does; mine says whether it does.
func (s *Store) housekeep(ctx context.Context, key int64, fn func(q Querier, mine bool) error) error {
	return s.Engine.Write(ctx, func(q Querier) error {
		mine, err := s.Engine.Lock(ctx, q, key, false)
		if err != nil {
			return err
		}
		return fn(q, mine)
	})
}

// TrimCounters deletes expired counters and then, while more than keep
// remain, those expiring soonest (ties by key, so the result does not
// depend on row order), but never one whose hold has not ended: a counter
// that delays or locks a key is the state an attacker would most like
// forgotten, and it is by construction older than fresh junk keys. So
// more than keep may remain; the flows then refuse new keys (fail
// closed) rather than lose a lock. Counters are keyed by hashes of
// whatever a client sends, so without a cap a flood of made-up identifiers
// would grow the table, and a SQLite file, without bound. The
// soonest-expiring counters are the least recently hit, the ones that
// matter least for throttling.
func (s *Store) TrimCounters(ctx context.Context, now time.Time, keep int) (int, error) {
	if keep < 0 {
		return 0, fmt.Errorf("trim counters: max %d is negative", keep)
	}
	var left int
	err := s.housekeep(ctx, TrimLock, func(q Querier, mine bool) error {
		if mine {
			if _, err := q.Exec(ctx, `DELETE FROM counters WHERE expires_at <= $1`, Micros(now)); err != nil {
				return err
			}
		}
		var holding int
		err := q.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE expires_at > $1 AND hold_until > $1) FROM counters`,
			Micros(now)).Scan(&left, &holding)
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
		n, err := q.Exec(ctx,
			`DELETE FROM counters WHERE key IN (
			     SELECT key FROM counters WHERE hold_until <= $1 ORDER BY expires_at, key LIMIT $2)`, Micros(now), left-keep)
		left -= int(n)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("trim counters: %w", err)
	}
	return left, nil
}

// Purge deletes expired sign-ups, sessions, reset tokens, email changes,
// MFA and passkey challenges and counters, and delivered, abandoned or captured mail
// older than now-keep, in one transaction.
func (s *Store) Purge(ctx context.Context, now time.Time, keep time.Duration) error {
	cutoff := Micros(now.Add(-keep))
	deletes := []struct {
		query string
		arg   int64
	}{
		{`DELETE FROM signups WHERE expires_at <= $1`, Micros(now)},
		{`DELETE FROM sessions WHERE expires_at <= $1`, Micros(now)},
		{`DELETE FROM reset_tokens WHERE expires_at <= $1`, Micros(now)},
		{`DELETE FROM email_changes WHERE expires_at <= $1`, Micros(now)},
		{`DELETE FROM mfa_challenges WHERE expires_at <= $1`, Micros(now)},
		{`DELETE FROM passkey_challenges WHERE expires_at <= $1`, Micros(now)},
		{`DELETE FROM counters WHERE expires_at <= $1`, Micros(now)},
		{`DELETE FROM spent_proofs WHERE expires_at <= $1`, Micros(now)},
		{`DELETE FROM oidc_auth_requests WHERE expires_at <= $1`, Micros(now)},
		{`DELETE FROM oidc_grants WHERE expires_at <= $1`, Micros(now)},
		{`DELETE FROM outbox WHERE sent_at < $1 OR failed_at < $1`, cutoff},
		{`DELETE FROM dev_mailbox WHERE sent_at < $1`, cutoff},
	}
	return s.housekeep(ctx, PurgeLock, func(q Querier, mine bool) error {
		if !mine {
			return nil
		}
		for _, d := range deletes {
			if _, err := q.Exec(ctx, d.query, d.arg); err != nil {
				return fmt.Errorf("purge: %w", err)
			}
		}
		return nil
	})
}

// SpendProof inserts key unless it is there: one statement, so of two
// transactions spending the same solution at once exactly one inserts
// (the other waits on the index entry, on PostgreSQL, or on the write
// lock, on SQLite) and the other is told ErrConflict. An expired row
// the purge has not reached yet still refuses: its challenge is refused
// as expired anyway.
func (t *Tx) SpendProof(ctx context.Context, key []byte, expiresAt time.Time) error {
	n, err := t.Q.Exec(ctx, `INSERT INTO spent_proofs (key, expires_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
		key, Micros(expiresAt))
	if err != nil {
		return fmt.Errorf("spend proof: %w", err)
	}
	if n == 0 {
		return tacit.ErrConflict
	}
	return nil
}

// ScanCounter reads a counter row of counterColumns.
func ScanCounter(row Row) (tacit.Counter, error) {
	var c tacit.Counter
	var first, last, expires, hold int64
	if err := row.Scan(&c.Key, &c.Count, &first, &last, &expires, &hold); err != nil {
		return tacit.Counter{}, err
	}
	c.FirstAt, c.LastAt, c.ExpiresAt, c.HoldUntil = FromMicros(first), FromMicros(last), FromMicros(expires), FromMicros(hold)
	return c, nil
}

package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tacitauth/tacit"
)

// EnqueueMail adds m to the outbox, due at once, and sets m.ID.
//
// A new mail is due at time 0 rather than at m.CreatedAt so that a worker
// whose clock runs a little behind the writer's still picks it up.
func (t *Tx) EnqueueMail(ctx context.Context, m *tacit.Mail) error {
	data := m.Data
	if data == nil {
		data = map[string]string{}
	}
	js, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	err = t.Q.QueryRow(ctx,
		`INSERT INTO outbox (kind, recipient, data, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		string(m.Kind), m.To, string(js), Micros(m.CreatedAt)).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	return nil
}

// ClaimMail claims up to limit due, unclaimed mails until now+lease and
// counts an attempt on each.
//
// Picking and claiming are one statement, so no worker can claim a row
// between the two. SQLite runs it holding the database's write lock; on
// PostgreSQL the subquery ends with SkipLocked (FOR UPDATE SKIP LOCKED),
// so concurrent claimers, on any instance, pass over the rows another has
// just picked instead of waiting for them or picking them too, and a row
// whose claim was committed after the statement's snapshot is re-checked
// once locked and no longer matches. So each row goes to one worker, and
// no worker waits on another.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]tacit.Mail, error) {
	if limit <= 0 {
		return nil, nil // SQLite reads LIMIT -1 as "no limit"; PostgreSQL refuses it.
	}
	var mails []tacit.Mail
	err := s.Engine.Statement(ctx, func(q Querier) (err error) {
		mails, err = collect(ctx, q, scanMail,
			`UPDATE outbox SET claimed_until = $1, attempts = attempts + 1
			 WHERE id IN (
			     SELECT id FROM outbox
			     WHERE sent_at IS NULL AND failed_at IS NULL
			       AND due_at <= $2 AND claimed_until <= $2
			     ORDER BY id LIMIT $3`+s.Dialect.SkipLocked+`)
			 RETURNING id, kind, recipient, data, created_at, attempts`,
			Micros(now.Add(lease)), Micros(now), limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	// RETURNING gives no order guarantee; hand mails out oldest first.
	slices.SortFunc(mails, func(a, b tacit.Mail) int { return cmp.Compare(a.ID, b.ID) })
	return mails, nil
}

func scanMail(row Row) (tacit.Mail, error) {
	var m tacit.Mail
	var kind, data string
	var created int64
	if err := row.Scan(&m.ID, &kind, &m.To, &data, &created, &m.Attempts); err != nil {
		return tacit.Mail{}, err
	}
	if err := json.Unmarshal([]byte(data), &m.Data); err != nil {
		return tacit.Mail{}, fmt.Errorf("mail %d data: %w", m.ID, err)
	}
	m.Kind, m.CreatedAt = tacit.MailKind(kind), FromMicros(created)
	return m, nil
}

// MailSent records delivery and clears the mail's data, which holds its
// links' tokens.
func (s *Store) MailSent(ctx context.Context, id int64, at time.Time) error {
	return s.Engine.Statement(ctx, func(q Querier) error {
		n, err := q.Exec(ctx,
			`UPDATE outbox SET sent_at = $1, data = '{}', claimed_until = 0 WHERE id = $2`, Micros(at), id)
		return oneRow(fmt.Sprintf("mail %d sent", id), n, err)
	})
}

// MailFailed records a failed attempt: the mail is due again at next, or,
// if next is zero, abandoned for good.
func (s *Store) MailFailed(ctx context.Context, id int64, next time.Time, reason string) error {
	query := `UPDATE outbox SET due_at = $1, claimed_until = 0, last_error = $2 WHERE id = $3`
	if next.IsZero() {
		// The interface gives no time for giving up; failed_at only
		// decides when Purge may delete the row, so this process's clock
		// will do (Purge's cutoff comes from the same kind of clock).
		// The data is cleared as on delivery: its tokens will never be
		// sent.
		query = `UPDATE outbox SET failed_at = $1, claimed_until = 0, last_error = $2, data = '{}' WHERE id = $3`
		next = time.Now()
	}
	return s.Engine.Statement(ctx, func(q Querier) error {
		n, err := q.Exec(ctx, query, Micros(next), reason, id)
		return oneRow(fmt.Sprintf("mail %d failed", id), n, err)
	})
}

// DeleteMail removes a handled mail that had nothing to deliver.
func (s *Store) DeleteMail(ctx context.Context, id int64) error {
	return s.Engine.Statement(ctx, func(q Querier) error {
		if _, err := q.Exec(ctx, `DELETE FROM outbox WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete mail %d: %w", id, err)
		}
		return nil
	})
}

// TrimOutbox keeps the outbox to max rows (see tacit.Store): handled and
// empty rows go first, then the oldest pending mail that is not an owner
// notice and not held by a worker. One instance trims at a time (the
// others only count), and rows a worker has locked to claim are skipped,
// not waited for.
func (s *Store) TrimOutbox(ctx context.Context, now time.Time, max int) (tacit.OutboxTrim, error) {
	if max < 0 {
		return tacit.OutboxTrim{}, fmt.Errorf("trim outbox: max %d is negative", max)
	}
	kinds := tacit.OwnerNoticeKinds()
	marks := make([]string, len(kinds))
	args := []any{Micros(now)}
	for i, k := range kinds {
		marks[i] = "$" + strconv.Itoa(i+2)
		args = append(args, string(k))
	}
	limit := "$" + strconv.Itoa(len(kinds)+2)
	var r tacit.OutboxTrim
	err := s.housekeep(ctx, outboxTrimLock, func(q Querier, mine bool) error {
		if err := q.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&r.Left); err != nil || !mine || r.Left <= max {
			return err
		}
		n, err := q.Exec(ctx,
			`DELETE FROM outbox WHERE id IN (
			     SELECT id FROM outbox
			     WHERE kind = 'none' OR sent_at IS NOT NULL OR failed_at IS NOT NULL
			     ORDER BY id LIMIT $1`+s.Dialect.SkipLocked+`)`, r.Left-max)
		if err != nil {
			return err
		}
		r.Left -= int(n)
		if r.Left <= max {
			return nil
		}
		n, err = q.Exec(ctx,
			`DELETE FROM outbox WHERE id IN (
			     SELECT id FROM outbox
			     WHERE sent_at IS NULL AND failed_at IS NULL AND claimed_until <= $1
			       AND kind NOT IN (`+strings.Join(marks, ", ")+`)
			     ORDER BY id LIMIT `+limit+s.Dialect.SkipLocked+`)`, append(args, r.Left-max)...)
		if err != nil {
			return err
		}
		r.Left -= int(n)
		r.Dropped = int(n)
		return nil
	})
	if err != nil {
		return tacit.OutboxTrim{}, fmt.Errorf("trim outbox: %w", err)
	}
	return r, nil
}

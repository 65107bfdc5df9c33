package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tacitauth/tacit"
)

// EnqueueMail adds m to the outbox, due at once, and sets m.ID.
//
// A new mail is due at time 0 rather than at m.CreatedAt so that a worker
// whose clock runs a little behind the writer's still picks it up.
func (t *tx) EnqueueMail(ctx context.Context, m *tacit.Mail) error {
	data := m.Data
	if data == nil {
		data = map[string]string{}
	}
	js, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	err = t.tx.QueryRow(ctx,
		`INSERT INTO outbox (kind, recipient, data, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		string(m.Kind), m.To, string(js), micros(m.CreatedAt)).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	return nil
}

// claimMail picks due, unclaimed rows and claims them in one statement.
// FOR UPDATE SKIP LOCKED makes concurrent claimers, on any instance, pass
// over the rows another has just picked instead of waiting for them or
// picking them too; a row whose claim was committed after this statement's
// snapshot is re-checked once locked and no longer matches. So each row
// goes to one worker, and no worker waits on another.
const claimMail = `UPDATE outbox SET claimed_until = $1, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM outbox
    WHERE sent_at IS NULL AND failed_at IS NULL
      AND due_at <= $2 AND claimed_until <= $2
    ORDER BY id LIMIT $3
    FOR UPDATE SKIP LOCKED)
RETURNING id, kind, recipient, data, created_at, attempts`

// ClaimMail claims up to limit due, unclaimed mails until now+lease and
// counts an attempt on each.
func (db *DB) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]tacit.Mail, error) {
	if limit <= 0 {
		return nil, nil // PostgreSQL refuses a negative LIMIT.
	}
	rows, err := db.pool.Query(ctx, claimMail, micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	mails, err := pgx.CollectRows(rows, scanMail)
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	if len(mails) == 0 {
		return nil, nil
	}
	// RETURNING gives no order guarantee; hand mails out oldest first.
	slices.SortFunc(mails, func(a, b tacit.Mail) int { return cmp.Compare(a.ID, b.ID) })
	return mails, nil
}

func scanMail(row pgx.CollectableRow) (tacit.Mail, error) {
	var m tacit.Mail
	var kind, data string
	var created int64
	if err := row.Scan(&m.ID, &kind, &m.To, &data, &created, &m.Attempts); err != nil {
		return tacit.Mail{}, err
	}
	if err := json.Unmarshal([]byte(data), &m.Data); err != nil {
		return tacit.Mail{}, fmt.Errorf("mail %d data: %w", m.ID, err)
	}
	m.Kind, m.CreatedAt = tacit.MailKind(kind), fromMicros(created)
	return m, nil
}

// MailSent records delivery and clears the mail's data, which holds the
// secret tokens of its links: a delivered link need not stay readable in
// the database.
func (db *DB) MailSent(ctx context.Context, id int64, at time.Time) error {
	tag, err := db.pool.Exec(ctx,
		`UPDATE outbox SET sent_at = $1, data = '{}', claimed_until = 0 WHERE id = $2`, micros(at), id)
	return oneRow(fmt.Sprintf("mail %d sent", id), tag, err)
}

// MailFailed records a failed attempt: the mail is due again at next, or,
// if next is zero, abandoned for good.
func (db *DB) MailFailed(ctx context.Context, id int64, next time.Time, reason string) error {
	if next.IsZero() {
		// The interface gives no time for giving up; failed_at only
		// decides when Purge may delete the row, so this process's clock
		// will do (Purge's cutoff comes from the same kind of clock).
		// The data is cleared as on delivery: its tokens will never be
		// sent.
		tag, err := db.pool.Exec(ctx,
			`UPDATE outbox SET failed_at = $1, claimed_until = 0, last_error = $2, data = '{}' WHERE id = $3`,
			micros(time.Now()), reason, id)
		return oneRow(fmt.Sprintf("mail %d failed", id), tag, err)
	}
	tag, err := db.pool.Exec(ctx,
		`UPDATE outbox SET due_at = $1, claimed_until = 0, last_error = $2 WHERE id = $3`,
		micros(next), reason, id)
	return oneRow(fmt.Sprintf("mail %d failed", id), tag, err)
}

// DeleteMail removes a handled mail that had nothing to deliver.
func (db *DB) DeleteMail(ctx context.Context, id int64) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM outbox WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete mail %d: %w", id, err)
	}
	return nil
}

// TrimOutbox keeps the outbox to max rows (see tacit.Store): handled and
// empty rows go first, then the oldest pending mail that is not an owner
// notice and not held by a worker. One instance trims at a time (an
// advisory lock; the others only count). Rows a worker has locked to
// claim are skipped, not waited for.
func (db *DB) TrimOutbox(ctx context.Context, now time.Time, max int) (tacit.OutboxTrim, error) {
	if max < 0 {
		return tacit.OutboxTrim{}, fmt.Errorf("trim outbox: max %d is negative", max)
	}
	notices := make([]string, 0, len(tacit.OwnerNoticeKinds()))
	for _, k := range tacit.OwnerNoticeKinds() {
		notices = append(notices, string(k))
	}
	var r tacit.OutboxTrim
	err := db.inTx(ctx, pgx.TxOptions{}, func(t pgx.Tx) error {
		if mine, err := housekeepingLock(ctx, t, outboxTrimLock); err != nil || !mine {
			if err == nil {
				err = t.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&r.Left)
			}
			return err
		}
		if err := t.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&r.Left); err != nil {
			return err
		}
		if r.Left <= max {
			return nil
		}
		tag, err := t.Exec(ctx,
			`DELETE FROM outbox WHERE id IN (
			     SELECT id FROM outbox
			     WHERE kind = 'none' OR sent_at IS NOT NULL OR failed_at IS NOT NULL
			     ORDER BY id LIMIT $1
			     FOR UPDATE SKIP LOCKED)`, r.Left-max)
		if err != nil {
			return err
		}
		r.Left -= int(tag.RowsAffected())
		if r.Left <= max {
			return nil
		}
		tag, err = t.Exec(ctx,
			`DELETE FROM outbox WHERE id IN (
			     SELECT id FROM outbox
			     WHERE sent_at IS NULL AND failed_at IS NULL AND claimed_until <= $1
			       AND kind <> ALL($2)
			     ORDER BY id LIMIT $3
			     FOR UPDATE SKIP LOCKED)`, micros(now), notices, r.Left-max)
		if err != nil {
			return err
		}
		r.Left -= int(tag.RowsAffected())
		r.Dropped = int(tag.RowsAffected())
		return nil
	})
	if err != nil {
		return tacit.OutboxTrim{}, fmt.Errorf("trim outbox: %w", err)
	}
	return r, nil
}

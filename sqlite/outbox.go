package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

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
	err = t.tx.QueryRowContext(ctx,
		`INSERT INTO outbox (kind, recipient, data, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		string(m.Kind), m.To, string(js), micros(m.CreatedAt)).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("enqueue mail: %w", err)
	}
	return nil
}

// ClaimMail claims up to limit due, unclaimed mails until now+lease and
// counts an attempt on each.
//
// Selecting and claiming happen in one statement inside an IMMEDIATE
// transaction, which holds the database's write lock from its start: two
// workers, in this process or another, can never claim the same row.
func (db *DB) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]tacit.Mail, error) {
	if limit <= 0 {
		return nil, nil // SQLite reads LIMIT -1 as "no limit".
	}
	var mails []tacit.Mail
	err := inTx(ctx, db.writer, nil, func(t *sql.Tx) error {
		rows, err := t.QueryContext(ctx,
			`UPDATE outbox SET claimed_until = ?, attempts = attempts + 1
			 WHERE id IN (
			     SELECT id FROM outbox
			     WHERE sent_at IS NULL AND failed_at IS NULL
			       AND due_at <= ? AND claimed_until <= ?
			     ORDER BY id LIMIT ?)
			 RETURNING id, kind, recipient, data, created_at, attempts`,
			micros(now.Add(lease)), micros(now), micros(now), limit)
		if err != nil {
			return err
		}
		mails, err = scanMails(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	// RETURNING gives no order guarantee; hand mails out oldest first.
	slices.SortFunc(mails, func(a, b tacit.Mail) int { return cmp.Compare(a.ID, b.ID) })
	return mails, nil
}

func scanMails(rows *sql.Rows) ([]tacit.Mail, error) {
	defer rows.Close()
	var mails []tacit.Mail
	for rows.Next() {
		var m tacit.Mail
		var kind, data string
		var created int64
		if err := rows.Scan(&m.ID, &kind, &m.To, &data, &created, &m.Attempts); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &m.Data); err != nil {
			return nil, fmt.Errorf("mail %d data: %w", m.ID, err)
		}
		m.Kind, m.CreatedAt = tacit.MailKind(kind), fromMicros(created)
		mails = append(mails, m)
	}
	return mails, rows.Err()
}

// MailSent records delivery and clears the mail's data, which holds the
// secret tokens of its links: a delivered link need not stay readable in
// the database.
func (db *DB) MailSent(ctx context.Context, id int64, at time.Time) error {
	res, err := db.writer.ExecContext(ctx,
		`UPDATE outbox SET sent_at = ?, data = '{}', claimed_until = 0 WHERE id = ?`, micros(at), id)
	return oneRow(fmt.Sprintf("mail %d sent", id), res, err)
}

// MailFailed records a failed attempt: the mail is due again at next, or,
// if next is zero, abandoned for good.
func (db *DB) MailFailed(ctx context.Context, id int64, next time.Time, reason string) error {
	if next.IsZero() {
		// The interface gives no time for giving up; failed_at only
		// decides when Purge may delete the row, so the clock will do.
		// The data is cleared as on delivery: its tokens will never be
		// sent.
		res, err := db.writer.ExecContext(ctx,
			`UPDATE outbox SET failed_at = ?, claimed_until = 0, last_error = ?, data = '{}' WHERE id = ?`,
			micros(time.Now()), reason, id)
		return oneRow(fmt.Sprintf("mail %d failed", id), res, err)
	}
	res, err := db.writer.ExecContext(ctx,
		`UPDATE outbox SET due_at = ?, claimed_until = 0, last_error = ? WHERE id = ?`,
		micros(next), reason, id)
	return oneRow(fmt.Sprintf("mail %d failed", id), res, err)
}

// DeleteMail removes a handled mail that had nothing to deliver.
func (db *DB) DeleteMail(ctx context.Context, id int64) error {
	if _, err := db.writer.ExecContext(ctx, `DELETE FROM outbox WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete mail %d: %w", id, err)
	}
	return nil
}

// TrimOutbox keeps the outbox to max rows (see tacit.Store): handled and
// empty rows go first, then the oldest pending mail that is not an owner
// notice and not held by a worker.
func (db *DB) TrimOutbox(ctx context.Context, now time.Time, max int) (tacit.OutboxTrim, error) {
	if max < 0 {
		return tacit.OutboxTrim{}, fmt.Errorf("trim outbox: max %d is negative", max)
	}
	notices, args := kindList(tacit.OwnerNoticeKinds())
	var r tacit.OutboxTrim
	err := inTx(ctx, db.writer, nil, func(t *sql.Tx) error {
		if err := t.QueryRowContext(ctx, `SELECT count(*) FROM outbox`).Scan(&r.Left); err != nil {
			return err
		}
		if r.Left <= max {
			return nil
		}
		res, err := t.ExecContext(ctx,
			`DELETE FROM outbox WHERE id IN (
			     SELECT id FROM outbox
			     WHERE kind = 'none' OR sent_at IS NOT NULL OR failed_at IS NOT NULL
			     ORDER BY id LIMIT ?)`, r.Left-max)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		r.Left -= int(n)
		if r.Left <= max {
			return nil
		}
		res, err = t.ExecContext(ctx,
			`DELETE FROM outbox WHERE id IN (
			     SELECT id FROM outbox
			     WHERE sent_at IS NULL AND failed_at IS NULL AND claimed_until <= ?
			       AND kind NOT IN (`+notices+`)
			     ORDER BY id LIMIT ?)`, append(append([]any{micros(now)}, args...), r.Left-max)...)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		r.Left -= int(n)
		r.Dropped = int(n)
		return nil
	})
	if err != nil {
		return tacit.OutboxTrim{}, fmt.Errorf("trim outbox: %w", err)
	}
	return r, nil
}

// kindList returns placeholders and arguments for kinds in an IN list.
func kindList(kinds []tacit.MailKind) (string, []any) {
	marks := make([]string, len(kinds))
	args := make([]any, len(kinds))
	for i, k := range kinds {
		marks[i], args[i] = "?", string(k)
	}
	return strings.Join(marks, ", "), args
}

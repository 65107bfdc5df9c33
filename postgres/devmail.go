package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/tacitauth/tacit"
)

// devMailKeep is how many captured mails the dev mailbox keeps; it is a
// development aid, not an archive.
const devMailKeep = 200

// SaveDevMail stores a mail captured by the dev mail driver and drops the
// oldest beyond the newest devMailKeep.
func (db *DB) SaveDevMail(ctx context.Context, m tacit.DevMail) error {
	err := db.inTx(ctx, pgx.TxOptions{}, func(t pgx.Tx) error {
		if _, err := t.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, devMailLock); err != nil {
			return err
		}
		_, err := t.Exec(ctx,
			`INSERT INTO dev_mailbox (recipient, subject, text, html, sent_at) VALUES ($1, $2, $3, $4, $5)`,
			m.To, m.Subject, m.Text, m.HTML, micros(m.SentAt))
		if err != nil {
			return err
		}
		_, err = t.Exec(ctx,
			`DELETE FROM dev_mailbox WHERE id NOT IN (
			     SELECT id FROM dev_mailbox ORDER BY id DESC LIMIT $1)`, devMailKeep)
		return err
	})
	if err != nil {
		return fmt.Errorf("save dev mail: %w", err)
	}
	return nil
}

// DevMails returns the captured mails, newest (last saved) first.
func (db *DB) DevMails(ctx context.Context) ([]tacit.DevMail, error) {
	rows, err := db.pool.Query(ctx,
		`SELECT recipient, subject, text, html, sent_at FROM dev_mailbox ORDER BY id DESC LIMIT $1`, devMailKeep)
	if err != nil {
		return nil, fmt.Errorf("dev mails: %w", err)
	}
	mails, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (tacit.DevMail, error) {
		var m tacit.DevMail
		var sent int64
		if err := row.Scan(&m.To, &m.Subject, &m.Text, &m.HTML, &sent); err != nil {
			return tacit.DevMail{}, err
		}
		m.SentAt = fromMicros(sent)
		return m, nil
	})
	if err != nil {
		return nil, fmt.Errorf("dev mails: %w", err)
	}
	if len(mails) == 0 {
		return nil, nil // as the SQLite engine answers
	}
	return mails, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tacitauth/tacit"
)

// devMailKeep is how many captured mails the dev mailbox keeps; it is a
// development aid, not an archive.
const devMailKeep = 200

// SaveDevMail stores a mail captured by the dev mail driver and drops the
// oldest beyond the newest devMailKeep.
func (db *DB) SaveDevMail(ctx context.Context, m tacit.DevMail) error {
	err := inTx(ctx, db.writer, nil, func(t *sql.Tx) error {
		_, err := t.ExecContext(ctx,
			`INSERT INTO dev_mailbox (recipient, subject, text, html, sent_at) VALUES (?, ?, ?, ?, ?)`,
			m.To, m.Subject, m.Text, m.HTML, micros(m.SentAt))
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx,
			`DELETE FROM dev_mailbox WHERE id NOT IN (
			     SELECT id FROM dev_mailbox ORDER BY id DESC LIMIT ?)`, devMailKeep)
		return err
	})
	if err != nil {
		return fmt.Errorf("save dev mail: %w", err)
	}
	return nil
}

// DevMails returns the captured mails, newest (last saved) first.
func (db *DB) DevMails(ctx context.Context) ([]tacit.DevMail, error) {
	rows, err := db.reader.QueryContext(ctx,
		`SELECT recipient, subject, text, html, sent_at FROM dev_mailbox ORDER BY id DESC LIMIT ?`, devMailKeep)
	if err != nil {
		return nil, fmt.Errorf("dev mails: %w", err)
	}
	defer rows.Close()
	var mails []tacit.DevMail
	for rows.Next() {
		var m tacit.DevMail
		var sent int64
		if err := rows.Scan(&m.To, &m.Subject, &m.Text, &m.HTML, &sent); err != nil {
			return nil, fmt.Errorf("dev mails: %w", err)
		}
		m.SentAt = fromMicros(sent)
		mails = append(mails, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dev mails: %w", err)
	}
	return mails, nil
}

package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const emailChangeColumns = `id, account_id, new_email, token_hash, session_id, password_stamp, created_at, expires_at`

// CreateEmailChange inserts e and sets e.ID. A token hash already stored
// is tacit.ErrConflict.
func (t *tx) CreateEmailChange(ctx context.Context, e *tacit.EmailChange) error {
	err := t.tx.QueryRow(ctx,
		`INSERT INTO email_changes (account_id, new_email, token_hash, session_id, password_stamp, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		e.AccountID, e.NewEmail, e.TokenHash, nullID(e.SessionID), stamp(e.PasswordStamp), micros(e.CreatedAt), micros(e.ExpiresAt)).Scan(&e.ID)
	if isUnique(err) {
		return fmt.Errorf("create email change: %w", tacit.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create email change: %w", err)
	}
	return nil
}

// EmailChangeByToken finds the unexpired email change whose token hash is h.
func (t *tx) EmailChangeByToken(ctx context.Context, h []byte, now time.Time) (tacit.EmailChange, error) {
	var e tacit.EmailChange
	var created, expires int64
	var session *int64
	err := t.tx.QueryRow(ctx,
		`SELECT `+emailChangeColumns+` FROM email_changes WHERE token_hash = $1 AND expires_at > $2`+t.forUpdate(),
		h, micros(now)).
		Scan(&e.ID, &e.AccountID, &e.NewEmail, &e.TokenHash, &session, &e.PasswordStamp, &created, &expires)
	if err != nil {
		return tacit.EmailChange{}, notFound("email change by token", err)
	}
	if session != nil {
		e.SessionID = *session
	}
	e.CreatedAt, e.ExpiresAt = fromMicros(created), fromMicros(expires)
	return e, nil
}

// DeleteEmailChanges removes every pending email change of an account.
func (t *tx) DeleteEmailChanges(ctx context.Context, accountID int64) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM email_changes WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("delete email changes of account %d: %w", accountID, err)
	}
	return nil
}

// nullID stores an id of 0 (none) as NULL, which a foreign key allows.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// stamp stores a missing password stamp as an empty one, which matches
// no password.
func stamp(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

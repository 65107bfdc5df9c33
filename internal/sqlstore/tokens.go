package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const resetTokenColumns = `id, account_id, token_hash, password_stamp, created_at, expires_at`

// CreateResetToken inserts r and sets r.ID. A token hash already stored is
// tacit.ErrConflict.
func (t *Tx) CreateResetToken(ctx context.Context, r *tacit.ResetToken) error {
	err := t.Q.QueryRow(ctx,
		`INSERT INTO reset_tokens (account_id, token_hash, password_stamp, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		r.AccountID, r.TokenHash, r.PasswordStamp, Micros(r.CreatedAt), Micros(r.ExpiresAt)).Scan(&r.ID)
	return t.created("create reset token", err)
}

// ResetTokenByHash finds the unexpired reset token whose hash is h.
func (t *Tx) ResetTokenByHash(ctx context.Context, h []byte, now time.Time) (tacit.ResetToken, error) {
	var r tacit.ResetToken
	var created, expires int64
	err := t.Q.QueryRow(ctx,
		`SELECT `+resetTokenColumns+` FROM reset_tokens WHERE token_hash = $1 AND expires_at > $2`+t.lock(),
		h, Micros(now)).
		Scan(&r.ID, &r.AccountID, &r.TokenHash, &r.PasswordStamp, &created, &expires)
	if err != nil {
		return tacit.ResetToken{}, NotFound("reset token by hash", err)
	}
	r.CreatedAt, r.ExpiresAt = FromMicros(created), FromMicros(expires)
	return r, nil
}

// DeleteResetTokens removes every reset token of an account.
func (t *Tx) DeleteResetTokens(ctx context.Context, accountID int64) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM reset_tokens WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("delete reset tokens of account %d: %w", accountID, err)
	}
	return nil
}

const emailChangeColumns = `id, account_id, new_email, token_hash, session_id, password_stamp, created_at, expires_at`

// CreateEmailChange inserts e and sets e.ID. A token hash already stored
// is tacit.ErrConflict.
func (t *Tx) CreateEmailChange(ctx context.Context, e *tacit.EmailChange) error {
	err := t.Q.QueryRow(ctx,
		`INSERT INTO email_changes (account_id, new_email, token_hash, session_id, password_stamp, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		e.AccountID, e.NewEmail, e.TokenHash, nullID(e.SessionID), stamp(e.PasswordStamp), Micros(e.CreatedAt), Micros(e.ExpiresAt)).Scan(&e.ID)
	return t.created("create email change", err)
}

// EmailChangeByToken finds the unexpired email change whose token hash is h.
func (t *Tx) EmailChangeByToken(ctx context.Context, h []byte, now time.Time) (tacit.EmailChange, error) {
	var e tacit.EmailChange
	var created, expires int64
	var session *int64
	err := t.Q.QueryRow(ctx,
		`SELECT `+emailChangeColumns+` FROM email_changes WHERE token_hash = $1 AND expires_at > $2`+t.lock(),
		h, Micros(now)).
		Scan(&e.ID, &e.AccountID, &e.NewEmail, &e.TokenHash, &session, &e.PasswordStamp, &created, &expires)
	if err != nil {
		return tacit.EmailChange{}, NotFound("email change by token", err)
	}
	if session != nil {
		e.SessionID = *session
	}
	e.CreatedAt, e.ExpiresAt = FromMicros(created), FromMicros(expires)
	return e, nil
}

// DeleteEmailChanges removes every pending email change of an account.
func (t *Tx) DeleteEmailChanges(ctx context.Context, accountID int64) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM email_changes WHERE account_id = $1`, accountID); err != nil {
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

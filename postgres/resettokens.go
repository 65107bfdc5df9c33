package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const resetTokenColumns = `id, account_id, token_hash, password_stamp, created_at, expires_at`

// CreateResetToken inserts r and sets r.ID. A token hash already stored is
// tacit.ErrConflict.
func (t *tx) CreateResetToken(ctx context.Context, r *tacit.ResetToken) error {
	err := t.tx.QueryRow(ctx,
		`INSERT INTO reset_tokens (account_id, token_hash, password_stamp, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		r.AccountID, r.TokenHash, r.PasswordStamp, micros(r.CreatedAt), micros(r.ExpiresAt)).Scan(&r.ID)
	if isUnique(err) {
		return fmt.Errorf("create reset token: %w", tacit.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create reset token: %w", err)
	}
	return nil
}

// ResetTokenByHash finds the unexpired reset token whose hash is h.
func (t *tx) ResetTokenByHash(ctx context.Context, h []byte, now time.Time) (tacit.ResetToken, error) {
	var r tacit.ResetToken
	var created, expires int64
	err := t.tx.QueryRow(ctx,
		`SELECT `+resetTokenColumns+` FROM reset_tokens WHERE token_hash = $1 AND expires_at > $2`+t.forUpdate(),
		h, micros(now)).
		Scan(&r.ID, &r.AccountID, &r.TokenHash, &r.PasswordStamp, &created, &expires)
	if err != nil {
		return tacit.ResetToken{}, notFound("reset token by hash", err)
	}
	r.CreatedAt, r.ExpiresAt = fromMicros(created), fromMicros(expires)
	return r, nil
}

// DeleteResetTokens removes every reset token of an account.
func (t *tx) DeleteResetTokens(ctx context.Context, accountID int64) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM reset_tokens WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("delete reset tokens of account %d: %w", accountID, err)
	}
	return nil
}

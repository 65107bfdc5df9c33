package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const signupColumns = `id, email, token_hash, password_hash, created_at, expires_at`

// CreateSignup inserts s and sets s.ID.
func (t *tx) CreateSignup(ctx context.Context, s *tacit.Signup) error {
	err := t.tx.QueryRowContext(ctx,
		`INSERT INTO signups (email, token_hash, password_hash, created_at, expires_at)
		 VALUES (?, ?, ?, ?, ?) RETURNING id`,
		s.Email, s.TokenHash, s.PasswordHash, micros(s.CreatedAt), micros(s.ExpiresAt)).Scan(&s.ID)
	if isUnique(err) {
		return fmt.Errorf("create signup: %w", tacit.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create signup: %w", err)
	}
	return nil
}

// SignupByToken finds the unexpired sign-up whose token hash is h.
func (t *tx) SignupByToken(ctx context.Context, h []byte, now time.Time) (tacit.Signup, error) {
	row := t.tx.QueryRowContext(ctx,
		`SELECT `+signupColumns+` FROM signups WHERE token_hash = ? AND expires_at > ?`,
		h, micros(now))
	s, err := scanSignup(row)
	if err != nil {
		return tacit.Signup{}, notFound("signup by token", err)
	}
	return s, nil
}

// LatestSignup finds the newest unexpired sign-up for an address.
func (t *tx) LatestSignup(ctx context.Context, email string, now time.Time) (tacit.Signup, error) {
	row := t.tx.QueryRowContext(ctx,
		`SELECT `+signupColumns+` FROM signups
		 WHERE email = ? AND expires_at > ?
		 ORDER BY created_at DESC, id DESC LIMIT 1`,
		email, micros(now))
	s, err := scanSignup(row)
	if err != nil {
		return tacit.Signup{}, notFound("latest signup", err)
	}
	return s, nil
}

// PendingSignups lists up to limit unexpired sign-ups for an address,
// newest first.
func (t *tx) PendingSignups(ctx context.Context, email string, now time.Time, limit int) ([]tacit.Signup, error) {
	rows, err := t.tx.QueryContext(ctx,
		`SELECT `+signupColumns+` FROM signups
		 WHERE email = ? AND expires_at > ?
		 ORDER BY created_at DESC, id DESC LIMIT ?`,
		email, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("pending signups: %w", err)
	}
	defer rows.Close()
	var list []tacit.Signup
	for rows.Next() {
		s, err := scanSignup(rows)
		if err != nil {
			return nil, fmt.Errorf("pending signups: %w", err)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending signups: %w", err)
	}
	return list, nil
}

// DeleteSignups removes every sign-up for an address.
func (t *tx) DeleteSignups(ctx context.Context, email string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM signups WHERE email = ?`, email); err != nil {
		return fmt.Errorf("delete signups: %w", err)
	}
	return nil
}

func scanSignup(row scanner) (tacit.Signup, error) {
	var s tacit.Signup
	var created, expires int64
	err := row.Scan(&s.ID, &s.Email, &s.TokenHash, &s.PasswordHash, &created, &expires)
	if err != nil {
		return tacit.Signup{}, err
	}
	s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
	return s, nil
}

package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const signupColumns = `id, email, token_hash, password_hash, created_at, expires_at`

// CreateSignup inserts s and sets s.ID. A token hash already stored is
// tacit.ErrConflict.
func (t *Tx) CreateSignup(ctx context.Context, s *tacit.Signup) error {
	err := t.Q.QueryRow(ctx,
		`INSERT INTO signups (email, token_hash, password_hash, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		s.Email, s.TokenHash, s.PasswordHash, Micros(s.CreatedAt), Micros(s.ExpiresAt)).Scan(&s.ID)
	return t.created("create signup", err)
}

// SignupByToken finds the unexpired sign-up whose token hash is h.
func (t *Tx) SignupByToken(ctx context.Context, h []byte, now time.Time) (tacit.Signup, error) {
	row := t.Q.QueryRow(ctx,
		`SELECT `+signupColumns+` FROM signups WHERE token_hash = $1 AND expires_at > $2`+t.lock(),
		h, Micros(now))
	s, err := scanSignup(row)
	if err != nil {
		return tacit.Signup{}, NotFound("signup by token", err)
	}
	return s, nil
}

// LatestSignup finds the newest unexpired sign-up for an address.
func (t *Tx) LatestSignup(ctx context.Context, email string, now time.Time) (tacit.Signup, error) {
	row := t.Q.QueryRow(ctx,
		`SELECT `+signupColumns+` FROM signups
		 WHERE email = $1 AND expires_at > $2
		 ORDER BY created_at DESC, id DESC LIMIT 1`,
		email, Micros(now))
	s, err := scanSignup(row)
	if err != nil {
		return tacit.Signup{}, NotFound("latest signup", err)
	}
	return s, nil
}

// PendingSignups lists up to limit unexpired sign-ups for an address,
// newest first.
func (t *Tx) PendingSignups(ctx context.Context, email string, now time.Time, limit int) ([]tacit.Signup, error) {
	list, err := collect(ctx, t.Q, scanSignup,
		`SELECT `+signupColumns+` FROM signups
		 WHERE email = $1 AND expires_at > $2
		 ORDER BY created_at DESC, id DESC LIMIT $3`,
		email, Micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("pending signups: %w", err)
	}
	return list, nil
}

// DeleteSignups removes every sign-up for an address.
func (t *Tx) DeleteSignups(ctx context.Context, email string) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM signups WHERE email = $1`, email); err != nil {
		return fmt.Errorf("delete signups: %w", err)
	}
	return nil
}

func scanSignup(row Row) (tacit.Signup, error) {
	var s tacit.Signup
	var created, expires int64
	if err := row.Scan(&s.ID, &s.Email, &s.TokenHash, &s.PasswordHash, &created, &expires); err != nil {
		return tacit.Signup{}, err
	}
	s.CreatedAt, s.ExpiresAt = FromMicros(created), FromMicros(expires)
	return s, nil
}

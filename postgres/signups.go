package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tacitauth/tacit"
)

const signupColumns = `id, email, token_hash, password_hash, created_at, expires_at`

// CreateSignup inserts s and sets s.ID. A token hash already stored is
// tacit.ErrConflict.
func (t *tx) CreateSignup(ctx context.Context, s *tacit.Signup) error {
	err := t.tx.QueryRow(ctx,
		`INSERT INTO signups (email, token_hash, password_hash, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5) RETURNING id`,
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
	row := t.tx.QueryRow(ctx,
		`SELECT `+signupColumns+` FROM signups WHERE token_hash = $1 AND expires_at > $2`+t.forUpdate(),
		h, micros(now))
	s, err := scanSignup(row)
	if err != nil {
		return tacit.Signup{}, notFound("signup by token", err)
	}
	return s, nil
}

// LatestSignup finds the newest unexpired sign-up for an address.
func (t *tx) LatestSignup(ctx context.Context, email string, now time.Time) (tacit.Signup, error) {
	row := t.tx.QueryRow(ctx,
		`SELECT `+signupColumns+` FROM signups
		 WHERE email = $1 AND expires_at > $2
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
	rows, err := t.tx.Query(ctx,
		`SELECT `+signupColumns+` FROM signups
		 WHERE email = $1 AND expires_at > $2
		 ORDER BY created_at DESC, id DESC LIMIT $3`,
		email, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("pending signups: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (tacit.Signup, error) { return scanSignup(row) })
	if err != nil {
		return nil, fmt.Errorf("pending signups: %w", err)
	}
	if len(list) == 0 {
		return nil, nil // as the SQLite engine answers
	}
	return list, nil
}

// DeleteSignups removes every sign-up for an address.
func (t *tx) DeleteSignups(ctx context.Context, email string) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM signups WHERE email = $1`, email); err != nil {
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

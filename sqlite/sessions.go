package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const sessionColumns = `id, account_id, token_hash, created_at, last_seen_at, expires_at, user_agent, ip`

// CreateSession inserts s and sets s.ID.
func (t *tx) CreateSession(ctx context.Context, s *tacit.Session) error {
	err := t.tx.QueryRowContext(ctx,
		`INSERT INTO sessions (account_id, token_hash, created_at, last_seen_at, expires_at, user_agent, ip)
		 VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		s.AccountID, s.TokenHash, micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt),
		s.UserAgent, s.IP).Scan(&s.ID)
	if isUnique(err) {
		return fmt.Errorf("create session: %w", tacit.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByToken finds the session whose token hash is h, expired or not:
// the caller applies idle and absolute expiry.
func (t *tx) SessionByToken(ctx context.Context, h []byte) (tacit.Session, error) {
	row := t.tx.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ?`, h)
	s, err := scanSession(row)
	if err != nil {
		return tacit.Session{}, notFound("session by token", err)
	}
	return s, nil
}

// TouchSession sets a session's LastSeenAt; a missing session is
// tacit.ErrNotFound.
func (t *tx) TouchSession(ctx context.Context, id int64, at time.Time) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, micros(at), id)
	return oneRow(fmt.Sprintf("touch session %d", id), res, err)
}

// DeleteSession removes the session whose token hash is h, if any.
func (t *tx) DeleteSession(ctx context.Context, h []byte) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, h); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// SessionsByAccount lists an account's sessions, newest first, expired
// ones included (the caller applies expiry, as for SessionByToken).
func (t *tx) SessionsByAccount(ctx context.Context, accountID int64) ([]tacit.Session, error) {
	rows, err := t.tx.QueryContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE account_id = ?
		 ORDER BY created_at DESC, id DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sessions of account %d: %w", accountID, err)
	}
	defer rows.Close()
	var list []tacit.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sessions of account %d: %w", accountID, err)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sessions of account %d: %w", accountID, err)
	}
	return list, nil
}

// DeleteAccountSession removes session sessionID if it belongs to
// accountID. The account is part of the condition so that a signed-in user
// who names another account's session id revokes nothing; that case is
// tacit.ErrNotFound, like a missing id.
func (t *tx) DeleteAccountSession(ctx context.Context, accountID, sessionID int64) error {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ? AND account_id = ?`, sessionID, accountID)
	return oneRow(fmt.Sprintf("delete session %d of account %d", sessionID, accountID), res, err)
}

// DeleteSessions removes every session of an account but the one with id
// except; IDs start at 1, so except 0 keeps none.
func (t *tx) DeleteSessions(ctx context.Context, accountID, except int64) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ? AND id <> ?`, accountID, except)
	if err != nil {
		return fmt.Errorf("delete sessions of account %d: %w", accountID, err)
	}
	return nil
}

func scanSession(row scanner) (tacit.Session, error) {
	var s tacit.Session
	var created, seen, expires int64
	err := row.Scan(&s.ID, &s.AccountID, &s.TokenHash, &created, &seen, &expires, &s.UserAgent, &s.IP)
	if err != nil {
		return tacit.Session{}, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	return s, nil
}

package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const sessionColumns = `id, account_id, token_hash, created_at, last_seen_at, expires_at, user_agent, ip, method`

// CreateSession inserts s and sets s.ID. A token hash already stored is
// tacit.ErrConflict; a missing account is an error.
func (t *Tx) CreateSession(ctx context.Context, s *tacit.Session) error {
	err := t.Q.QueryRow(ctx,
		`INSERT INTO sessions (account_id, token_hash, created_at, last_seen_at, expires_at, user_agent, ip, method)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		s.AccountID, s.TokenHash, Micros(s.CreatedAt), Micros(s.LastSeenAt), Micros(s.ExpiresAt),
		s.UserAgent, s.IP, string(cmp.Or(s.Method, tacit.SessionPassword))).Scan(&s.ID)
	return t.created("create session", err)
}

// SessionByToken finds the session whose token hash is h, expired or not:
// the caller applies idle and absolute expiry.
func (t *Tx) SessionByToken(ctx context.Context, h []byte) (tacit.Session, error) {
	row := t.Q.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, h)
	s, err := scanSession(row)
	if err != nil {
		return tacit.Session{}, NotFound("session by token", err)
	}
	return s, nil
}

// TouchSession sets a session's LastSeenAt; a missing session is
// tacit.ErrNotFound.
func (t *Tx) TouchSession(ctx context.Context, id int64, at time.Time) error {
	n, err := t.Q.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, Micros(at), id)
	return oneRow(fmt.Sprintf("touch session %d", id), n, err)
}

// DeleteSession removes the session whose token hash is h, if any.
func (t *Tx) DeleteSession(ctx context.Context, h []byte) error {
	n, err := t.Q.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, h)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	// Only an ended session revokes: signing out with a made-up token
	// must not empty the session caches.
	t.revokes = t.revokes || n > 0
	return nil
}

// SessionsByAccount lists an account's sessions, newest first, expired
// ones included (the caller applies expiry, as for SessionByToken).
func (t *Tx) SessionsByAccount(ctx context.Context, accountID int64) ([]tacit.Session, error) {
	list, err := collect(ctx, t.Q, scanSession,
		`SELECT `+sessionColumns+` FROM sessions WHERE account_id = $1
		 ORDER BY created_at DESC, id DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sessions of account %d: %w", accountID, err)
	}
	return list, nil
}

// DeleteAccountSession removes session sessionID if it belongs to
// accountID. The account is part of the condition so that a signed-in user
// who names another account's session id revokes nothing; that case is
// tacit.ErrNotFound, like a missing id.
func (t *Tx) DeleteAccountSession(ctx context.Context, accountID, sessionID int64) error {
	n, err := t.Q.Exec(ctx, `DELETE FROM sessions WHERE id = $1 AND account_id = $2`, sessionID, accountID)
	t.revokes = t.revokes || n > 0
	return oneRow(fmt.Sprintf("delete session %d of account %d", sessionID, accountID), n, err)
}

// DeleteSessions removes every session of an account but the one with id
// except; IDs start at 1, so except 0 keeps none.
func (t *Tx) DeleteSessions(ctx context.Context, accountID, except int64) error {
	n, err := t.Q.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1 AND id <> $2`, accountID, except)
	if err != nil {
		return fmt.Errorf("delete sessions of account %d: %w", accountID, err)
	}
	t.revokes = t.revokes || n > 0
	return nil
}

func scanSession(row Row) (tacit.Session, error) {
	var s tacit.Session
	var created, seen, expires int64
	var method string
	err := row.Scan(&s.ID, &s.AccountID, &s.TokenHash, &created, &seen, &expires, &s.UserAgent, &s.IP, &method)
	if err != nil {
		return tacit.Session{}, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = FromMicros(created), FromMicros(seen), FromMicros(expires)
	s.Method = tacit.SessionMethod(method)
	return s, nil
}

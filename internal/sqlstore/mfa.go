package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

// TOTPByAccount returns an account's authenticator.
func (t *Tx) TOTPByAccount(ctx context.Context, accountID int64) (tacit.TOTP, error) {
	o := tacit.TOTP{AccountID: accountID}
	var created int64
	err := t.Q.QueryRow(ctx,
		`SELECT secret, enabled, last_step, created_at, failures FROM totp WHERE account_id = $1`, accountID).
		Scan(&o.Secret, &o.Enabled, &o.LastStep, &created, &o.Failures)
	if err != nil {
		return tacit.TOTP{}, NotFound(fmt.Sprintf("totp of account %d", accountID), err)
	}
	o.CreatedAt = FromMicros(created)
	if o.Secret, err = openTOTP(t.keys, accountID, o.Secret); err != nil {
		return tacit.TOTP{}, err
	}
	return o, nil
}

// SaveTOTP stores o, replacing the account's authenticator if it has one.
func (t *Tx) SaveTOTP(ctx context.Context, o tacit.TOTP) error {
	// Whether two-step sign-in is on is part of a cached identity
	// (forward auth's "mfa" hosts).
	t.revokes = true
	_, err := t.Q.Exec(ctx,
		`INSERT INTO totp (account_id, secret, enabled, last_step, created_at, failures) VALUES ($1, $2, $3, $4, $5, $6)
		 ON CONFLICT (account_id) DO UPDATE SET secret = excluded.secret, enabled = excluded.enabled,
		     last_step = excluded.last_step, created_at = excluded.created_at, failures = excluded.failures`,
		o.AccountID, sealTOTP(t.keys, o.AccountID, o.Secret), o.Enabled, o.LastStep, Micros(o.CreatedAt), o.Failures)
	if err != nil {
		return fmt.Errorf("save totp of account %d: %w", o.AccountID, err)
	}
	return nil
}

// AdvanceTOTP moves LastStep forward to step, or returns tacit.ErrConflict.
func (t *Tx) AdvanceTOTP(ctx context.Context, accountID, step int64) error {
	n, err := t.Q.Exec(ctx,
		`UPDATE totp SET last_step = $1 WHERE account_id = $2 AND last_step < $3`, step, accountID, step)
	err = oneRow(fmt.Sprintf("advance totp of account %d", accountID), n, err)
	if errors.Is(err, tacit.ErrNotFound) {
		return fmt.Errorf("advance totp of account %d to step %d: %w", accountID, step, tacit.ErrConflict)
	}
	return err
}

// DeleteTOTP removes an account's authenticator and recovery codes.
func (t *Tx) DeleteTOTP(ctx context.Context, accountID int64) error {
	t.revokes = true
	for _, q := range []string{`DELETE FROM totp WHERE account_id = $1`, `DELETE FROM recovery_codes WHERE account_id = $1`} {
		if _, err := t.Q.Exec(ctx, q, accountID); err != nil {
			return fmt.Errorf("delete totp of account %d: %w", accountID, err)
		}
	}
	return nil
}

// SetRecoveryCodes replaces an account's recovery codes.
func (t *Tx) SetRecoveryCodes(ctx context.Context, accountID int64, hashes [][]byte) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM recovery_codes WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("set recovery codes of account %d: %w", accountID, err)
	}
	for _, h := range hashes {
		if _, err := t.Q.Exec(ctx, `INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)`, accountID, h); err != nil {
			return fmt.Errorf("set recovery codes of account %d: %w", accountID, err)
		}
	}
	return nil
}

// UseRecoveryCode deletes one recovery code, or returns tacit.ErrNotFound.
func (t *Tx) UseRecoveryCode(ctx context.Context, accountID int64, h []byte) error {
	n, err := t.Q.Exec(ctx, `DELETE FROM recovery_codes WHERE account_id = $1 AND code_hash = $2`, accountID, h)
	return oneRow(fmt.Sprintf("use recovery code of account %d", accountID), n, err)
}

// RecoveryCodesLeft counts an account's recovery codes.
func (t *Tx) RecoveryCodesLeft(ctx context.Context, accountID int64) (int, error) {
	var n int
	err := t.Q.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE account_id = $1`, accountID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count recovery codes of account %d: %w", accountID, err)
	}
	return n, nil
}

// CreateMFAChallenge inserts c and sets c.ID. A token hash already stored
// is tacit.ErrConflict.
func (t *Tx) CreateMFAChallenge(ctx context.Context, c *tacit.MFAChallenge) error {
	err := t.Q.QueryRow(ctx,
		`INSERT INTO mfa_challenges (account_id, token_hash, failures, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		c.AccountID, c.TokenHash, c.Failures, Micros(c.CreatedAt), Micros(c.ExpiresAt)).Scan(&c.ID)
	return t.created("create mfa challenge", err)
}

// MFAChallengeByToken finds the unexpired challenge whose hash is h.
func (t *Tx) MFAChallengeByToken(ctx context.Context, h []byte, now time.Time) (tacit.MFAChallenge, error) {
	var c tacit.MFAChallenge
	var created, expires int64
	err := t.Q.QueryRow(ctx,
		`SELECT id, account_id, token_hash, failures, created_at, expires_at FROM mfa_challenges
		 WHERE token_hash = $1 AND expires_at > $2`+t.lock(), h, Micros(now)).
		Scan(&c.ID, &c.AccountID, &c.TokenHash, &c.Failures, &created, &expires)
	if err != nil {
		return tacit.MFAChallenge{}, NotFound("mfa challenge by token", err)
	}
	c.CreatedAt, c.ExpiresAt = FromMicros(created), FromMicros(expires)
	return c, nil
}

// FailMFAChallenge counts a wrong code and returns the failures so far.
func (t *Tx) FailMFAChallenge(ctx context.Context, id int64) (int, error) {
	var n int
	err := t.Q.QueryRow(ctx,
		`UPDATE mfa_challenges SET failures = failures + 1 WHERE id = $1 RETURNING failures`, id).Scan(&n)
	if err != nil {
		return 0, NotFound(fmt.Sprintf("fail mfa challenge %d", id), err)
	}
	return n, nil
}

// DeleteMFAChallenges removes every challenge of an account.
func (t *Tx) DeleteMFAChallenges(ctx context.Context, accountID int64) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM mfa_challenges WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("delete mfa challenges of account %d: %w", accountID, err)
	}
	return nil
}

// FailTOTP counts one failed second step, in one statement so that
// parallel failures are all counted.
func (t *Tx) FailTOTP(ctx context.Context, accountID int64) (int, error) {
	var n int
	err := t.Q.QueryRow(ctx, `UPDATE totp SET failures = failures + 1 WHERE account_id = $1 RETURNING failures`, accountID).Scan(&n)
	if err != nil {
		return 0, NotFound(fmt.Sprintf("fail totp of account %d", accountID), err)
	}
	return n, nil
}

// ClearTOTPFailures sets an authenticator's failures to 0.
func (t *Tx) ClearTOTPFailures(ctx context.Context, accountID int64) error {
	if _, err := t.Q.Exec(ctx, `UPDATE totp SET failures = 0 WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("clear totp failures of account %d: %w", accountID, err)
	}
	return nil
}

package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

const passkeyColumns = `id, account_id, credential_id, user_handle, name, credential, sign_count,
	backup_eligible, backup_state, created_at, last_used_at`

// scanPasskey reads one row of passkeyColumns.
func scanPasskey(row Row) (tacit.Passkey, error) {
	var (
		p             tacit.Passkey
		count         int64
		created, used int64
	)
	err := row.Scan(&p.ID, &p.AccountID, &p.CredentialID, &p.UserHandle, &p.Name, &p.Credential, &count,
		&p.BackupEligible, &p.BackupState, &created, &used)
	p.SignCount = uint32(count)
	p.CreatedAt = FromMicros(created)
	if used != 0 {
		p.LastUsedAt = FromMicros(used)
	}
	return p, err
}

// CreatePasskey inserts p and sets p.ID; a credential id stored already
// is tacit.ErrConflict.
func (t *Tx) CreatePasskey(ctx context.Context, p *tacit.Passkey) error {
	used := int64(0)
	if !p.LastUsedAt.IsZero() {
		used = Micros(p.LastUsedAt)
	}
	err := t.Q.QueryRow(ctx,
		`INSERT INTO passkeys (account_id, credential_id, user_handle, name, credential, sign_count,
		     backup_eligible, backup_state, created_at, last_used_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		p.AccountID, p.CredentialID, p.UserHandle, p.Name, p.Credential, int64(p.SignCount),
		p.BackupEligible, p.BackupState, Micros(p.CreatedAt), used).Scan(&p.ID)
	return t.created("create passkey", err)
}

// PasskeyByCredential finds a passkey by its credential id.
func (t *Tx) PasskeyByCredential(ctx context.Context, id []byte) (tacit.Passkey, error) {
	p, err := scanPasskey(t.Q.QueryRow(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`, id))
	if err != nil {
		return tacit.Passkey{}, NotFound("passkey by credential", err)
	}
	return p, nil
}

// PasskeysByAccount lists an account's passkeys, oldest first.
func (t *Tx) PasskeysByAccount(ctx context.Context, accountID int64) ([]tacit.Passkey, error) {
	list, err := collect(ctx, t.Q, scanPasskey,
		`SELECT `+passkeyColumns+` FROM passkeys WHERE account_id = $1 ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("passkeys of account %d: %w", accountID, err)
	}
	return list, nil
}

// UsePasskey records a sign-in with a passkey.
func (t *Tx) UsePasskey(ctx context.Context, id int64, signCount uint32, backupState bool, at time.Time) error {
	n, err := t.Q.Exec(ctx, `UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3 WHERE id = $4`,
		int64(signCount), backupState, Micros(at), id)
	return oneRow(fmt.Sprintf("use passkey %d", id), n, err)
}

// RenamePasskey sets the name of one of an account's passkeys.
func (t *Tx) RenamePasskey(ctx context.Context, accountID, id int64, name string) error {
	n, err := t.Q.Exec(ctx, `UPDATE passkeys SET name = $1 WHERE id = $2 AND account_id = $3`, name, id, accountID)
	return oneRow(fmt.Sprintf("rename passkey %d of account %d", id, accountID), n, err)
}

// DeletePasskey removes one of an account's passkeys.
func (t *Tx) DeletePasskey(ctx context.Context, accountID, id int64) error {
	n, err := t.Q.Exec(ctx, `DELETE FROM passkeys WHERE id = $1 AND account_id = $2`, id, accountID)
	return oneRow(fmt.Sprintf("delete passkey %d of account %d", id, accountID), n, err)
}

// DeletePasskeys removes every passkey of an account.
func (t *Tx) DeletePasskeys(ctx context.Context, accountID int64) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM passkeys WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("delete passkeys of account %d: %w", accountID, err)
	}
	return nil
}

// CreatePasskeyChallenge inserts c and sets c.ID.
func (t *Tx) CreatePasskeyChallenge(ctx context.Context, c *tacit.PasskeyChallenge) error {
	var account any
	if c.AccountID != 0 {
		account = c.AccountID
	}
	err := t.Q.QueryRow(ctx,
		`INSERT INTO passkey_challenges (token_hash, purpose, account_id, session, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		c.TokenHash, string(c.Purpose), account, c.Session, Micros(c.CreatedAt), Micros(c.ExpiresAt)).Scan(&c.ID)
	return t.created("create passkey challenge", err)
}

// TakePasskeyChallenge deletes and returns the unexpired challenge whose
// hash is h, in one statement.
func (t *Tx) TakePasskeyChallenge(ctx context.Context, h []byte, now time.Time) (tacit.PasskeyChallenge, error) {
	var (
		c                tacit.PasskeyChallenge
		purpose          string
		account          *int64
		created, expires int64
	)
	err := t.Q.QueryRow(ctx,
		`DELETE FROM passkey_challenges WHERE token_hash = $1 AND expires_at > $2
		 RETURNING id, token_hash, purpose, account_id, session, created_at, expires_at`, h, Micros(now)).
		Scan(&c.ID, &c.TokenHash, &purpose, &account, &c.Session, &created, &expires)
	if err != nil {
		return tacit.PasskeyChallenge{}, NotFound("take passkey challenge", err)
	}
	c.Purpose = tacit.PasskeyPurpose(purpose)
	if account != nil {
		c.AccountID = *account
	}
	c.CreatedAt, c.ExpiresAt = FromMicros(created), FromMicros(expires)
	return c, nil
}

// DeletePasskeyChallenges removes every challenge of an account.
func (t *Tx) DeletePasskeyChallenges(ctx context.Context, accountID int64) error {
	if _, err := t.Q.Exec(ctx, `DELETE FROM passkey_challenges WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("delete passkey challenges of account %d: %w", accountID, err)
	}
	return nil
}

package sqlstore

import (
	"context"
	"fmt"

	"github.com/tacitauth/tacit"
)

const accountColumns = `id, email, password_hash, created_at, disabled`

// AccountByEmail finds the account for a normalised address.
func (t *Tx) AccountByEmail(ctx context.Context, email string) (tacit.Account, error) {
	row := t.Q.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE email = $1`, email)
	a, err := scanAccount(row)
	if err != nil {
		return tacit.Account{}, NotFound("account by email", err)
	}
	return a, nil
}

// AccountByID finds an account by its ID. In an Update it locks the
// account's row until the transaction ends (see lock): the flows that read
// an account by ID there go on to change it or to act on its current
// password, and must not interleave with a password reset.
func (t *Tx) AccountByID(ctx context.Context, id int64) (tacit.Account, error) {
	row := t.Q.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`+t.lock(), id)
	a, err := scanAccount(row)
	if err != nil {
		return tacit.Account{}, NotFound(fmt.Sprintf("account %d", id), err)
	}
	return a, nil
}

// CreateAccount inserts a and sets a.ID; a second account for the same
// address is tacit.ErrConflict.
func (t *Tx) CreateAccount(ctx context.Context, a *tacit.Account) error {
	query := `INSERT INTO accounts (email, password_hash, created_at, disabled)
		 VALUES ($1, $2, $3, $4) RETURNING id`
	if t.Dialect.NewAccountID != "" {
		query = `INSERT INTO accounts (id, email, password_hash, created_at, disabled)
		 VALUES (` + t.Dialect.NewAccountID + `, $1, $2, $3, $4) RETURNING id`
	}
	err := t.Q.QueryRow(ctx, query, a.Email, a.PasswordHash, Micros(a.CreatedAt), a.Disabled).Scan(&a.ID)
	return t.created("create account", err)
}

// UpdatePassword sets an account's password hash; a missing account is
// tacit.ErrNotFound.
func (t *Tx) UpdatePassword(ctx context.Context, accountID int64, hash string) error {
	n, err := t.Q.Exec(ctx, `UPDATE accounts SET password_hash = $1 WHERE id = $2`, hash, accountID)
	t.revokes = true
	return oneRow(fmt.Sprintf("update password of account %d", accountID), n, err)
}

// UpdateEmail sets an account's normalised address. An address held by
// another account is tacit.ErrConflict (the unique index decides, so two
// concurrent changes to one address cannot both succeed: the second waits
// for the first to commit and then fails); a missing account is
// tacit.ErrNotFound.
func (t *Tx) UpdateEmail(ctx context.Context, accountID int64, email string) error {
	what := fmt.Sprintf("update email of account %d", accountID)
	n, err := t.Q.Exec(ctx, `UPDATE accounts SET email = $1 WHERE id = $2`, email, accountID)
	// The address is part of a cached identity (X-Tacit-Email).
	t.revokes = true
	if t.Dialect.Unique(err) {
		return fmt.Errorf("%s: %w", what, tacit.ErrConflict)
	}
	return oneRow(what, n, err)
}

func scanAccount(row Row) (tacit.Account, error) {
	var a tacit.Account
	var created int64
	if err := row.Scan(&a.ID, &a.Email, &a.PasswordHash, &created, &a.Disabled); err != nil {
		return tacit.Account{}, err
	}
	a.CreatedAt = FromMicros(created)
	return a, nil
}

// SetDisabled sets whether an account is disabled; a missing account is
// tacit.ErrNotFound.
func (t *Tx) SetDisabled(ctx context.Context, accountID int64, disabled bool) error {
	n, err := t.Q.Exec(ctx, `UPDATE accounts SET disabled = $1 WHERE id = $2`, disabled, accountID)
	// A disabled account's sessions stop passing forward auth at once.
	t.revokes = true
	return oneRow(fmt.Sprintf("set disabled of account %d", accountID), n, err)
}

// accountRows are the statements that delete what an account holds, by
// its ID, before the account itself goes. The schema's foreign keys would
// cascade most of them, but deleting each explicitly keeps this list the
// one record of what an account owns: a new table with an account_id
// (passkeys, linked identities, activity) adds its statement here, and
// storetest's DeleteAccount test checks that every table of the schema
// is empty of the account afterwards.
var accountRows = []string{
	`DELETE FROM sessions WHERE account_id = $1`,
	`DELETE FROM reset_tokens WHERE account_id = $1`,
	`DELETE FROM email_changes WHERE account_id = $1`,
	`DELETE FROM mfa_challenges WHERE account_id = $1`,
	`DELETE FROM recovery_codes WHERE account_id = $1`,
	`DELETE FROM totp WHERE account_id = $1`,
	`DELETE FROM events WHERE account_id = $1`,
	`DELETE FROM passkey_challenges WHERE account_id = $1`,
	`DELETE FROM passkeys WHERE account_id = $1`,
	// OpenID Connect: its grants (every app's tokens end), consents,
	// sign-ins in progress, and its subject id, so that an account made
	// later at the address is a stranger to every app.
	`DELETE FROM oidc_grants WHERE account_id = $1`,
	`DELETE FROM oidc_consents WHERE account_id = $1`,
	`DELETE FROM oidc_auth_requests WHERE account_id = $1`,
	`DELETE FROM oidc_subjects WHERE account_id = $1`,
}

// DeleteAccount removes an account, every row tied to it (accountRows)
// and every sign-up of its address, so that nothing stored tells that the
// address ever had an account: signing up again starts afresh. A missing
// account is tacit.ErrNotFound. The account's row is locked first, so a
// flow acting on it at the same time either finishes before or finds
// nothing.
func (t *Tx) DeleteAccount(ctx context.Context, accountID int64) error {
	what := fmt.Sprintf("delete account %d", accountID)
	a, err := t.AccountByID(ctx, accountID)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, q := range accountRows {
		if _, err := t.Q.Exec(ctx, q, accountID); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	// Pending sign-ups of the address (those made while the account
	// existed are born expired, see flow's decoySignup) would otherwise
	// outlive it.
	if _, err := t.Q.Exec(ctx, `DELETE FROM signups WHERE email = $1`, a.Email); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	// No later account may have this ID (see the account_ids table).
	for _, q := range []string{
		`DELETE FROM account_ids WHERE highest_deleted < $1`,
		`INSERT INTO account_ids (highest_deleted) SELECT CAST($1 AS BIGINT) WHERE NOT EXISTS (SELECT 1 FROM account_ids)`,
	} {
		if _, err := t.Q.Exec(ctx, q, accountID); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	n, err := t.Q.Exec(ctx, `DELETE FROM accounts WHERE id = $1`, accountID)
	// Its sessions, cached for forward auth, stop passing at once here
	// (and elsewhere within the revocation bound).
	t.revokes = true
	return oneRow(what, n, err)
}

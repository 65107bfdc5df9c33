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
	err := t.Q.QueryRow(ctx,
		`INSERT INTO accounts (email, password_hash, created_at, disabled)
		 VALUES ($1, $2, $3, $4) RETURNING id`,
		a.Email, a.PasswordHash, Micros(a.CreatedAt), a.Disabled).Scan(&a.ID)
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

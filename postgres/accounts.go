package postgres

import (
	"context"
	"fmt"

	"github.com/tacitauth/tacit"
)

const accountColumns = `id, email, password_hash, created_at, disabled`

// AccountByEmail finds the account for a normalised address.
func (t *tx) AccountByEmail(ctx context.Context, email string) (tacit.Account, error) {
	row := t.tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE email = $1`, email)
	a, err := scanAccount(row)
	if err != nil {
		return tacit.Account{}, notFound("account by email", err)
	}
	return a, nil
}

// AccountByID finds an account by its ID. In an Update it locks the
// account's row until the transaction ends: the flows that read an account
// by ID there go on to change it or to act on its current password, and
// must not interleave with a password reset.
func (t *tx) AccountByID(ctx context.Context, id int64) (tacit.Account, error) {
	row := t.tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`+t.forUpdate(), id)
	a, err := scanAccount(row)
	if err != nil {
		return tacit.Account{}, notFound(fmt.Sprintf("account %d", id), err)
	}
	return a, nil
}

// CreateAccount inserts a and sets a.ID; a second account for the same
// address is tacit.ErrConflict.
func (t *tx) CreateAccount(ctx context.Context, a *tacit.Account) error {
	err := t.tx.QueryRow(ctx,
		`INSERT INTO accounts (email, password_hash, created_at, disabled)
		 VALUES ($1, $2, $3, $4) RETURNING id`,
		a.Email, a.PasswordHash, micros(a.CreatedAt), a.Disabled).Scan(&a.ID)
	if isUnique(err) {
		return fmt.Errorf("create account: %w", tacit.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	return nil
}

// UpdatePassword sets an account's password hash; a missing account is
// tacit.ErrNotFound.
func (t *tx) UpdatePassword(ctx context.Context, accountID int64, hash string) error {
	tag, err := t.tx.Exec(ctx, `UPDATE accounts SET password_hash = $1 WHERE id = $2`, hash, accountID)
	return oneRow(fmt.Sprintf("update password of account %d", accountID), tag, err)
}

// UpdateEmail sets an account's normalised address. An address held by
// another account is tacit.ErrConflict (the unique index decides, so two
// concurrent changes to one address cannot both succeed: the second waits
// for the first to commit and then fails); a missing account is
// tacit.ErrNotFound.
func (t *tx) UpdateEmail(ctx context.Context, accountID int64, email string) error {
	what := fmt.Sprintf("update email of account %d", accountID)
	tag, err := t.tx.Exec(ctx, `UPDATE accounts SET email = $1 WHERE id = $2`, email, accountID)
	if isUnique(err) {
		return fmt.Errorf("%s: %w", what, tacit.ErrConflict)
	}
	return oneRow(what, tag, err)
}

func scanAccount(row scanner) (tacit.Account, error) {
	var a tacit.Account
	var created int64
	if err := row.Scan(&a.ID, &a.Email, &a.PasswordHash, &created, &a.Disabled); err != nil {
		return tacit.Account{}, err
	}
	a.CreatedAt = fromMicros(created)
	return a, nil
}

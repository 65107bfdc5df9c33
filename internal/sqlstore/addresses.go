package sqlstore

import (
	"context"
	"fmt"

	"github.com/tacitauth/tacit/internal/upkeep"
)

// RenormalizeAddresses is migration 006's Go step: it brings every stored
// address to the canonical form of tacit.NormalizeEmail, which changed
// (case folding, then NFC). Accounts whose addresses now share a form are
// left as they are, since merging them would hand one owner's account to
// another; AddressReport lists them for `tacit migrate` to print.
// Throttle counters are keyed by a MAC of the address and cannot be
// rewritten; those of a changed spelling simply expire.
func RenormalizeAddresses(ctx context.Context, q Querier) error {
	rows, err := addressRows(ctx, q, "accounts", "email")
	if err != nil {
		return err
	}
	moves, _ := upkeep.Unique(rows)
	if err := moveAddresses(ctx, q, "accounts", "email", moves); err != nil {
		return err
	}
	for _, c := range []struct{ table, column string }{{"signups", "email"}, {"email_changes", "new_email"}} {
		rows, err := addressRows(ctx, q, c.table, c.column)
		if err != nil {
			return err
		}
		if err := moveAddresses(ctx, q, c.table, c.column, upkeep.Moves(rows)); err != nil {
			return err
		}
	}
	return nil
}

// AddressReport lists the accounts whose address could not be brought to
// its canonical form because another account has that form, and those
// whose address is no longer accepted, for `tacit migrate` to print. It
// reads every account's address.
func (s *Store) AddressReport(ctx context.Context) (upkeep.Report, error) {
	var rep upkeep.Report
	err := s.Engine.Read(ctx, func(q Querier) error {
		rows, err := addressRows(ctx, q, "accounts", "email")
		rep = upkeep.Check(rows)
		return err
	})
	if err != nil {
		return upkeep.Report{}, fmt.Errorf("address report: %w", err)
	}
	return rep, nil
}

// addressRows reads the id and address of every row of table. The names
// are the constants above, never input.
func addressRows(ctx context.Context, q Querier, table, column string) ([]upkeep.Row, error) {
	out, err := collect(ctx, q, func(row Row) (r upkeep.Row, err error) {
		err = row.Scan(&r.ID, &r.Email)
		return r, err
	},
		`SELECT id, `+column+` FROM `+table)
	if err != nil {
		return nil, fmt.Errorf("read %s.%s: %w", table, column, err)
	}
	return out, nil
}

// moveAddresses sets each row's address to the one planned.
func moveAddresses(ctx context.Context, q Querier, table, column string, moves []upkeep.Row) error {
	for _, m := range moves {
		if _, err := q.Exec(ctx, `UPDATE `+table+` SET `+column+` = $1 WHERE id = $2`, m.Email, m.ID); err != nil {
			return fmt.Errorf("update %s.%s of row %d: %w", table, column, m.ID, err)
		}
	}
	return nil
}

// Package upkeep holds the engine-free part of the storage engines' data
// upkeep. It brings stored addresses to the current canonical form
// (tacit.NormalizeEmail) after that form has changed: the engines' data
// migration plans with it, and `tacit migrate` reports with it what the
// migration had to leave alone. And it groups stored password hashes by
// their parameters, so the server can size its envelope to the costliest.
// It knows no SQL; each engine reads the rows and applies the plan in its
// own transaction.
package upkeep

import (
	"cmp"
	"slices"
	"strings"

	"github.com/tacitauth/tacit"
)

// Row is one stored address and the id of its row.
type Row struct {
	ID    int64
	Email string
}

// Collision is a set of accounts whose stored addresses differ but have one
// canonical form: one mailbox with several accounts, made under an older
// normalisation. Merging them would hand one owner's account to another,
// so they are left as they are for the operator to decide; the account
// already holding the canonical form, if any, is among them.
type Collision struct {
	Normal string
	Rows   []Row // by id
}

// Unique plans a column that holds one row per address (accounts.email):
// each row whose address is not canonical moves to its canonical form,
// unless another row holds or would get that form too; all rows of such a
// form are a Collision and none of them moves. Because the canonical form
// is a fixed point, a moved row can never meet another row's old address,
// so the moves can be applied in any order.
func Unique(rows []Row) (moves []Row, collisions []Collision) {
	byNormal := map[string][]Row{}
	for _, r := range rows {
		n := tacit.NormalizeEmail(r.Email)
		byNormal[n] = append(byNormal[n], r)
	}
	for n, group := range byNormal {
		switch {
		case len(group) > 1:
			slices.SortFunc(group, func(a, b Row) int { return cmp.Compare(a.ID, b.ID) })
			collisions = append(collisions, Collision{Normal: n, Rows: group})
		case group[0].Email != n:
			moves = append(moves, Row{ID: group[0].ID, Email: n})
		}
	}
	slices.SortFunc(moves, func(a, b Row) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(collisions, func(a, b Collision) int { return strings.Compare(a.Normal, b.Normal) })
	return moves, collisions
}

// Moves plans a column where addresses may repeat (signups.email,
// email_changes.new_email): every row whose address is not canonical moves
// to its canonical form.
func Moves(rows []Row) []Row {
	var moves []Row
	for _, r := range rows {
		if n := tacit.NormalizeEmail(r.Email); n != r.Email {
			moves = append(moves, Row{ID: r.ID, Email: n})
		}
	}
	return moves
}

// Report is what an operator must look at after the migration: accounts
// that collide, and accounts whose address is no longer accepted (it holds
// an invisible code point, say). The latter can still sign in, but the
// flows refuse their address for reset, sign-up and address change.
type Report struct {
	Collisions []Collision
	Refused    []Row // by id
}

// Check reports on every account's stored address.
func Check(accounts []Row) Report {
	_, collisions := Unique(accounts)
	var refused []Row
	for _, r := range accounts {
		if !tacit.ValidEmail(tacit.NormalizeEmail(r.Email)) {
			refused = append(refused, r)
		}
	}
	slices.SortFunc(refused, func(a, b Row) int { return cmp.Compare(a.ID, b.ID) })
	return Report{Collisions: collisions, Refused: refused}
}

package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/upkeep"
)

// addressReporter is a store that reports the accounts migration 006 had
// to leave alone; every engine is one.
type addressReporter interface {
	AddressReport(ctx context.Context) (upkeep.Report, error)
}

// Migration 006 brings addresses stored under the older normalisation
// (lower-casing after NFC) to the canonical form, in accounts, sign-ups
// and email changes. Accounts whose addresses now share one form are left
// as they are, never merged, and reported with those whose address is no
// longer accepted.
func testRenormalizeAddresses(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.fresh(t)
	jane := createAccount(t, s, "j\u030cane@example.com")    // old lower(NFC("J\u030cane")): not NFC
	strasse := createAccount(t, s, "stra\u00dfe@example.de") // ß folds to ss
	kate := createAccount(t, s, "kate@example.com")
	kelvin := createAccount(t, s, "\u212aate@example.com") // Kelvin sign: lower-casing kept it, folding makes it kate
	sigma1 := createAccount(t, s, "\u03bf\u03c2@example.gr")
	sigma2 := createAccount(t, s, "\u03bf\u03c3\u0345@example.gr") // neither is canonical yet; they become one
	sigma3 := createAccount(t, s, "\u03bf\u03c3\u03b9@example.gr")
	plain := createAccount(t, s, "ok@example.com")
	hidden := createAccount(t, s, "a\u200bb@example.com")
	signup := createSignup(t, s, "e\u0301lise@example.com", hash(1), base, base.Add(time.Hour))
	change := createEmailChange(t, s, plain.ID, "stra\u00dfe@example.org", hash(2), base.Add(time.Hour))

	// Undo the record of 006, as if these rows were there before it.
	e.exec(t, s, `DELETE FROM schema_migrations WHERE version = 6`)
	m := s.(Migrator)
	wantCurrent(t, m, false, "with 006 undone")
	if err := m.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	wantCurrent(t, m, true, "after Migrate")
	wantMigratedOnce(t, e, m)

	want := map[int64]string{
		jane.ID:    "\u01f0ane@example.com",
		strasse.ID: "strasse@example.de",
		kate.ID:    "kate@example.com",
		kelvin.ID:  "\u212aate@example.com",   // collides with kate: left alone
		sigma1.ID:  "\u03bf\u03c3@example.gr", // final sigma folds to sigma
		sigma2.ID:  "\u03bf\u03c3\u0345@example.gr",
		sigma3.ID:  "\u03bf\u03c3\u03b9@example.gr",
		plain.ID:   "ok@example.com",
		hidden.ID:  "a\u200bb@example.com",
	}
	view(t, s, func(tx tacit.Tx) error {
		for id, email := range want {
			a, err := tx.AccountByID(ctx, id)
			if err != nil {
				return err
			}
			if a.Email != email {
				t.Errorf("account %d: email %+q, want %+q", id, a.Email, email)
			}
		}
		su, err := tx.LatestSignup(ctx, "\u00e9lise@example.com", base)
		if err != nil || su.ID != signup.ID {
			t.Errorf("LatestSignup(canonical) = %+v, %v; want sign-up %d", su, err, signup.ID)
		}
		ec, err := tx.EmailChangeByToken(ctx, change.TokenHash, base)
		if err != nil || ec.NewEmail != "strasse@example.org" {
			t.Errorf("email change = %+v, %v; want new address strasse@example.org", ec, err)
		}
		return nil
	})

	r, ok := s.(addressReporter)
	if !ok {
		t.Fatalf("%T has no AddressReport", s)
	}
	rep, err := r.AddressReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	row := func(a tacit.Account) upkeep.Row { return upkeep.Row{ID: a.ID, Email: want[a.ID]} }
	wantRep := upkeep.Report{
		Collisions: []upkeep.Collision{
			{Normal: "kate@example.com", Rows: []upkeep.Row{row(kate), row(kelvin)}},
			{Normal: "\u03bf\u03c3\u03b9@example.gr", Rows: []upkeep.Row{row(sigma2), row(sigma3)}},
		},
		Refused: []upkeep.Row{row(hidden)},
	}
	if !reflect.DeepEqual(rep, wantRep) {
		t.Errorf("AddressReport = %+v\nwant %+v", rep, wantRep)
	}
	// A second run changes nothing more.
	e.exec(t, s, `DELETE FROM schema_migrations WHERE version = 6`)
	if err := m.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if again, err := r.AddressReport(ctx); err != nil || !reflect.DeepEqual(again, wantRep) {
		t.Errorf("AddressReport after a second run = %+v, %v", again, err)
	}
}

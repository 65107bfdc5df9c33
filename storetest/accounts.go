package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

func testAccountCreateAndLookup(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := tacit.Account{Email: "ada@example.com", PasswordHash: "$argon2id$v=19$x", CreatedAt: base}
	b := tacit.Account{Email: "bob@example.com", PasswordHash: "$argon2id$v=19$y", CreatedAt: base.Add(time.Second), Disabled: true}
	update(t, s, func(tx tacit.Tx) error {
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		// Visible inside the transaction that wrote it.
		got, err := tx.AccountByID(ctx, a.ID)
		if err != nil {
			return err
		}
		equal(t, "account in its own transaction", utcAccount(got), a)
		return tx.CreateAccount(ctx, &b)
	})
	if a.ID == 0 || b.ID == 0 || a.ID == b.ID {
		t.Fatalf("IDs not set or not distinct: %d, %d", a.ID, b.ID)
	}
	view(t, s, func(tx tacit.Tx) error {
		for _, want := range []tacit.Account{a, b} {
			got, err := tx.AccountByEmail(ctx, want.Email)
			if err != nil {
				return err
			}
			equal(t, "AccountByEmail", utcAccount(got), want)
			got, err = tx.AccountByID(ctx, want.ID)
			if err != nil {
				return err
			}
			equal(t, "AccountByID", utcAccount(got), want)
		}
		return nil
	})
}

func testAccountNotFound(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.AccountByEmail(ctx, "nobody@example.com")
		wantErr(t, "AccountByEmail(missing)", err, tacit.ErrNotFound)
		_, err = tx.AccountByID(ctx, a.ID+1000)
		wantErr(t, "AccountByID(missing)", err, tacit.ErrNotFound)
		return nil
	})
}

func testAccountDuplicateEmail(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	first := createAccount(t, s, "ada@example.com")
	dup := tacit.Account{Email: "ada@example.com", PasswordHash: "other", CreatedAt: base.Add(time.Hour)}
	err := s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateAccount(ctx, &dup) })
	wantErr(t, "second CreateAccount", err, tacit.ErrConflict)
	if errors.Is(err, tacit.ErrNotFound) {
		t.Fatalf("conflict also reads as not found: %v", err)
	}
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.AccountByEmail(ctx, "ada@example.com")
		if err != nil {
			return err
		}
		equal(t, "account after refused duplicate", utcAccount(got), first)
		return nil
	})
}

func testUpdatePassword(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	update(t, s, func(tx tacit.Tx) error { return tx.UpdatePassword(ctx, a.ID, "$argon2id$new") })
	a.PasswordHash = "$argon2id$new"
	err := s.Update(ctx, func(tx tacit.Tx) error { return tx.UpdatePassword(ctx, b.ID+1000, "$argon2id$x") })
	wantErr(t, "UpdatePassword(missing account)", err, tacit.ErrNotFound)
	view(t, s, func(tx tacit.Tx) error {
		for _, want := range []tacit.Account{a, b} {
			got, err := tx.AccountByID(ctx, want.ID)
			if err != nil {
				return err
			}
			equal(t, "account after UpdatePassword", utcAccount(got), want)
		}
		return nil
	})
}

func testUpdateEmail(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	update(t, s, func(tx tacit.Tx) error { return tx.UpdateEmail(ctx, a.ID, "ada@example.org") })
	a.Email = "ada@example.org"
	// Setting an account's own address again is no conflict.
	update(t, s, func(tx tacit.Tx) error { return tx.UpdateEmail(ctx, b.ID, "bob@example.com") })
	err := s.Update(ctx, func(tx tacit.Tx) error { return tx.UpdateEmail(ctx, b.ID, "ada@example.org") })
	wantErr(t, "UpdateEmail to another account's address", err, tacit.ErrConflict)
	err = s.Update(ctx, func(tx tacit.Tx) error { return tx.UpdateEmail(ctx, b.ID+1000, "carol@example.com") })
	wantErr(t, "UpdateEmail(missing account)", err, tacit.ErrNotFound)
	view(t, s, func(tx tacit.Tx) error {
		for _, want := range []tacit.Account{a, b} {
			got, err := tx.AccountByEmail(ctx, want.Email)
			if err != nil {
				return err
			}
			equal(t, "account after UpdateEmail", utcAccount(got), want)
		}
		_, err := tx.AccountByEmail(ctx, "ada@example.com")
		wantErr(t, "old address after UpdateEmail", err, tacit.ErrNotFound)
		return nil
	})
	// The old address is free for a new account.
	createAccount(t, s, "ada@example.com")
}

// Times are stored as UTC Unix microseconds, whatever their location, and
// come back in UTC, cut to the microsecond.
func testTimesStored(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.fresh(t)
	local := time.FixedZone("UTC+5", 5*3600)
	created := time.Date(2030, 6, 7, 8, 9, 10, 123456789, local)
	a := tacit.Account{Email: "ada@example.com", PasswordHash: "h", CreatedAt: created}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateAccount(ctx, &a) })
	var stored int64
	e.row(t, s, fmt.Sprintf(`SELECT created_at FROM accounts WHERE id = %d`, a.ID), &stored)
	equal(t, "stored created_at", stored, created.UnixMicro())
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.AccountByID(ctx, a.ID)
		if err != nil {
			return err
		}
		want := time.Date(2030, 6, 7, 3, 9, 10, 123456000, time.UTC)
		if got.CreatedAt != want || got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt = %v (%v), want %v", got.CreatedAt, got.CreatedAt.Location(), want)
		}
		return nil
	})
}

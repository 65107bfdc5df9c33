package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

func utcPasskey(p tacit.Passkey) tacit.Passkey {
	p.CreatedAt = p.CreatedAt.UTC()
	if !p.LastUsedAt.IsZero() {
		p.LastUsedAt = p.LastUsedAt.UTC()
	}
	return p
}

func passkeysOf(t *testing.T, s tacit.Store, accountID int64) []tacit.Passkey {
	t.Helper()
	var list []tacit.Passkey
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.PasskeysByAccount(context.Background(), accountID)
		for _, p := range got {
			list = append(list, utcPasskey(p))
		}
		return err
	})
	return list
}

func testPasskeys(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	if got := passkeysOf(t, s, a.ID); len(got) != 0 {
		t.Fatalf("passkeys before any: %+v", got)
	}
	laptop := tacit.Passkey{AccountID: a.ID, CredentialID: hash(1), UserHandle: hash(9), Name: "laptop",
		Credential: []byte(`{"publicKey":"pQ"}`), SignCount: 1 << 31, BackupEligible: true, CreatedAt: base}
	phone := tacit.Passkey{AccountID: a.ID, CredentialID: hash(2), UserHandle: hash(9), Name: "phone",
		Credential: []byte(`{}`), CreatedAt: base.Add(time.Minute)}
	update(t, s, func(tx tacit.Tx) error {
		if err := tx.CreatePasskey(ctx, &laptop); err != nil {
			return err
		}
		return tx.CreatePasskey(ctx, &phone)
	})
	equal(t, "passkeys", passkeysOf(t, s, a.ID), []tacit.Passkey{laptop, phone})

	// A credential id belongs to one passkey of one account.
	err := s.Update(ctx, func(tx tacit.Tx) error {
		return tx.CreatePasskey(ctx, &tacit.Passkey{AccountID: b.ID, CredentialID: hash(1), UserHandle: hash(8), Name: "x", Credential: []byte(`{}`), CreatedAt: base})
	})
	wantErr(t, "same credential id on another account", err, tacit.ErrConflict)

	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.PasskeyByCredential(ctx, hash(2))
		if err != nil {
			return err
		}
		equal(t, "PasskeyByCredential", utcPasskey(got), phone)
		_, err = tx.PasskeyByCredential(ctx, hash(3))
		wantErr(t, "unknown credential", err, tacit.ErrNotFound)
		return nil
	})

	// Use, rename, delete: only within the account.
	used := base.Add(time.Hour)
	update(t, s, func(tx tacit.Tx) error { return tx.UsePasskey(ctx, laptop.ID, 1<<31+5, true, used) })
	laptop.SignCount, laptop.BackupState, laptop.LastUsedAt = 1<<31+5, true, used
	update(t, s, func(tx tacit.Tx) error { return tx.RenamePasskey(ctx, a.ID, laptop.ID, "work laptop") })
	laptop.Name = "work laptop"
	equal(t, "used and renamed", passkeysOf(t, s, a.ID), []tacit.Passkey{laptop, phone})
	for what, fn := range map[string]func(tx tacit.Tx) error{
		"rename another's": func(tx tacit.Tx) error { return tx.RenamePasskey(ctx, b.ID, laptop.ID, "mine") },
		"delete another's": func(tx tacit.Tx) error { return tx.DeletePasskey(ctx, b.ID, laptop.ID) },
		"use unknown":      func(tx tacit.Tx) error { return tx.UsePasskey(ctx, 1<<40, 1, false, used) },
	} {
		wantErr(t, what, s.Update(ctx, fn), tacit.ErrNotFound)
	}
	equal(t, "after others' attempts", passkeysOf(t, s, a.ID), []tacit.Passkey{laptop, phone})
	update(t, s, func(tx tacit.Tx) error { return tx.DeletePasskey(ctx, a.ID, phone.ID) })
	equal(t, "after delete", passkeysOf(t, s, a.ID), []tacit.Passkey{laptop})
	update(t, s, func(tx tacit.Tx) error { return tx.DeletePasskeys(ctx, a.ID) })
	if got := passkeysOf(t, s, a.ID); len(got) != 0 {
		t.Fatalf("after DeletePasskeys: %+v", got)
	}
}

func testPasskeyChallenges(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	now := base
	login := tacit.PasskeyChallenge{TokenHash: hash(1), Purpose: tacit.PasskeyLogin, Session: []byte(`{}`), CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	reg := tacit.PasskeyChallenge{TokenHash: hash(2), Purpose: tacit.PasskeyRegister, AccountID: a.ID, Session: []byte(`{"user_id":"AQ"}`), CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	old := tacit.PasskeyChallenge{TokenHash: hash(3), Purpose: tacit.PasskeySecondStep, AccountID: a.ID, Session: []byte(`{}`), CreatedAt: now, ExpiresAt: now}
	update(t, s, func(tx tacit.Tx) error {
		for _, c := range []*tacit.PasskeyChallenge{&login, &reg, &old} {
			if err := tx.CreatePasskeyChallenge(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	take := func(h []byte) (tacit.PasskeyChallenge, error) {
		var c tacit.PasskeyChallenge
		err := s.Update(ctx, func(tx tacit.Tx) error {
			var err error
			c, err = tx.TakePasskeyChallenge(ctx, h, now)
			return err
		})
		c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
		return c, err
	}
	for _, want := range []tacit.PasskeyChallenge{login, reg} {
		got, err := take(want.TokenHash)
		if err != nil {
			t.Fatalf("take %s: %v", want.Purpose, err)
		}
		equal(t, "taken "+string(want.Purpose), got, want)
		// Single use.
		_, err = take(want.TokenHash)
		wantErr(t, "taken twice", err, tacit.ErrNotFound)
	}
	_, err := take(old.TokenHash)
	wantErr(t, "expired at now", err, tacit.ErrNotFound)

	again := tacit.PasskeyChallenge{TokenHash: hash(4), Purpose: tacit.PasskeyRegister, AccountID: a.ID, Session: []byte(`{}`), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	update(t, s, func(tx tacit.Tx) error { return tx.CreatePasskeyChallenge(ctx, &again) })
	update(t, s, func(tx tacit.Tx) error { return tx.DeletePasskeyChallenges(ctx, a.ID) })
	_, err = take(again.TokenHash)
	wantErr(t, "after DeletePasskeyChallenges", err, tacit.ErrNotFound)

	// Purge removes expired ones.
	live := tacit.PasskeyChallenge{TokenHash: hash(5), Purpose: tacit.PasskeyLogin, Session: []byte(`{}`), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	gone := tacit.PasskeyChallenge{TokenHash: hash(6), Purpose: tacit.PasskeyLogin, Session: []byte(`{}`), CreatedAt: now, ExpiresAt: now.Add(-time.Hour)}
	update(t, s, func(tx tacit.Tx) error {
		if err := tx.CreatePasskeyChallenge(ctx, &live); err != nil {
			return err
		}
		return tx.CreatePasskeyChallenge(ctx, &gone)
	})
	purge(t, s, now, time.Hour)
	update(t, s, func(tx tacit.Tx) error {
		// An early now would find the expired challenge if it were still there.
		_, err := tx.TakePasskeyChallenge(ctx, gone.TokenHash, now.Add(-2*time.Hour))
		wantErr(t, "expired challenge after Purge", err, tacit.ErrNotFound)
		return nil
	})
	if _, err := take(live.TokenHash); err != nil {
		t.Fatalf("live challenge after Purge: %v", err)
	}
}

// testPasskeysDieWithAccount deletes an account the only way the schema
// knows, and finds its passkeys and challenges gone with it.
func testPasskeysDieWithAccount(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.fresh(t)
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	update(t, s, func(tx tacit.Tx) error {
		for i, id := range []int64{a.ID, b.ID} {
			p := tacit.Passkey{AccountID: id, CredentialID: hash(byte(i + 1)), UserHandle: hash(9), Name: "k", Credential: []byte(`{}`), CreatedAt: base}
			if err := tx.CreatePasskey(ctx, &p); err != nil {
				return err
			}
		}
		return tx.CreatePasskeyChallenge(ctx, &tacit.PasskeyChallenge{TokenHash: hash(5), Purpose: tacit.PasskeyRegister, AccountID: a.ID, Session: []byte(`{}`), CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
	})
	e.exec(t, s, fmt.Sprintf("DELETE FROM accounts WHERE id = %d", a.ID))
	var n int64
	e.row(t, s, fmt.Sprintf("SELECT count(*) FROM passkeys WHERE account_id = %d", a.ID), &n)
	if n != 0 {
		t.Errorf("%d passkeys outlive their account", n)
	}
	e.row(t, s, "SELECT count(*) FROM passkey_challenges", &n)
	if n != 0 {
		t.Errorf("%d passkey challenges outlive their account", n)
	}
	if got := passkeysOf(t, s, b.ID); len(got) != 1 {
		t.Errorf("the other account's passkeys: %+v", got)
	}
}

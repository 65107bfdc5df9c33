package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

func utcTOTP(o tacit.TOTP) tacit.TOTP {
	o.CreatedAt = o.CreatedAt.UTC()
	return o
}

func utcChallenge(c tacit.MFAChallenge) tacit.MFAChallenge {
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return c
}

func totpOf(t *testing.T, s tacit.Store, accountID int64) (tacit.TOTP, error) {
	t.Helper()
	var o tacit.TOTP
	err := s.View(context.Background(), func(tx tacit.Tx) error {
		var err error
		o, err = tx.TOTPByAccount(context.Background(), accountID)
		return err
	})
	return utcTOTP(o), err
}

func testTOTP(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	_, err := totpOf(t, s, a.ID)
	wantErr(t, "TOTPByAccount before SaveTOTP", err, tacit.ErrNotFound)

	pending := tacit.TOTP{AccountID: a.ID, Secret: "JBSWY3DPEHPK3PXP", CreatedAt: base}
	update(t, s, func(tx tacit.Tx) error { return tx.SaveTOTP(ctx, pending) })
	got, err := totpOf(t, s, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "pending TOTP", got, pending)

	// Saving again replaces: a new set-up, then enabling it.
	enabled := tacit.TOTP{AccountID: a.ID, Secret: "KRSXG5CTMVRXEZLU", Enabled: true, LastStep: 100, CreatedAt: base.Add(time.Minute)}
	update(t, s, func(tx tacit.Tx) error { return tx.SaveTOTP(ctx, enabled) })
	got, _ = totpOf(t, s, a.ID)
	equal(t, "replaced TOTP", got, enabled)
	_, err = totpOf(t, s, b.ID)
	wantErr(t, "other account's TOTP", err, tacit.ErrNotFound)

	// A step is accepted once, and never one before it.
	for _, step := range []int64{100, 99} {
		err := s.Update(ctx, func(tx tacit.Tx) error { return tx.AdvanceTOTP(ctx, a.ID, step) })
		wantErr(t, "AdvanceTOTP to a used step", err, tacit.ErrConflict)
	}
	update(t, s, func(tx tacit.Tx) error { return tx.AdvanceTOTP(ctx, a.ID, 101) })
	got, _ = totpOf(t, s, a.ID)
	if got.LastStep != 101 {
		t.Fatalf("LastStep = %d after AdvanceTOTP(101)", got.LastStep)
	}
	err = s.Update(ctx, func(tx tacit.Tx) error { return tx.AdvanceTOTP(ctx, b.ID, 1) })
	wantErr(t, "AdvanceTOTP without a TOTP", err, tacit.ErrConflict)

	update(t, s, func(tx tacit.Tx) error { return tx.SetRecoveryCodes(ctx, a.ID, [][]byte{hash(1), hash(2)}) })
	update(t, s, func(tx tacit.Tx) error { return tx.DeleteTOTP(ctx, a.ID) })
	_, err = totpOf(t, s, a.ID)
	wantErr(t, "TOTPByAccount after DeleteTOTP", err, tacit.ErrNotFound)
	if n := codesLeft(t, s, a.ID); n != 0 {
		t.Fatalf("%d recovery codes left after DeleteTOTP", n)
	}
}

func codesLeft(t *testing.T, s tacit.Store, accountID int64) int {
	t.Helper()
	var n int
	view(t, s, func(tx tacit.Tx) error {
		var err error
		n, err = tx.RecoveryCodesLeft(context.Background(), accountID)
		return err
	})
	return n
}

func testRecoveryCodes(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	update(t, s, func(tx tacit.Tx) error { return tx.SetRecoveryCodes(ctx, a.ID, [][]byte{hash(1), hash(2), hash(3)}) })
	update(t, s, func(tx tacit.Tx) error { return tx.SetRecoveryCodes(ctx, b.ID, [][]byte{hash(4)}) })
	if n := codesLeft(t, s, a.ID); n != 3 {
		t.Fatalf("RecoveryCodesLeft = %d, want 3", n)
	}
	use := func(id int64, h []byte) error {
		return s.Update(ctx, func(tx tacit.Tx) error { return tx.UseRecoveryCode(ctx, id, h) })
	}
	if err := use(a.ID, hash(2)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "a recovery code used twice", use(a.ID, hash(2)), tacit.ErrNotFound)
	wantErr(t, "another account's recovery code", use(a.ID, hash(4)), tacit.ErrNotFound)
	if n := codesLeft(t, s, a.ID); n != 2 {
		t.Fatalf("RecoveryCodesLeft = %d after one use, want 2", n)
	}
	// Setting codes replaces the old ones.
	update(t, s, func(tx tacit.Tx) error { return tx.SetRecoveryCodes(ctx, a.ID, [][]byte{hash(5)}) })
	wantErr(t, "a replaced recovery code", use(a.ID, hash(1)), tacit.ErrNotFound)
	if err := use(a.ID, hash(5)); err != nil {
		t.Fatal(err)
	}
	if n := codesLeft(t, s, b.ID); n != 1 {
		t.Fatalf("other account has %d codes, want 1", n)
	}
}

func createChallenge(t *testing.T, s tacit.Store, accountID int64, h []byte, expires time.Time) tacit.MFAChallenge {
	t.Helper()
	c := tacit.MFAChallenge{AccountID: accountID, TokenHash: h, CreatedAt: base, ExpiresAt: expires}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateMFAChallenge(context.Background(), &c) })
	if c.ID == 0 {
		t.Fatal("CreateMFAChallenge did not set ID")
	}
	return c
}

func challengeByToken(t *testing.T, s tacit.Store, h []byte, now time.Time) (tacit.MFAChallenge, error) {
	t.Helper()
	var c tacit.MFAChallenge
	err := s.View(context.Background(), func(tx tacit.Tx) error {
		var err error
		c, err = tx.MFAChallengeByToken(context.Background(), h, now)
		return err
	})
	return utcChallenge(c), err
}

func testMFAChallenge(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	expires := base.Add(5 * time.Minute)
	ca := createChallenge(t, s, a.ID, hash(1), expires)
	cb := createChallenge(t, s, b.ID, hash(2), expires)
	got, err := challengeByToken(t, s, ca.TokenHash, expires.Add(-time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "MFAChallengeByToken", got, ca)
	for _, now := range []time.Time{expires, expires.Add(time.Second)} {
		_, err := challengeByToken(t, s, ca.TokenHash, now)
		wantErr(t, "expired challenge", err, tacit.ErrNotFound)
	}
	_, err = challengeByToken(t, s, hash(3), base)
	wantErr(t, "unknown challenge", err, tacit.ErrNotFound)
	dup := tacit.MFAChallenge{AccountID: b.ID, TokenHash: hash(1), CreatedAt: base, ExpiresAt: expires}
	err = s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateMFAChallenge(ctx, &dup) })
	wantErr(t, "CreateMFAChallenge with a stored hash", err, tacit.ErrConflict)

	for want := 1; want <= 3; want++ {
		var n int
		update(t, s, func(tx tacit.Tx) error {
			var err error
			n, err = tx.FailMFAChallenge(ctx, ca.ID)
			return err
		})
		if n != want {
			t.Fatalf("FailMFAChallenge = %d, want %d", n, want)
		}
	}
	got, _ = challengeByToken(t, s, ca.TokenHash, base)
	if got.Failures != 3 {
		t.Fatalf("Failures = %d, want 3", got.Failures)
	}
	err = s.Update(ctx, func(tx tacit.Tx) error { _, err := tx.FailMFAChallenge(ctx, cb.ID+1000); return err })
	wantErr(t, "FailMFAChallenge of a missing challenge", err, tacit.ErrNotFound)

	update(t, s, func(tx tacit.Tx) error { return tx.DeleteMFAChallenges(ctx, a.ID) })
	_, err = challengeByToken(t, s, ca.TokenHash, base)
	wantErr(t, "challenge after DeleteMFAChallenges", err, tacit.ErrNotFound)
	got, err = challengeByToken(t, s, cb.TokenHash, base)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "other account's challenge", got, cb)

	// Purge removes expired challenges only.
	old := createChallenge(t, s, a.ID, hash(6), base.Add(time.Minute))
	purge(t, s, base.Add(2*time.Minute), time.Hour)
	_, err = challengeByToken(t, s, old.TokenHash, base)
	wantErr(t, "expired challenge after Purge", err, tacit.ErrNotFound)
	if _, err := challengeByToken(t, s, cb.TokenHash, base); err != nil {
		t.Fatalf("live challenge after Purge: %v", err)
	}
}

package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

func createResetToken(t *testing.T, s tacit.Store, a tacit.Account, h []byte, expires time.Time) tacit.ResetToken {
	t.Helper()
	r := tacit.ResetToken{AccountID: a.ID, TokenHash: h, PasswordStamp: tacit.PasswordStamp(a.PasswordHash),
		CreatedAt: base, ExpiresAt: expires}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateResetToken(context.Background(), &r) })
	if r.ID == 0 {
		t.Fatal("CreateResetToken did not set ID")
	}
	return r
}

func utcResetToken(r tacit.ResetToken) tacit.ResetToken {
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return r
}

func testResetToken(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	ra := createResetToken(t, s, a, hash(1), base.Add(30*time.Minute))
	rb := createResetToken(t, s, b, hash(2), base.Add(30*time.Minute))
	if ra.ID == rb.ID {
		t.Fatalf("two reset tokens share ID %d", ra.ID)
	}
	view(t, s, func(tx tacit.Tx) error {
		for _, want := range []tacit.ResetToken{ra, rb} {
			got, err := tx.ResetTokenByHash(ctx, want.TokenHash, base)
			if err != nil {
				return err
			}
			equal(t, "ResetTokenByHash", utcResetToken(got), want)
		}
		_, err := tx.ResetTokenByHash(ctx, hash(3), base)
		wantErr(t, "ResetTokenByHash(unknown hash)", err, tacit.ErrNotFound)
		return nil
	})

	dup := tacit.ResetToken{AccountID: b.ID, TokenHash: hash(1), PasswordStamp: []byte{1}, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	err := s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateResetToken(ctx, &dup) })
	wantErr(t, "CreateResetToken with a stored hash", err, tacit.ErrConflict)
	orphan := tacit.ResetToken{AccountID: b.ID + 1000, TokenHash: hash(4), PasswordStamp: []byte{1}, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateResetToken(ctx, &orphan) }); err == nil {
		t.Fatal("CreateResetToken for a missing account succeeded")
	}

	update(t, s, func(tx tacit.Tx) error {
		if err := tx.DeleteResetTokens(ctx, a.ID); err != nil {
			return err
		}
		// Deleting where there is nothing is not an error.
		return tx.DeleteResetTokens(ctx, a.ID)
	})
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.ResetTokenByHash(ctx, ra.TokenHash, base)
		wantErr(t, "ResetTokenByHash after DeleteResetTokens", err, tacit.ErrNotFound)
		got, err := tx.ResetTokenByHash(ctx, rb.TokenHash, base)
		if err != nil {
			return err
		}
		equal(t, "other account's reset token", utcResetToken(got), rb)
		_, err = tx.ResetTokenByHash(ctx, orphan.TokenHash, base)
		wantErr(t, "ResetTokenByHash of a refused token", err, tacit.ErrNotFound)
		return nil
	})
}

func testResetTokenExpiry(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	expires := base.Add(30 * time.Minute)
	r := createResetToken(t, s, a, hash(1), expires)
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.ResetTokenByHash(ctx, r.TokenHash, expires.Add(-time.Microsecond))
		if err != nil {
			return err
		}
		equal(t, "ResetTokenByHash just before expiry", utcResetToken(got), r)
		for _, now := range []time.Time{expires, expires.Add(time.Microsecond), expires.Add(time.Hour)} {
			_, err := tx.ResetTokenByHash(ctx, r.TokenHash, now)
			wantErr(t, "ResetTokenByHash at "+now.Sub(expires).String()+" past expiry", err, tacit.ErrNotFound)
		}
		return nil
	})
}

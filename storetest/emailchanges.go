package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

func createEmailChange(t *testing.T, s tacit.Store, accountID int64, to string, h []byte, expires time.Time) tacit.EmailChange {
	t.Helper()
	e := tacit.EmailChange{AccountID: accountID, NewEmail: to, TokenHash: h, CreatedAt: base, ExpiresAt: expires}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateEmailChange(context.Background(), &e) })
	if e.ID == 0 {
		t.Fatal("CreateEmailChange did not set ID")
	}
	return e
}

func utcEmailChange(e tacit.EmailChange) tacit.EmailChange {
	e.CreatedAt, e.ExpiresAt = e.CreatedAt.UTC(), e.ExpiresAt.UTC()
	return e
}

func testEmailChange(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	// Two pending changes of one account, and one to an address that has
	// an account: the store records requests, the flow judges them.
	first := createEmailChange(t, s, a.ID, "ada@example.org", hash(1), base.Add(time.Hour))
	second := createEmailChange(t, s, a.ID, "ada@example.net", hash(2), base.Add(time.Hour))
	bobs := createEmailChange(t, s, b.ID, "ada@example.com", hash(3), base.Add(time.Hour))
	view(t, s, func(tx tacit.Tx) error {
		for _, want := range []tacit.EmailChange{first, second, bobs} {
			got, err := tx.EmailChangeByToken(ctx, want.TokenHash, base)
			if err != nil {
				return err
			}
			equal(t, "EmailChangeByToken", utcEmailChange(got), want)
		}
		_, err := tx.EmailChangeByToken(ctx, hash(4), base)
		wantErr(t, "EmailChangeByToken(unknown hash)", err, tacit.ErrNotFound)
		return nil
	})

	dup := tacit.EmailChange{AccountID: b.ID, NewEmail: "x@example.com", TokenHash: hash(1), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	err := s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateEmailChange(ctx, &dup) })
	wantErr(t, "CreateEmailChange with a stored hash", err, tacit.ErrConflict)
	orphan := tacit.EmailChange{AccountID: b.ID + 1000, NewEmail: "x@example.com", TokenHash: hash(5), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateEmailChange(ctx, &orphan) }); err == nil {
		t.Fatal("CreateEmailChange for a missing account succeeded")
	}

	update(t, s, func(tx tacit.Tx) error {
		if err := tx.DeleteEmailChanges(ctx, a.ID); err != nil {
			return err
		}
		return tx.DeleteEmailChanges(ctx, a.ID)
	})
	view(t, s, func(tx tacit.Tx) error {
		for _, h := range [][]byte{first.TokenHash, second.TokenHash, orphan.TokenHash} {
			_, err := tx.EmailChangeByToken(ctx, h, base)
			wantErr(t, "EmailChangeByToken after DeleteEmailChanges", err, tacit.ErrNotFound)
		}
		got, err := tx.EmailChangeByToken(ctx, bobs.TokenHash, base)
		if err != nil {
			return err
		}
		equal(t, "other account's email change", utcEmailChange(got), bobs)
		return nil
	})
}

func testEmailChangeExpiry(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	expires := base.Add(time.Hour)
	e := createEmailChange(t, s, a.ID, "ada@example.org", hash(1), expires)
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.EmailChangeByToken(ctx, e.TokenHash, expires.Add(-time.Microsecond))
		if err != nil {
			return err
		}
		equal(t, "EmailChangeByToken just before expiry", utcEmailChange(got), e)
		for _, now := range []time.Time{expires, expires.Add(time.Microsecond), expires.Add(time.Hour)} {
			_, err := tx.EmailChangeByToken(ctx, e.TokenHash, now)
			wantErr(t, "EmailChangeByToken at "+now.Sub(expires).String()+" past expiry", err, tacit.ErrNotFound)
		}
		return nil
	})
}

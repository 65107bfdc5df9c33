package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// createEmailChange stores a change asked from a new session of the
// account that lasts long past every test's clock.
func createEmailChange(t *testing.T, s tacit.Store, accountID int64, to string, h []byte, expires time.Time) tacit.EmailChange {
	t.Helper()
	se := createSession(t, s, accountID, tacit.HashToken("session of "+string(h)), base.Add(1000*time.Hour))
	return createBoundEmailChange(t, s, accountID, se.ID, to, h, expires)
}

// createBoundEmailChange stores a change asked from session sessionID.
func createBoundEmailChange(t *testing.T, s tacit.Store, accountID, sessionID int64, to string, h []byte, expires time.Time) tacit.EmailChange {
	t.Helper()
	e := tacit.EmailChange{AccountID: accountID, NewEmail: to, TokenHash: h, SessionID: sessionID,
		PasswordStamp: tacit.PasswordStamp("hash when " + to + " was asked"), CreatedAt: base, ExpiresAt: expires}
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

// testEmailChangeBinding: a change keeps the session and password stamp it
// was asked with, and ending that session, by any path, deletes it.
func testEmailChangeBinding(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	later := base.Add(100 * time.Hour)
	sess := make([]tacit.Session, 6)
	for i := range sess {
		exp := later
		if i == 3 {
			exp = base.Add(time.Minute) // expires before the Purge below
		}
		sess[i] = createSession(t, s, a.ID, hash(byte(100+i)), exp)
	}
	changes := make([]tacit.EmailChange, len(sess))
	for i, se := range sess {
		changes[i] = createBoundEmailChange(t, s, a.ID, se.ID, "ada@example.org", hash(byte(i+1)), later)
	}
	view(t, s, func(tx tacit.Tx) error {
		for _, want := range changes {
			got, err := tx.EmailChangeByToken(ctx, want.TokenHash, base)
			if err != nil {
				return err
			}
			equal(t, "bound EmailChangeByToken", utcEmailChange(got), want)
		}
		return nil
	})

	// Without a session or stamp (none of the flows stores that): read
	// back as 0 and empty.
	loose := tacit.EmailChange{AccountID: a.ID, NewEmail: "ada@example.net", TokenHash: hash(20), CreatedAt: base, ExpiresAt: later}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateEmailChange(ctx, &loose) })
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.EmailChangeByToken(ctx, loose.TokenHash, base)
		if err != nil {
			return err
		}
		if got.SessionID != 0 || len(got.PasswordStamp) != 0 {
			t.Errorf("unbound change read back with session %d, stamp %x", got.SessionID, got.PasswordStamp)
		}
		return nil
	})
	// A session that does not exist cannot be named.
	ghost := tacit.EmailChange{AccountID: a.ID, NewEmail: "ada@example.net", TokenHash: hash(21), SessionID: sess[5].ID + 1000,
		PasswordStamp: []byte("x"), CreatedAt: base, ExpiresAt: later}
	if err := s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateEmailChange(ctx, &ghost) }); err == nil {
		t.Error("CreateEmailChange for a missing session succeeded")
	}

	update(t, s, func(tx tacit.Tx) error {
		if err := tx.DeleteSession(ctx, sess[0].TokenHash); err != nil { // sign out
			return err
		}
		if err := tx.DeleteAccountSession(ctx, a.ID, sess[1].ID); err != nil { // sign out one device
			return err
		}
		return nil
	})
	if err := s.Purge(ctx, base.Add(time.Hour), time.Hour); err != nil { // sess[3] expired
		t.Fatal(err)
	}
	alive := func(what string, want ...bool) {
		t.Helper()
		view(t, s, func(tx tacit.Tx) error {
			for i, c := range changes {
				_, err := tx.EmailChangeByToken(ctx, c.TokenHash, base)
				if err != nil && !errors.Is(err, tacit.ErrNotFound) {
					return err
				}
				if got := err == nil; got != want[i] {
					t.Errorf("%s: change of session %d alive = %v, want %v", what, i, got, want[i])
				}
			}
			return nil
		})
	}
	alive("after sign-out, ending one device, expiry", false, false, true, false, true, true)
	update(t, s, func(tx tacit.Tx) error { return tx.DeleteSessions(ctx, a.ID, sess[4].ID) }) // sign out the others
	alive("after ending the others", false, false, false, false, true, false)
}

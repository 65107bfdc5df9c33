package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

func createSession(t *testing.T, s tacit.Store, accountID int64, h []byte, expires time.Time) tacit.Session {
	t.Helper()
	return createSessionBy(t, s, accountID, h, expires, tacit.SessionPassword)
}

// createSessionBy is createSession for a session made by method.
func createSessionBy(t *testing.T, s tacit.Store, accountID int64, h []byte, expires time.Time, method tacit.SessionMethod) tacit.Session {
	t.Helper()
	se := tacit.Session{AccountID: accountID, TokenHash: h, CreatedAt: base, LastSeenAt: base,
		ExpiresAt: expires, UserAgent: "Mozilla/5.0 (X11)", IP: "192.0.2.7", Method: method}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateSession(context.Background(), &se) })
	if se.ID == 0 {
		t.Fatal("CreateSession did not set ID")
	}
	return se
}

func testSessionLifecycle(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	se := createSessionBy(t, s, a.ID, hash(1), base.Add(24*time.Hour), tacit.SessionSecondStep)
	other := createSessionBy(t, s, a.ID, hash(2), base.Add(24*time.Hour), tacit.SessionPasskey)
	// How each was made is kept; a session that does not say (one made
	// before sessions recorded it) is a password-only one.
	plain := tacit.Session{AccountID: a.ID, TokenHash: hash(90), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateSession(ctx, &plain) })
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.SessionByToken(ctx, plain.TokenHash)
		if err == nil && got.Method != tacit.SessionPassword {
			t.Errorf("a session made without a method reads back as %q, want %q", got.Method, tacit.SessionPassword)
		}
		return err
	})
	update(t, s, func(tx tacit.Tx) error { return tx.DeleteSession(ctx, plain.TokenHash) })
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.SessionByToken(ctx, se.TokenHash)
		if err != nil {
			return err
		}
		equal(t, "SessionByToken", utcSession(got), se)
		_, err = tx.SessionByToken(ctx, hash(3))
		wantErr(t, "SessionByToken(unknown)", err, tacit.ErrNotFound)
		return nil
	})

	seen := base.Add(90 * time.Minute)
	update(t, s, func(tx tacit.Tx) error { return tx.TouchSession(ctx, se.ID, seen) })
	se.LastSeenAt = seen
	err := s.Update(ctx, func(tx tacit.Tx) error { return tx.TouchSession(ctx, other.ID+1000, seen) })
	wantErr(t, "TouchSession(unknown)", err, tacit.ErrNotFound)
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.SessionByToken(ctx, se.TokenHash)
		if err != nil {
			return err
		}
		equal(t, "session after TouchSession", utcSession(got), se)
		got, err = tx.SessionByToken(ctx, other.TokenHash)
		if err != nil {
			return err
		}
		equal(t, "untouched session", utcSession(got), other)
		return nil
	})

	update(t, s, func(tx tacit.Tx) error {
		if err := tx.DeleteSession(ctx, se.TokenHash); err != nil {
			return err
		}
		// Deleting again, or deleting what never was, is not an error.
		if err := tx.DeleteSession(ctx, se.TokenHash); err != nil {
			return err
		}
		return tx.DeleteSession(ctx, hash(9))
	})
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.SessionByToken(ctx, se.TokenHash)
		wantErr(t, "SessionByToken after DeleteSession", err, tacit.ErrNotFound)
		got, err := tx.SessionByToken(ctx, other.TokenHash)
		if err != nil {
			return err
		}
		equal(t, "other session after DeleteSession", utcSession(got), other)
		return nil
	})
}

// The caller applies idle and absolute expiry, so the store returns
// sessions past their ExpiresAt.
func testSessionExpiredStillFound(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	se := createSession(t, s, a.ID, hash(1), base.Add(-time.Hour))
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.SessionByToken(ctx, se.TokenHash)
		if err != nil {
			return err
		}
		equal(t, "expired session", utcSession(got), se)
		return nil
	})
}

func testSessionUnknownAccount(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	se := tacit.Session{AccountID: a.ID + 1000, TokenHash: hash(1), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	err := s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateSession(ctx, &se) })
	if err == nil {
		t.Fatal("CreateSession for a missing account succeeded")
	}
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.SessionByToken(ctx, se.TokenHash)
		wantErr(t, "SessionByToken after refused CreateSession", err, tacit.ErrNotFound)
		return nil
	})
}

// sessionAt creates a session for accountID created at created.
func sessionAt(t *testing.T, s tacit.Store, accountID int64, h []byte, created time.Time) tacit.Session {
	t.Helper()
	se := tacit.Session{AccountID: accountID, TokenHash: h, CreatedAt: created, LastSeenAt: created,
		ExpiresAt: created.Add(24 * time.Hour), UserAgent: "curl/8", IP: "2001:db8::1", Method: tacit.SessionPassword}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateSession(context.Background(), &se) })
	return se
}

// sessionsOf lists an account's sessions in a View, in UTC.
func sessionsOf(t *testing.T, s tacit.Store, accountID int64) []tacit.Session {
	t.Helper()
	var list []tacit.Session
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.SessionsByAccount(context.Background(), accountID)
		for _, se := range got {
			list = append(list, utcSession(se))
		}
		return err
	})
	return list
}

func testSessionsByAccount(t *testing.T, s tacit.Store) {
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	// Inserted out of order: newest is decided by CreatedAt, then by ID.
	middle := sessionAt(t, s, a.ID, hash(1), base.Add(time.Minute))
	newest := sessionAt(t, s, a.ID, hash(2), base.Add(time.Hour))
	oldest := sessionAt(t, s, a.ID, hash(3), base)
	twin := sessionAt(t, s, a.ID, hash(4), base.Add(time.Minute))
	// Expired sessions are listed too: the caller applies expiry. This one
	// shares oldest's CreatedAt, and its higher ID puts it first.
	expired := createSession(t, s, a.ID, hash(5), base.Add(-time.Hour))
	bobs := sessionAt(t, s, b.ID, hash(6), base.Add(2*time.Hour))
	equal(t, "SessionsByAccount", sessionsOf(t, s, a.ID),
		[]tacit.Session{newest, twin, middle, expired, oldest})
	equal(t, "other account's sessions", sessionsOf(t, s, b.ID), []tacit.Session{bobs})
	equal(t, "sessions of an account without any", len(sessionsOf(t, s, b.ID+1000)), 0)
}

func testDeleteAccountSession(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	keep := sessionAt(t, s, a.ID, hash(1), base)
	gone := sessionAt(t, s, a.ID, hash(2), base.Add(time.Minute))
	bobs := sessionAt(t, s, b.ID, hash(3), base)

	// Naming another account's session revokes nothing.
	err := s.Update(ctx, func(tx tacit.Tx) error { return tx.DeleteAccountSession(ctx, a.ID, bobs.ID) })
	wantErr(t, "DeleteAccountSession of another account's session", err, tacit.ErrNotFound)
	equal(t, "other account's sessions after refused delete", sessionsOf(t, s, b.ID), []tacit.Session{bobs})

	update(t, s, func(tx tacit.Tx) error { return tx.DeleteAccountSession(ctx, a.ID, gone.ID) })
	err = s.Update(ctx, func(tx tacit.Tx) error { return tx.DeleteAccountSession(ctx, a.ID, gone.ID) })
	wantErr(t, "DeleteAccountSession twice", err, tacit.ErrNotFound)
	equal(t, "sessions after DeleteAccountSession", sessionsOf(t, s, a.ID), []tacit.Session{keep})
	equal(t, "other account's sessions", sessionsOf(t, s, b.ID), []tacit.Session{bobs})
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.SessionByToken(ctx, gone.TokenHash)
		wantErr(t, "SessionByToken after DeleteAccountSession", err, tacit.ErrNotFound)
		return nil
	})
}

func testDeleteSessions(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	var mine []tacit.Session
	for i := range 4 {
		mine = append(mine, sessionAt(t, s, a.ID, hash(byte(i)), base.Add(time.Duration(i)*time.Minute)))
	}
	bobs := sessionAt(t, s, b.ID, hash(9), base)
	current := mine[1]

	// "Sign out everywhere else" keeps the current session.
	update(t, s, func(tx tacit.Tx) error { return tx.DeleteSessions(ctx, a.ID, current.ID) })
	equal(t, "sessions after DeleteSessions(except current)", sessionsOf(t, s, a.ID), []tacit.Session{current})
	// An except that is another account's session keeps none of this one's.
	sessionAt(t, s, a.ID, hash(10), base)
	update(t, s, func(tx tacit.Tx) error { return tx.DeleteSessions(ctx, a.ID, bobs.ID) })
	equal(t, "sessions after DeleteSessions(except another's)", len(sessionsOf(t, s, a.ID)), 0)
	equal(t, "other account's sessions", sessionsOf(t, s, b.ID), []tacit.Session{bobs})

	sessionAt(t, s, a.ID, hash(11), base)
	update(t, s, func(tx tacit.Tx) error {
		if err := tx.DeleteSessions(ctx, a.ID, 0); err != nil {
			return err
		}
		// Nothing left to delete is not an error.
		return tx.DeleteSessions(ctx, a.ID, 0)
	})
	equal(t, "sessions after DeleteSessions(except 0)", len(sessionsOf(t, s, a.ID)), 0)
	equal(t, "other account's sessions after DeleteSessions(0)", sessionsOf(t, s, b.ID), []tacit.Session{bobs})
}

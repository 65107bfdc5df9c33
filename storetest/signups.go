package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

func createSignup(t *testing.T, s tacit.Store, email string, h []byte, created, expires time.Time) tacit.Signup {
	t.Helper()
	su := tacit.Signup{Email: email, TokenHash: h, CreatedAt: created, ExpiresAt: expires}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateSignup(context.Background(), &su) })
	if su.ID == 0 {
		t.Fatal("CreateSignup did not set ID")
	}
	return su
}

func testSignupByToken(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	// Full-form mode stores a password hash; email-first mode stores none.
	full := tacit.Signup{Email: "ada@example.com", TokenHash: hash(1), PasswordHash: "$argon2id$p",
		CreatedAt: base, ExpiresAt: base.Add(30 * time.Minute)}
	emailFirst := createSignup(t, s, "bob@example.com", hash(2), base, base.Add(time.Hour))
	update(t, s, func(tx tacit.Tx) error { return tx.CreateSignup(ctx, &full) })
	if full.ID == emailFirst.ID {
		t.Fatalf("two sign-ups share ID %d", full.ID)
	}
	view(t, s, func(tx tacit.Tx) error {
		for _, want := range []tacit.Signup{full, emailFirst} {
			got, err := tx.SignupByToken(ctx, want.TokenHash, base.Add(time.Minute))
			if err != nil {
				return err
			}
			equal(t, "SignupByToken", utcSignup(got), want)
		}
		_, err := tx.SignupByToken(ctx, hash(3), base)
		wantErr(t, "SignupByToken(unknown hash)", err, tacit.ErrNotFound)
		return nil
	})
}

func testSignupByTokenExpiry(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	expires := base.Add(30 * time.Minute)
	su := createSignup(t, s, "ada@example.com", hash(1), base, expires)
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.SignupByToken(ctx, su.TokenHash, expires.Add(-time.Microsecond))
		if err != nil {
			return err
		}
		equal(t, "SignupByToken just before expiry", utcSignup(got), su)
		for _, now := range []time.Time{expires, expires.Add(time.Microsecond), expires.Add(time.Hour)} {
			_, err := tx.SignupByToken(ctx, su.TokenHash, now)
			wantErr(t, "SignupByToken at "+now.Sub(expires).String()+" past expiry", err, tacit.ErrNotFound)
		}
		return nil
	})
}

func testLatestSignup(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	// Inserted out of order: newest is decided by CreatedAt, not by ID.
	middle := createSignup(t, s, "ada@example.com", hash(1), base.Add(time.Minute), base.Add(time.Hour))
	newest := createSignup(t, s, "ada@example.com", hash(2), base.Add(2*time.Minute), base.Add(10*time.Minute))
	createSignup(t, s, "ada@example.com", hash(3), base, base.Add(2*time.Hour))
	createSignup(t, s, "bob@example.com", hash(4), base.Add(time.Hour), base.Add(3*time.Hour))
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.LatestSignup(ctx, "ada@example.com", base.Add(5*time.Minute))
		if err != nil {
			return err
		}
		equal(t, "LatestSignup", utcSignup(got), newest)
		// Once the newest has expired the next newest unexpired one wins.
		got, err = tx.LatestSignup(ctx, "ada@example.com", base.Add(10*time.Minute))
		if err != nil {
			return err
		}
		equal(t, "LatestSignup after newest expired", utcSignup(got), middle)
		_, err = tx.LatestSignup(ctx, "ada@example.com", base.Add(2*time.Hour))
		wantErr(t, "LatestSignup with all expired", err, tacit.ErrNotFound)
		_, err = tx.LatestSignup(ctx, "carol@example.com", base)
		wantErr(t, "LatestSignup(unknown address)", err, tacit.ErrNotFound)
		return nil
	})
}

func testPendingSignups(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	// Inserted out of order: newest is decided by CreatedAt, not by ID.
	middle := createSignup(t, s, "ada@example.com", hash(1), base.Add(time.Minute), base.Add(time.Hour))
	newest := createSignup(t, s, "ada@example.com", hash(2), base.Add(2*time.Minute), base.Add(10*time.Minute))
	oldest := createSignup(t, s, "ada@example.com", hash(3), base, base.Add(2*time.Hour))
	createSignup(t, s, "bob@example.com", hash(4), base.Add(time.Hour), base.Add(3*time.Hour))
	list := func(now time.Time, limit int) []tacit.Signup {
		var got []tacit.Signup
		view(t, s, func(tx tacit.Tx) error {
			l, err := tx.PendingSignups(ctx, "ada@example.com", now, limit)
			for _, su := range l {
				got = append(got, utcSignup(su))
			}
			return err
		})
		return got
	}
	equal(t, "PendingSignups", list(base.Add(5*time.Minute), 10), []tacit.Signup{newest, middle, oldest})
	equal(t, "PendingSignups limited", list(base.Add(5*time.Minute), 2), []tacit.Signup{newest, middle})
	equal(t, "PendingSignups after newest expired", list(base.Add(10*time.Minute), 10), []tacit.Signup{middle, oldest})
	if got := list(base.Add(2*time.Hour), 10); len(got) != 0 {
		t.Errorf("PendingSignups with all expired = %+v", got)
	}
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.PendingSignups(ctx, "carol@example.com", base, 10)
		if len(got) != 0 {
			t.Errorf("PendingSignups(unknown address) = %+v", got)
		}
		return err
	})
}

func testDeleteSignups(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	createSignup(t, s, "ada@example.com", hash(1), base, base.Add(time.Hour))
	createSignup(t, s, "ada@example.com", hash(2), base, base.Add(time.Hour))
	bob := createSignup(t, s, "bob@example.com", hash(3), base, base.Add(time.Hour))
	update(t, s, func(tx tacit.Tx) error {
		if err := tx.DeleteSignups(ctx, "ada@example.com"); err != nil {
			return err
		}
		// Deleting where there is nothing is not an error.
		return tx.DeleteSignups(ctx, "nobody@example.com")
	})
	view(t, s, func(tx tacit.Tx) error {
		for _, h := range [][]byte{hash(1), hash(2)} {
			_, err := tx.SignupByToken(ctx, h, base)
			wantErr(t, "SignupByToken after DeleteSignups", err, tacit.ErrNotFound)
		}
		_, err := tx.LatestSignup(ctx, "ada@example.com", base)
		wantErr(t, "LatestSignup after DeleteSignups", err, tacit.ErrNotFound)
		got, err := tx.SignupByToken(ctx, bob.TokenHash, base)
		if err != nil {
			return err
		}
		equal(t, "other address's sign-up", utcSignup(got), bob)
		return nil
	})
}

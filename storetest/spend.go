package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// testTokensSpentOnce: a single-use token (a reset link, an email-change
// link, a sign-up link) submitted several times at once is spent by
// exactly one of the transactions; the others find nothing. Each
// transaction pauses between finding the token and deleting it, as a flow
// does while it hashes a password, until all have found it or 200 ms have
// passed: without the engine's row lock they would all find it.
func testTokensSpentOnce(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	createResetToken(t, s, a, hash(1), base.Add(time.Hour))
	createEmailChange(t, s, a.ID, "ada@example.org", hash(2), base.Add(time.Hour))
	su := tacit.Signup{Email: "bob@example.com", TokenHash: hash(3), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateSignup(ctx, &su) })

	spenders := []struct {
		name  string
		spend func(tx tacit.Tx, pause func()) error
	}{
		{"reset token", func(tx tacit.Tx, pause func()) error {
			r, err := tx.ResetTokenByHash(ctx, hash(1), base)
			if err != nil {
				return err
			}
			pause()
			return tx.DeleteResetTokens(ctx, r.AccountID)
		}},
		{"email change", func(tx tacit.Tx, pause func()) error {
			e, err := tx.EmailChangeByToken(ctx, hash(2), base)
			if err != nil {
				return err
			}
			pause()
			return tx.DeleteEmailChanges(ctx, e.AccountID)
		}},
		{"sign-up", func(tx tacit.Tx, pause func()) error {
			got, err := tx.SignupByToken(ctx, hash(3), base)
			if err != nil {
				return err
			}
			pause()
			return tx.DeleteSignups(ctx, got.Email)
		}},
	}
	const n = 6
	for _, sp := range spenders {
		var spent, missed, found atomic.Int32
		pause := func() {
			found.Add(1)
			for end := time.Now().Add(200 * time.Millisecond); found.Load() < n && time.Now().Before(end); {
				time.Sleep(time.Millisecond)
			}
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				err := s.Update(ctx, func(tx tacit.Tx) error {
					return sp.spend(tx, pause)
				})
				switch {
				case err == nil:
					spent.Add(1)
				case errors.Is(err, tacit.ErrNotFound):
					missed.Add(1)
				default:
					t.Errorf("%s: %v", sp.name, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if spent.Load() != 1 || missed.Load() != n-1 {
			t.Errorf("%s submitted %d times at once: spent %d times, not found %d times; want 1 and %d",
				sp.name, n, spent.Load(), missed.Load(), n-1)
		}
	}
}

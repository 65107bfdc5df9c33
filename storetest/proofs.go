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

// spendProof spends key in its own transaction and returns its error.
func spendProof(s tacit.Store, key []byte, expires time.Time) error {
	return s.Update(context.Background(), func(tx tacit.Tx) error {
		return tx.SpendProof(context.Background(), key, expires)
	})
}

// testSpendProof: a proof of work is accepted once; spending it again,
// even after its expiry until the purge, is ErrConflict; the purge
// forgets it once expired, and not before.
func testSpendProof(t *testing.T, s tacit.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := spendProof(s, hash(1), now.Add(time.Minute)); err != nil {
		t.Fatalf("first spend: %v", err)
	}
	if err := spendProof(s, hash(1), now.Add(time.Minute)); !errors.Is(err, tacit.ErrConflict) {
		t.Fatalf("second spend = %v, want ErrConflict", err)
	}
	if err := spendProof(s, hash(2), now.Add(time.Minute)); err != nil {
		t.Fatalf("another key: %v", err)
	}
	purge(t, s, now, time.Hour)
	if err := spendProof(s, hash(1), now.Add(time.Minute)); !errors.Is(err, tacit.ErrConflict) {
		t.Fatalf("after a purge before expiry = %v, want ErrConflict", err)
	}
	purge(t, s, now.Add(time.Minute), time.Hour)
	if err := spendProof(s, hash(1), now.Add(2*time.Minute)); err != nil {
		t.Fatalf("after the purge of the expired row: %v", err)
	}
}

// testSpendProofConcurrent: one solution sent by many requests at once is
// accepted by exactly one of them.
func testSpendProofConcurrent(t *testing.T, s tacit.Store) {
	const n = 8
	exp := time.Now().Add(time.Minute)
	var ok, conflict atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			switch err := spendProof(s, hash(9), exp); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, tacit.ErrConflict):
				conflict.Add(1)
			default:
				t.Errorf("spend: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || conflict.Load() != n-1 {
		t.Fatalf("accepted %d, refused %d; want 1 and %d", ok.Load(), conflict.Load(), n-1)
	}
}

package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// holdCounter sets key's HoldUntil in its own Update.
func holdCounter(t *testing.T, s tacit.Store, key []byte, until time.Time) {
	t.Helper()
	update(t, s, func(tx tacit.Tx) error { return tx.HoldCounter(context.Background(), key, until) })
}

// HoldUntil round-trips, a hit keeps a live counter's hold, and a restart
// clears it.
func testCounterHold(t *testing.T, s tacit.Store) {
	key := counterKey(1)
	hit(t, s, key, base, time.Hour)
	until := base.Add(15 * time.Minute)
	holdCounter(t, s, key, until)
	got, _ := counter(t, s, key, base)
	equal(t, "HoldUntil after HoldCounter", got.HoldUntil, until)
	got = hit(t, s, key, base.Add(time.Minute), time.Hour)
	equal(t, "HoldUntil after a hit on a live counter", got.HoldUntil.UTC(), until)
	got = hit(t, s, key, base.Add(2*time.Hour), time.Hour)
	equal(t, "HoldUntil after a restart", got.HoldUntil.IsZero(), true)
	// Holding a missing key is not an error and creates nothing.
	holdCounter(t, s, counterKey(2), until)
	if _, ok := counter(t, s, counterKey(2), base); ok {
		t.Fatal("HoldCounter created a counter")
	}
}

// PutCounter writes a counter as given, over an existing one or not.
func testPutCounter(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	want := tacit.Counter{Key: counterKey(1), Count: 7, FirstAt: base, LastAt: base.Add(time.Minute),
		ExpiresAt: base.Add(time.Hour), HoldUntil: base.Add(3 * time.Minute)}
	for range 2 {
		update(t, s, func(tx tacit.Tx) error { return tx.PutCounter(ctx, want) })
		got, _ := counter(t, s, want.Key, base)
		got.HoldUntil = got.HoldUntil.UTC()
		equal(t, "counter after PutCounter", got, want)
		hit(t, s, want.Key, base.Add(2*time.Minute), time.Hour)
	}
}

// The attack, at the storage level: a counter that
// holds its key back (a lock), hit long before a flood of fresh junk
// keys, survives every trim until its hold ends, whatever the cap; the
// junk goes instead. With more holding counters than the cap, all stay.
func testTrimKeepsHolding(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	const keep = 20
	locked := counterKey(-1)
	hit(t, s, locked, base, time.Hour)
	holdCounter(t, s, locked, base.Add(15*time.Minute))
	at := func(i int) time.Time { return base.Add(time.Minute + time.Duration(i)*time.Millisecond) }
	update(t, s, func(tx tacit.Tx) error {
		for i := range 2 * keep {
			if _, err := tx.HitCounter(ctx, counterKey(i), at(i), time.Hour); err != nil {
				return err
			}
		}
		return nil
	})
	now := at(2 * keep)
	equal(t, "counters left by TrimCounters", trim(t, s, now, keep), keep)
	if _, ok := counter(t, s, locked, now); !ok {
		t.Fatal("TrimCounters evicted a counter that holds its key back")
	}
	// The newest junk stays, the oldest went.
	if _, ok := counter(t, s, counterKey(2*keep-1), now); !ok {
		t.Fatal("TrimCounters evicted the newest junk key before older ones")
	}
	if _, ok := counter(t, s, counterKey(0), now); ok {
		t.Fatal("TrimCounters kept the oldest junk key")
	}
	// Even a cap of 0 keeps it while it holds.
	equal(t, "TrimCounters(0) while holding", trim(t, s, now, 0), 1)
	// Once its hold ends it is evictable like any other.
	equal(t, "TrimCounters(0) after the hold", trim(t, s, base.Add(15*time.Minute), 0), 0)

	// More holding counters than the cap: none is evicted, and the count
	// says the table is over it.
	for i := range keep + 5 {
		k := []byte(fmt.Sprintf("holding %d", i))
		hit(t, s, k, now, time.Hour)
		holdCounter(t, s, k, now.Add(time.Minute))
	}
	equal(t, "TrimCounters with more holding than the cap", trim(t, s, now, keep), keep+5)
}

// FailTOTP counts in a row, ClearTOTPFailures ends the row, SaveTOTP
// keeps what it is given, and an account without TOTP is ErrNotFound.
func testTOTPFailures(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	update(t, s, func(tx tacit.Tx) error {
		return tx.SaveTOTP(ctx, tacit.TOTP{AccountID: a.ID, Secret: "JBSWY3DPEHPK3PXP", Enabled: true, CreatedAt: base})
	})
	fail := func() int {
		var n int
		update(t, s, func(tx tacit.Tx) error {
			var err error
			n, err = tx.FailTOTP(ctx, a.ID)
			return err
		})
		return n
	}
	for i := 1; i <= 3; i++ {
		equal(t, "FailTOTP", fail(), i)
	}
	got, _ := totpOf(t, s, a.ID)
	equal(t, "Failures after three FailTOTP", got.Failures, 3)
	err := s.Update(ctx, func(tx tacit.Tx) error { _, err := tx.FailTOTP(ctx, b.ID); return err })
	wantErr(t, "FailTOTP without a TOTP", err, tacit.ErrNotFound)
	update(t, s, func(tx tacit.Tx) error { return tx.ClearTOTPFailures(ctx, a.ID) })
	update(t, s, func(tx tacit.Tx) error { return tx.ClearTOTPFailures(ctx, b.ID) })
	got, _ = totpOf(t, s, a.ID)
	equal(t, "Failures after ClearTOTPFailures", got.Failures, 0)
	equal(t, "FailTOTP after ClearTOTPFailures", fail(), 1)
	got.Failures = 42
	update(t, s, func(tx tacit.Tx) error { return tx.SaveTOTP(ctx, got) })
	got, _ = totpOf(t, s, a.ID)
	equal(t, "Failures after SaveTOTP", got.Failures, 42)
}

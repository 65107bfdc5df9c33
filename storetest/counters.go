package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// hit calls HitCounter in its own Update and returns the counter.
func hit(t *testing.T, s tacit.Store, key []byte, now time.Time, ttl time.Duration) tacit.Counter {
	t.Helper()
	var c tacit.Counter
	update(t, s, func(tx tacit.Tx) error {
		var err error
		c, err = tx.HitCounter(context.Background(), key, now, ttl)
		return err
	})
	return utcCounter(c)
}

// counter reads key's live counter at now; ok is false if there is none.
func counter(t *testing.T, s tacit.Store, key []byte, now time.Time) (c tacit.Counter, ok bool) {
	t.Helper()
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.Counter(context.Background(), key, now)
		if err != nil {
			wantErr(t, fmt.Sprintf("Counter(%q)", key), err, tacit.ErrNotFound)
			return nil
		}
		c, ok = utcCounter(got), true
		return nil
	})
	return c, ok
}

func utcCounter(c tacit.Counter) tacit.Counter {
	c.FirstAt, c.LastAt, c.ExpiresAt, c.HoldUntil = c.FirstAt.UTC(), c.LastAt.UTC(), c.ExpiresAt.UTC(), c.HoldUntil.UTC()
	return c
}

// counterKey is a distinct key for n, shaped like the keyed hashes the
// flows use.
func counterKey(n int) []byte {
	return tacit.HashToken(fmt.Sprintf("counter %d", n))
}

func testCounterHit(t *testing.T, s tacit.Store) {
	const ttl = 15 * time.Minute
	key, other := []byte("k"), []byte("k\x00") // keys are bytes, not C strings
	if _, ok := counter(t, s, key, base); ok {
		t.Fatal("Counter found a key never hit")
	}
	want := tacit.Counter{Key: key, Count: 1, FirstAt: base, LastAt: base, ExpiresAt: base.Add(ttl)}
	equal(t, "first hit", hit(t, s, key, base, ttl), want)
	got, _ := counter(t, s, key, base)
	equal(t, "Counter after first hit", got, want)

	later := base.Add(10 * time.Second)
	want = tacit.Counter{Key: key, Count: 2, FirstAt: base, LastAt: later, ExpiresAt: later.Add(ttl)}
	equal(t, "second hit", hit(t, s, key, later, ttl), want)
	got, _ = counter(t, s, key, later.Add(ttl-time.Microsecond))
	equal(t, "Counter just before expiry", got, want)
	for _, now := range []time.Time{later.Add(ttl), later.Add(ttl + time.Hour)} {
		if _, ok := counter(t, s, key, now); ok {
			t.Fatalf("Counter found a counter %v past expiry", now.Sub(later.Add(ttl)))
		}
	}

	equal(t, "hit on another key", hit(t, s, other, later, time.Minute),
		tacit.Counter{Key: other, Count: 1, FirstAt: later, LastAt: later, ExpiresAt: later.Add(time.Minute)})
	got, _ = counter(t, s, key, later)
	equal(t, "first key after a hit on another", got, want)
}

// A hit at or after expiry starts the counter over.
func testCounterRestart(t *testing.T, s tacit.Store) {
	const ttl = time.Minute
	key := counterKey(1)
	hit(t, s, key, base, ttl)
	second := base.Add(30 * time.Second)
	hit(t, s, key, second, ttl)
	expiry := second.Add(ttl)
	if _, ok := counter(t, s, key, expiry); ok {
		t.Fatal("Counter found a counter at its expiry")
	}
	equal(t, "hit at expiry", hit(t, s, key, expiry, ttl),
		tacit.Counter{Key: key, Count: 1, FirstAt: expiry, LastAt: expiry, ExpiresAt: expiry.Add(ttl)})
	next := expiry.Add(time.Second)
	equal(t, "hit after restart", hit(t, s, key, next, 2*ttl),
		tacit.Counter{Key: key, Count: 2, FirstAt: expiry, LastAt: next, ExpiresAt: next.Add(2 * ttl)})
	much := next.Add(24 * time.Hour)
	equal(t, "hit long after expiry", hit(t, s, key, much, ttl),
		tacit.Counter{Key: key, Count: 1, FirstAt: much, LastAt: much, ExpiresAt: much.Add(ttl)})
}

func testDeleteCounter(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	key, other := counterKey(1), counterKey(2)
	hit(t, s, key, base, time.Hour)
	hit(t, s, key, base, time.Hour)
	kept := hit(t, s, other, base, time.Hour)
	update(t, s, func(tx tacit.Tx) error {
		if err := tx.DeleteCounter(ctx, key); err != nil {
			return err
		}
		// Forgetting a missing key is not an error.
		return tx.DeleteCounter(ctx, counterKey(3))
	})
	if _, ok := counter(t, s, key, base); ok {
		t.Fatal("Counter found a deleted counter")
	}
	got, _ := counter(t, s, other, base)
	equal(t, "other counter after DeleteCounter", got, kept)
	equal(t, "hit after DeleteCounter", hit(t, s, key, base, time.Hour).Count, 1)
}

// Concurrent hits on one key, from two instances on one database, are
// never lost, and no two see the same count.
func testHitCounterConcurrent(t *testing.T, e engine) {
	const goroutines, each = 20, 50
	ctx := context.Background()
	first, second := e.pair(t)
	key := counterKey(1)
	var mu sync.Mutex
	var seen []int
	var wg sync.WaitGroup
	for g := range goroutines {
		s := []tacit.Store{first, second}[g%2]
		wg.Go(func() {
			for range each {
				var c tacit.Counter
				err := s.Update(ctx, func(tx tacit.Tx) error {
					var err error
					c, err = tx.HitCounter(ctx, key, base, time.Hour)
					return err
				})
				if err != nil {
					t.Errorf("HitCounter: %v", err)
					return
				}
				mu.Lock()
				seen = append(seen, c.Count)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	got, _ := counter(t, second, key, base)
	equal(t, "count after concurrent hits", got.Count, goroutines*each)
	slices.Sort(seen)
	for i, n := range seen {
		if n != i+1 {
			t.Fatalf("counts seen by concurrent hits: position %d holds %d, want %d", i, n, i+1)
		}
	}
}

// A burst of requests on a key with no counter yet, from two instances,
// each checked and counted in one Update as the flows throttle: exactly
// limit of them get through. An engine that let a second transaction read
// the counter before the first had counted (without a row lock, or one
// writer at a time) would let every request of the burst read "no
// counter" and pass.
func testCheckThenHit(t *testing.T, e engine) {
	const limit, requests = 5, 40
	ctx := context.Background()
	first, second := e.pair(t)
	key := counterKey(1)
	var mu sync.Mutex
	admitted := 0
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range requests {
		s := []tacit.Store{first, second}[i%2]
		wg.Go(func() {
			<-start
			var ok bool
			err := s.Update(ctx, func(tx tacit.Tx) error {
				c, err := tx.Counter(ctx, key, base)
				if err != nil && !errors.Is(err, tacit.ErrNotFound) {
					return err
				}
				if c.Count >= limit {
					return nil
				}
				// Work between check and hit, as a flow does, widens
				// the window an unserialised store would leave open.
				time.Sleep(time.Millisecond)
				_, err = tx.HitCounter(ctx, key, base, time.Hour)
				ok = err == nil
				return err
			})
			if err != nil {
				t.Errorf("Update: %v", err)
				return
			}
			if ok {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	equal(t, "requests admitted", admitted, limit)
	got, _ := counter(t, first, key, base)
	equal(t, "count", got.Count, limit)
}

// trim calls TrimCounters and fails the test on error.
func trim(t *testing.T, s tacit.Store, now time.Time, keep int) int {
	t.Helper()
	n, err := s.TrimCounters(context.Background(), now, keep)
	if err != nil {
		t.Fatalf("TrimCounters: %v", err)
	}
	return n
}

// A flood of keys is cut down to the cap, keeping the latest-expiring.
func testTrimCounters(t *testing.T, s tacit.Store) {
	const total, keep = 5000, 1000
	ctx := context.Background()
	// Key i is hit at base+i ms, so it expires after every key below it.
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Millisecond) }
	update(t, s, func(tx tacit.Tx) error {
		for i := range total {
			if _, err := tx.HitCounter(ctx, counterKey(i), at(i), time.Hour); err != nil {
				return err
			}
		}
		return nil
	})
	now := at(total)
	equal(t, "counters left by TrimCounters", trim(t, s, now, keep), keep)
	view(t, s, func(tx tacit.Tx) error {
		for i := range total {
			_, err := tx.Counter(ctx, counterKey(i), now)
			if i >= total-keep && err != nil {
				t.Fatalf("counter %d, among the latest-expiring, after TrimCounters: %v", i, err)
			}
			if i < total-keep {
				wantErr(t, fmt.Sprintf("counter %d, among the soonest-expiring, after TrimCounters", i), err, tacit.ErrNotFound)
			}
		}
		return nil
	})
	equal(t, "TrimCounters under the cap", trim(t, s, now, keep), keep)
	equal(t, "TrimCounters to a higher cap", trim(t, s, now, 2*keep), keep)
}

// Expired counters go first and do not count toward the cap.
func testTrimCountersExpired(t *testing.T, s tacit.Store) {
	// Counters 0-2 have expired at base (2 exactly at base); 3-7 expire
	// later, in order.
	expiry := func(i int) time.Time { return base.Add(time.Duration(i-2) * time.Minute) }
	var live [][]byte
	for i := range 8 {
		hit(t, s, counterKey(i), expiry(i).Add(-time.Hour), time.Hour)
		if i >= 3 {
			live = append(live, counterKey(i))
		}
	}
	// remaining lists the keys still stored, expired or not, by looking
	// them up at a time before any expired.
	remaining := func() [][]byte {
		var keys [][]byte
		for i := range 8 {
			if _, ok := counter(t, s, counterKey(i), base.Add(-time.Hour)); ok {
				keys = append(keys, counterKey(i))
			}
		}
		return keys
	}
	equal(t, "TrimCounters above the live count", trim(t, s, base, 10), 5)
	equal(t, "counters after TrimCounters(10)", remaining(), live)
	equal(t, "TrimCounters at the live count", trim(t, s, base, 5), 5)
	equal(t, "TrimCounters(2)", trim(t, s, base, 2), 2)
	equal(t, "counters after TrimCounters(2)", remaining(), live[3:])
	equal(t, "TrimCounters(0)", trim(t, s, base, 0), 0)
	equal(t, "counters after TrimCounters(0)", len(remaining()), 0)
	if _, err := s.TrimCounters(context.Background(), base, -1); err == nil {
		t.Fatal("TrimCounters with a negative max succeeded")
	}
}

package flow

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// verify checks password against an account's stored hash so that a wrong
// password costs, seen from outside, what one for an unknown address costs:
// a verification with the live parameters (of the dummy hash).
//
// A hash made with other parameters (before the operator changed them, or
// imported) verifies in another time. When it is cheaper, verify sleeps
// until the time a live verification takes has passed, right password or
// not (a disabled account answers a right password with the generic
// failure too); a right password on a live account then has its hash
// remade with the live parameters, once. A costlier hash cannot be verified
// faster: the envelope must cover it (MeasureEnvelopeFor).
func (s *Service) verify(ctx context.Context, password, stored string) (bool, error) {
	start := time.Now()
	ok, err := s.hasher.Verify(password, stored)
	took := time.Since(start)
	if err != nil {
		return false, err
	}
	if !s.hasher.NeedsRehash(stored) {
		s.liveTimes.add(took)
		s.hashServed(took)
		return ok, nil
	}
	live := s.liveTimes.pick()
	// Recalibration hears of a live time, as for any other sign-in: its
	// inputs must not tell which accounts have hashes of other costs.
	s.hashServed(live)
	if d := live - took; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return ok, nil
}

// hashServed gives recalibration the hash time of one verification.
func (s *Service) hashServed(took time.Duration) {
	if s.calib != nil && took > 0 {
		s.calib.addServed(time.Now(), took)
	}
}

// recentTimes keeps the last few times a verification with the live
// parameters took. A cheaper hash is padded to one of them picked at
// random, so padded answers have the spread of real ones, load included;
// padding to an average instead would be slower than most real ones,
// since load only ever adds time.
type recentTimes struct {
	mu    sync.Mutex
	times [32]time.Duration
	n     int // how many are filled
	next  int // where the next one goes
}

func (r *recentTimes) add(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.times[r.next] = d
	r.next = (r.next + 1) % len(r.times)
	r.n = min(r.n+1, len(r.times))
}

// pick returns one of the recent times at random, or 0 if there is none.
func (r *recentTimes) pick() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return 0
	}
	return r.times[rand.IntN(r.n)]
}

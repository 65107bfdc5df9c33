package flow

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const ms = time.Millisecond

// run steps c once a tick from *now for n ticks, calling each (if not
// nil) before each step, and returns the envelope after every step. It
// fails the test if a step moves the envelope by more than its bounds or
// past the ceiling.
func run(t *testing.T, c *calibrator, now *time.Time, n int, each func(i int)) []time.Duration {
	t.Helper()
	var out []time.Duration
	prev := c.cur
	for i := range n {
		if each != nil {
			each(i)
		}
		e := c.step(*now)
		if e > prev+prev/riseStep || e < prev-prev/fallStep {
			t.Fatalf("tick %d: envelope jumped from %v to %v", i, prev, e)
		}
		if e > c.ceiling {
			t.Fatalf("tick %d: envelope %v past the ceiling %v", i, e, c.ceiling)
		}
		out = append(out, e)
		prev = e
		*now = now.Add(calibrationTick)
	}
	return out
}

// A start-up on a busy machine measured 62.5 ms; the hashes timed later,
// most on an idle machine, bring the envelope down to just above the
// idle hash, in small steps and never below it.
func TestCalibratorCorrectsBusyStart(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCalibrator(62500 * time.Microsecond)
	r := rand.New(rand.NewPCG(1, 2))
	hash := func(int) {
		d := 30 * ms
		if r.IntN(3) == 0 { // a third still slowed by load
			d += time.Duration(r.IntN(40)) * ms
		}
		c.addHash(d)
	}
	es := run(t, c, &now, 200, hash)
	want := envelopeOver(30 * ms) // 37.75 ms
	if got := es[len(es)-1]; got != want {
		t.Fatalf("envelope after 100 s: %v, want %v", got, want)
	}
	if slices.Min(es) < want {
		t.Fatalf("envelope went down to %v, below %v", slices.Min(es), want)
	}
	if es[0] != 62500*time.Microsecond {
		t.Fatalf("envelope moved before enough hashes were timed: %v", es[0])
	}
	t.Logf("62.5 ms → %v after 10 s, %v after 30 s", es[19], es[59])
}

// Load makes the sign-ins' hashes, and so the flows' own work, longer
// than the envelope: it rises above their tail within seconds, so that
// overruns become rare, and no higher than the ceiling.
func TestCalibratorRisesAboveServedTail(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCalibrator(envelopeOver(30 * ms))
	for range hashWindow {
		c.addHash(30 * ms)
	}
	r := rand.New(rand.NewPCG(3, 4))
	hash := func() time.Duration { return 50*ms + time.Duration(r.IntN(20000))*time.Microsecond } // 50-70 ms
	es := run(t, c, &now, 40, func(int) {
		for range 10 {
			c.addServed(now, hash())
		}
	})
	// Their work: the hash and up to 2 ms of queries.
	work := func() time.Duration { return hash() + time.Duration(r.IntN(2000))*time.Microsecond }
	if got := es[len(es)-1]; got < 69*ms+servedHeadroom || got > 70*ms+servedHeadroom {
		t.Fatalf("envelope under 50-70 ms hashes: %v, want their 99th percentile (69-70 ms) + %v", got, servedHeadroom)
	}
	i := slices.IndexFunc(es, func(e time.Duration) bool { return e >= 72*ms })
	t.Logf("above the work's tail after %v", time.Duration(i+1)*calibrationTick)
	overruns := 0
	for range 1000 {
		if work() > es[len(es)-1] {
			overruns++
		}
	}
	if overruns > 10 {
		t.Fatalf("%d of 1000 requests overrun the recalibrated envelope", overruns)
	}

	// Far more load than the envelope may cover: it stops at the ceiling.
	es = run(t, c, &now, 40, func(int) {
		for range 10 {
			c.addServed(now, time.Second)
		}
	})
	if got := es[len(es)-1]; got != c.ceiling {
		t.Fatalf("envelope under 1 s hashes: %v, want the ceiling %v", got, c.ceiling)
	}
}

// After a burst of load, an idle service returns to the idle hash: the
// burst's work times age out.
func TestCalibratorForgetsOldWork(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCalibrator(envelopeOver(30 * ms))
	for range hashWindow {
		c.addHash(30 * ms)
	}
	for range 100 {
		c.addServed(now, 90*ms)
	}
	es := run(t, c, &now, 20, nil)
	if es[len(es)-1] < 90*ms {
		t.Fatalf("envelope %v under a 90 ms hash tail", es[len(es)-1])
	}
	now = now.Add(servedMaxAge)
	es = run(t, c, &now, 200, nil)
	if got, want := es[len(es)-1], envelopeOver(30*ms); got != want {
		t.Fatalf("envelope %v five minutes after the burst, want %v", got, want)
	}
}

// Nothing timed yet: the envelope stays where it started.
func TestCalibratorKeepsStartWithoutSamples(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCalibrator(40 * ms)
	c.addHash(10 * ms) // fewer than minHashSamples
	for range minServed - 1 {
		c.addServed(now, ms)
	}
	for _, e := range run(t, c, &now, 10, nil) {
		if e != 40*ms {
			t.Fatalf("envelope moved to %v on too few samples", e)
		}
	}
}

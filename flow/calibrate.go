package flow

import (
	"context"
	"slices"
	"sync"
	"time"
)

// An envelope measured once at start-up is only as good as that moment:
// a machine busy then keeps a long envelope for the whole run, and one
// that slows later (other jobs, a neighbour on the host) has the flows'
// own work overrun it, which shows the work's time. With
// Config.RecalibrateEnvelope the service keeps measuring while it runs
// (RecalibrateEnvelope) and pace reads the live value.
//
// Its inputs are hash times only, never a request's whole work: a
// registered address's sign-in may do a few microseconds more work than
// an unknown one's (a cache hit, an index page), and a tail read from
// such times would move, at some boundary, with which addresses were
// asked. Hash times are alike for every address:
//
//   - synthetic hashes the service times itself, often after start-up
//     and then every lastSampleEvery, with the live parameters and each
//     stored parameter set (Config.EnvelopeSamples): their low percentile
//     is the idle hash time, and the envelope sits just above it
//     (envelopeOver);
//   - the verification every sign-in makes, whatever its address: of
//     the account's hash or of the dummy hash, both with the live
//     parameters; a hash stored with other parameters gives a recent live
//     time instead, the one verify pads it to (see verify). Their tail
//     is the hash under the load of the moment, and the envelope is kept
//     above it, with room for the queries around the hash, so that the
//     flows' own work rarely overruns it.
//
// The envelope moves towards that target in bounded steps, quickly up
// (a longer wait only costs time) and slowly down (a short dip under
// load would turn into overruns), and never past a ceiling the HTTP
// timeouts are sized for (EnvelopeCeiling). It is one value for the whole
// service at any moment, read atomically by every request alike.

const (
	// calibrationTick is how often the envelope moves towards its target.
	calibrationTick = 500 * time.Millisecond
	// firstSampleEvery is the pause between synthetic hashes after
	// start-up; it grows by a quarter after each up to lastSampleEvery,
	// so the first minute gathers a few dozen samples (a start-up that
	// happened on a busy machine is corrected within it) and later ones
	// cost a hash every half minute.
	firstSampleEvery = 250 * time.Millisecond
	lastSampleEvery  = 30 * time.Second

	// hashWindow is how many synthetic hash times are kept; the target
	// reads their tenth percentile once minHashSamples have been taken.
	hashWindow     = 64
	minHashSamples = 8

	// servedWindow is how many recent sign-ins' hash times are kept, for
	// servedMaxAge at most: after a burst, an idle service returns to the
	// idle hash. Their tail (99th percentile) counts once minServed are
	// there.
	servedWindow = 256
	servedMaxAge = 5 * time.Minute
	minServed    = 32
	// servedHeadroom is kept above that tail for the few small queries
	// around the hash and the scheduler, as envelopeOver does.
	servedHeadroom = 4 * time.Millisecond

	// riseStep and fallStep bound one tick's move, as a fraction of the
	// envelope: up by an eighth (about a quarter a second), down by a
	// sixty-fourth (about 3% a second).
	riseStep = 8
	fallStep = 64
	// ceilingFactor bounds the envelope to this multiple of its start
	// value (EnvelopeCeiling).
	ceilingFactor = 4
)

// EnvelopeCeiling returns the most a recalibrated envelope that started
// at start can grow to. A server sizes its request and write timeouts to
// cover it: a request cut off before its envelope ends would answer early.
func EnvelopeCeiling(start time.Duration) time.Duration { return ceilingFactor * start }

// calibrator holds what recalibration has observed and where the envelope
// stands. It does no timing itself: the times and the clock are given, so
// tests drive it deterministically.
type calibrator struct {
	mu      sync.Mutex
	ceiling time.Duration
	cur     time.Duration
	hashes  ring[time.Duration] // synthetic
	served  ring[servedHash]    // of sign-ins
}

type servedHash struct {
	at   time.Time
	took time.Duration
}

func newCalibrator(start time.Duration) *calibrator {
	return &calibrator{
		ceiling: EnvelopeCeiling(start),
		cur:     start,
		hashes:  ring[time.Duration]{buf: make([]time.Duration, hashWindow)},
		served:  ring[servedHash]{buf: make([]servedHash, servedWindow)},
	}
}

// addHash records the time of one synthetic hash (the slowest of the
// parameter sets timed together).
func (c *calibrator) addHash(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hashes.add(d)
}

// addServed records the hash time of one sign-in, ended at now.
func (c *calibrator) addServed(now time.Time, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.served.add(servedHash{now, d})
}

// target returns where the envelope should be at now, and false if
// nothing has been observed enough to say.
func (c *calibrator) target(now time.Time) (time.Duration, bool) {
	var t time.Duration
	if hs := c.hashes.items(); len(hs) >= minHashSamples {
		slices.Sort(hs)
		t = envelopeOver(hs[len(hs)/10])
	}
	var recent []time.Duration
	for _, h := range c.served.items() {
		if now.Sub(h.at) <= servedMaxAge {
			recent = append(recent, h.took)
		}
	}
	if len(recent) >= minServed {
		slices.Sort(recent)
		t = max(t, recent[len(recent)*99/100]+servedHeadroom)
	}
	return min(t, c.ceiling), t > 0
}

// step moves the envelope one tick towards its target and returns it.
func (c *calibrator) step(now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.target(now)
	switch {
	case !ok:
	case t > c.cur:
		c.cur += min(t-c.cur, max(c.cur/riseStep, time.Microsecond))
	case t < c.cur:
		c.cur -= min(c.cur-t, max(c.cur/fallStep, time.Microsecond))
	}
	return c.cur
}

// ring keeps the last len(buf) values added.
type ring[T any] struct {
	buf  []T
	n    int // how many are filled
	next int // where the next one goes
}

func (r *ring[T]) add(v T) {
	r.buf[r.next] = v
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

// items returns a copy of the values kept, in no particular order.
func (r *ring[T]) items() []T { return slices.Clone(r.buf[:r.n]) }

// Envelope returns the envelope in force now.
func (s *Service) Envelope() time.Duration { return time.Duration(s.envelope.Load()) }

// RecalibrateEnvelope keeps the envelope measured until ctx is done, if
// Config.RecalibrateEnvelope is set; otherwise it returns at once. Call
// it once, in its own goroutine, for as long as the service serves
// (web.Instance.Run does). See calibrator for how the envelope moves.
func (s *Service) RecalibrateEnvelope(ctx context.Context) {
	if s.calib == nil {
		return
	}
	tick := time.NewTicker(calibrationTick)
	defer tick.Stop()
	every, next := firstSampleEvery, time.Now()
	logged := s.Envelope()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if now := time.Now(); !now.Before(next) {
			s.calib.addHash(s.timeHash())
			every = min(every+every/4, lastSampleEvery)
			next = time.Now().Add(every)
		}
		e := s.calib.step(time.Now())
		s.envelope.Store(int64(e))
		if (e - logged).Abs() >= time.Millisecond {
			if l := s.overruns.log.Load(); l != nil {
				l.Debug("envelope recalibrated", "envelope", e, "was", logged)
			}
			logged = e
		}
	}
}

// timeHash times one hash with the live parameters and a verification of
// each sample stored with other parameters, and returns the slowest, as
// MeasureEnvelopeFor does at start-up.
func (s *Service) timeHash() time.Duration {
	start := time.Now()
	s.hasher.Hash("envelope calibration")
	slowest := time.Since(start)
	for _, enc := range s.cfg.EnvelopeSamples {
		start := time.Now()
		s.hasher.Verify("envelope calibration", enc)
		slowest = max(slowest, time.Since(start))
	}
	return slowest
}

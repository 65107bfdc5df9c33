package flow

import (
	"context"
	"sort"
	"time"

	"github.com/tacitauth/tacit"
)

// pace sleeps until the envelope has passed since start. Flows that look up
// an address defer it first thing, so every branch answers at the same
// earliest moment; sleeping costs no CPU. A cancelled request stops waiting.
//
// A plain sleep does not end at a moment of its own: an idle Go program
// waits for its next timer in epoll, whose timeout is in whole
// milliseconds, so the sleep ends up to a millisecond late by an amount
// set by when the process last went idle, that is by how long the work
// before or beside the sleep took (a worker rendering a real mail, one
// more query). So pace sleeps on a timer only until paceMargin before the
// end, and the rest in a sleep of nanosecond precision (fineSleep) that
// starts from wherever the timer left it.
func (s *Service) pace(ctx context.Context, start time.Time) {
	end := start.Add(s.cfg.Envelope)
	if d := time.Until(end) - paceMargin; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
	fineSleep(end)
}

// paceMargin is how long before the envelope's end pace leaves its timer:
// more than the millisecond by which the timer may overshoot, plus the
// kernel's timer slack.
const paceMargin = 2 * time.Millisecond

// MeasureEnvelope times a few hashes with h and returns a default envelope:
// three times the median hash time plus 20 ms. A sensitive flow's normal
// work is one hash and a few small queries, so the floor sits well above it
// and residual differences vanish under it, while the machine can still
// spend the slept time on other requests.
func MeasureEnvelope(h tacit.Hasher) time.Duration {
	return MeasureEnvelopeFor(h, nil)
}

// MeasureEnvelopeFor is MeasureEnvelope for a store that also holds hashes
// made with other parameters, one sample encoded hash per parameter set
// (see the engines' HashSamples): the envelope is sized from the slowest
// of the live hash and a verification of each sample. A wrong password for
// an account with a cheaper hash is padded to the live time by the flows,
// but one with a costlier hash cannot verify faster than its cost, so only
// an envelope that covers the costliest stored hash hides it.
func MeasureEnvelopeFor(h tacit.Hasher, samples []string) time.Duration {
	const n = 5
	slowest := medianTime(n, func() { h.Hash("envelope calibration") })
	for _, enc := range samples {
		if !h.NeedsRehash(enc) {
			continue
		}
		d := medianTime(n, func() { h.Verify("envelope calibration", enc) })
		slowest = max(slowest, d)
	}
	return 3*slowest + 20*time.Millisecond
}

// medianTime runs f n times and returns the median time it took.
func medianTime(n int, f func()) time.Duration {
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		f()
		times[i] = time.Since(start)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[n/2]
}

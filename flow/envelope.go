package flow

import (
	"context"
	"slices"
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
//
// The envelope is read once, when the request starts waiting: every
// request, whatever its address, reads the value in force at that moment.
func (s *Service) pace(ctx context.Context, start time.Time) {
	end := start.Add(s.Envelope())
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

// MeasureEnvelope times the hash with h many times and returns a default
// envelope: the hash's idle time, an eighth of it more, and 4 ms (see
// envelopeOver). A sensitive flow's own work is one hash and a few small
// queries, so the floor sits just above it: residual differences between
// branches vanish under it while a person waits little more than the hash.
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
	slowest := lowTime(calibrationRuns, time.Now, func() { h.Hash("envelope calibration") })
	for _, enc := range samples {
		if !h.NeedsRehash(enc) {
			continue
		}
		d := lowTime(calibrationRuns, time.Now, func() { h.Verify("envelope calibration", enc) })
		slowest = max(slowest, d)
	}
	return envelopeOver(slowest)
}

// calibrationRuns is how many times the calibration times each hash. A
// start-up on a busy machine slows most runs; enough of them leaves a few
// that ran undisturbed for the low percentile to find.
const calibrationRuns = 16

// envelopeOver returns the envelope for flows whose costliest step is a
// hash that takes hash on an idle machine: the hash, an eighth of it for
// the spread of its own time under light load, and 4 ms for the few small
// queries around it and the scheduler. An idle sign-in then takes about
// 1.3 hashes at production cost whether the hash takes 17 ms or 35 ms (a
// quarter and 6 ms gave 1.6 hashes on a 17 ms machine; idle, the hash's
// own spread was under 10%, and recalibration raises the envelope over
// the served hashes' tail when load spreads it more). Load lengthens a request past it, alike for every
// branch since they do the same work; what the envelope hides is the few
// microseconds by which branches' queries differ.
func envelopeOver(hash time.Duration) time.Duration {
	return hash + hash/8 + 4*time.Millisecond
}

// lowTime runs f n times and returns the time at the tenth percentile,
// read from now. Load only ever adds time, so the fastest runs are the
// ones that show the idle cost; the tenth percentile rather than the
// fastest run keeps one lucky outlier from deciding.
func lowTime(n int, now func() time.Time, f func()) time.Duration {
	times := make([]time.Duration, n)
	for i := range times {
		start := now()
		f()
		times[i] = now().Sub(start)
	}
	slices.Sort(times)
	return times[n/10]
}

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
func (s *Service) pace(ctx context.Context, start time.Time) {
	d := s.cfg.Envelope - time.Since(start)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// MeasureEnvelope times a few hashes with h and returns a default envelope:
// three times the median hash time plus 20 ms. A sensitive flow's normal
// work is one hash and a few small queries, so the floor sits well above it
// and residual differences vanish under it, while the machine can still
// spend the slept time on other requests.
func MeasureEnvelope(h tacit.Hasher) time.Duration {
	const n = 5
	times := make([]time.Duration, n)
	for i := range times {
		start := time.Now()
		h.Hash("envelope calibration")
		times[i] = time.Since(start)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return 3*times[n/2] + 20*time.Millisecond
}

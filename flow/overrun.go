package flow

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// overruns counts sensitive requests whose own work took longer than the
// envelope, and says where to log them.
type overruns struct {
	n   atomic.Uint64
	log atomic.Pointer[slog.Logger]
}

// workDone is deferred right after pace, so it runs just before pace
// sleeps: it sees the request's own work time. Work past the envelope is
// answered when it ends, so a difference between branches is no longer
// hidden under the envelope: such requests are counted (a residual leak
// risk, and the sign the envelope is too short for this machine's load).
func (s *Service) workDone(start time.Time) {
	work := time.Since(start)
	envelope := s.Envelope()
	if envelope <= 0 || work <= envelope {
		return
	}
	n := s.overruns.n.Add(1)
	if l := s.overruns.log.Load(); l != nil {
		l.Debug("request's own work overran the envelope", "work", work, "envelope", envelope, "overruns", n)
	}
}

// EnvelopeOverruns returns how many sensitive requests so far took longer
// than the envelope by their own work. A few under load are expected; a
// steady count means the envelope is too short for the machine and its
// load, and the timing of those requests is not hidden by it.
func (s *Service) EnvelopeOverruns() uint64 { return s.overruns.n.Load() }

// LogOverruns logs each envelope overrun to l at DEBUG level.
func (s *Service) LogOverruns(l *slog.Logger) { s.overruns.log.Store(l) }

package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// sizeEnvelope returns the envelope in force. Auto measures it from the
// idle hash time (the tenth percentile of many runs, so a busy start-up
// does not inflate it; see flow.MeasureEnvelope) and from a verification of each stored hash made with other
// parameters, so that a wrong password for an account whose hash is
// costlier than the live one (imported, or made before the cost was
// lowered) still answers at the envelope; cheaper ones the flows pad
// themselves. A fixed envelope is kept, with a warning if such a hash
// takes it past the envelope. It also returns those other hashes, which
// an automatic envelope's recalibration keeps timing.
func sizeEnvelope(c Config, db store, hasher tacit.Hasher, log *slog.Logger) (time.Duration, []string, error) {
	samples, err := db.HashSamples(context.Background())
	if err != nil {
		return 0, nil, c.Database.redact(err)
	}
	var other []string
	for _, h := range samples {
		if hasher.NeedsRehash(h) {
			other = append(other, h)
		}
	}
	if c.Envelope == AutoEnvelope {
		envelope := flow.MeasureEnvelopeFor(hasher, other)
		log.Info("envelope measured from the idle hash time", "envelope", envelope, "other_hash_parameters", len(other))
		return envelope, other, nil
	}
	if len(other) > 0 {
		if need := flow.MeasureEnvelopeFor(hasher, other); need > c.Envelope {
			log.Warn("stored password hashes made with other parameters take longer to verify than the envelope covers: "+
				"a wrong password for their accounts answers later than for an unknown address; raise "+c.name("envelope")+
				" or set it to auto", "envelope", c.Envelope, "needed", need)
		}
	}
	return c.Envelope, other, nil
}

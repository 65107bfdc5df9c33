package flow

import (
	"context"
	"time"

	"github.com/tacitauth/tacit"
)

// paced runs one anonymous flow: a request made without a session, whose
// answer, and the time it takes, must not tell whether an address has an
// account (sign-up, resend, sign-in and its second step, reset, the
// mailed links). It answers no earlier than the envelope after it began
// (see pace) and counts a request whose own work overran the envelope
// (see workDone). Each such flow throttles inside flow, in the
// transaction that reads what its rules depend on, so a held-back request
// is paced like any other.
//
// Every exported flow that takes no Identity runs through paced, but for
// an Invalid answer from the input alone, which may come before it, and
// the few methods TestAnonymousFlowsPaced lists with their reasons; that
// test fails for a new one that forgets it. Pacing is kept here, and only
// here, so it does not depend on remembering it at each flow.
func (s *Service) paced(ctx context.Context, flow func() (tacit.Outcome, error)) (tacit.Outcome, error) {
	start := time.Now()
	defer s.pace(ctx, start)
	defer s.workDone(start)
	return flow()
}

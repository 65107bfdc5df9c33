package flow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/pow"
)

// ProofMode says when the anonymous requests a bot would make by the
// thousand (sign-up, resending the link, a forgotten password, sign-in)
// must carry a proof of work: a challenge from ProofChallenge, solved by
// the client (a browser script does it in the background). Whether one
// is needed, and its cost, depend only on the client and the settings,
// never on the address asked about.
type ProofMode string

const (
	// ProofOff never asks for a proof.
	ProofOff ProofMode = "off"
	// ProofOnLimit asks every request from a client whose per-client
	// counter (Limits.RequestsIP for sign-up, resend and reset;
	// Limits.LoginIP for sign-in) has reached its Free count, until the
	// counter's window lets it go.
	ProofOnLimit ProofMode = "on_limit"
	// ProofAlways asks every request.
	ProofAlways ProofMode = "always"
)

// DefaultProofCost is the default maxnumber of a challenge: a client
// hashes half of it on average (docs/BENCHMARKS.md has the times).
const DefaultProofCost = 100_000

// ProofTTL is how long a challenge may be solved and spent. Long enough
// for someone to fill a form in after the page solved it; a spent
// solution is remembered this long, and no longer, to refuse it again.
const ProofTTL = 10 * time.Minute

// ProofChallenge is a challenge as ALTCHA's widget and libraries read it
// (JSON members algorithm, challenge, maxnumber, salt, signature). Its
// solution is sent back as Client.Proof.
type ProofChallenge = pow.Challenge

// ParseProofMode reads a ProofMode setting.
func ParseProofMode(s string) (ProofMode, error) {
	switch m := ProofMode(s); m {
	case ProofOff, ProofOnLimit, ProofAlways:
		return m, nil
	}
	return "", fmt.Errorf("unknown proof-of-work mode %q (want off, on_limit or always)", s)
}

// ProofGate names the requests that share a per-client counter, and so
// a decision about proofs.
type ProofGate string

const (
	// GateRequests: sign-up, resending the link, a forgotten password.
	GateRequests ProofGate = "requests"
	// GateLogin: sign-in with a password.
	GateLogin ProofGate = "login"
)

// ProofChallenge makes a new challenge at the configured cost, signed with
// a key derived from the server secret, so any instance on the database
// verifies what another issued.
func (s *Service) ProofChallenge() (ProofChallenge, error) {
	return pow.New(s.proofKey, int64(s.cfg.ProofCost), s.cfg.Now().Add(ProofTTL))
}

// ProofMode returns the configured mode.
func (s *Service) ProofMode() ProofMode { return s.cfg.Proof }

// ProofNeeded tells whether a request of gate from c must carry a proof
// of work. It reads the client's counter only: the address does not
// enter into it.
func (s *Service) ProofNeeded(ctx context.Context, g ProofGate, c Client) (bool, error) {
	switch s.cfg.Proof {
	case ProofAlways:
		return true, nil
	case ProofOnLimit:
	default:
		return false, nil
	}
	r := rule{name: "requests-ip", limit: s.cfg.Limits.RequestsIP, id: clientKey(c.IP)}
	if g == GateLogin {
		r = rule{name: "login-ip", limit: s.cfg.Limits.LoginIP, id: clientKey(c.IP)}
	}
	if r.limit.Free <= 0 {
		return false, nil
	}
	var need bool
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		ctr, err := tx.Counter(ctx, s.throttleKey(r.name, r.id), s.cfg.Now())
		if errors.Is(err, tacit.ErrNotFound) {
			return nil
		}
		need = err == nil && ctr.Count >= r.limit.Free
		return err
	})
	return need, err
}

// proved runs first in each flow of a gate, before anything is looked up
// or counted: ok is false, with the one ProofRequired answer, when the
// request needs a proof and its Client.Proof is missing, malformed,
// expired, not ours, of a lower cost than asked, wrong or spent before.
// A good proof is spent here, in a transaction of its own, so it serves
// one request on any instance even if the flow then refuses the request.
func (s *Service) proved(ctx context.Context, g ProofGate, c Client) (ok bool, err error) {
	need, err := s.ProofNeeded(ctx, g, c)
	if err != nil || !need {
		return !need, err
	}
	p, err := pow.Parse(c.Proof)
	if err != nil {
		return false, nil
	}
	if pow.Verify(s.proofKey, p, s.cfg.Now()) != nil {
		return false, nil
	}
	// A challenge issued at a lower cost (before the setting was raised,
	// or by an instance asking less) is refused, and not spent.
	if cost, _ := p.Cost(); cost < int64(s.cfg.ProofCost) {
		return false, nil
	}
	exp, _ := p.Expires() // Verify has read it
	err = s.store.Update(ctx, func(tx tacit.Tx) error { return tx.SpendProof(ctx, p.SpentKey(), exp) })
	if errors.Is(err, tacit.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// gated runs flow once the request has passed its gate (see proved).
func (s *Service) gated(ctx context.Context, g ProofGate, c Client, flow func() (tacit.Outcome, error)) (tacit.Outcome, error) {
	ok, err := s.proved(ctx, g, c)
	if err != nil {
		return tacit.Outcome{}, err
	}
	if !ok {
		return tacit.Outcome{Kind: tacit.ProofRequired}, nil
	}
	return flow()
}

package flow

import (
	"context"

	"github.com/tacitauth/tacit"
)

// proved is what a sign-in has proved when it reaches finishSignIn.
type proved int

const (
	// passwordOnly is a first factor: with MFA on, a second step follows.
	passwordOnly proved = iota
	// secondStep is a second step passed after the first: nothing more
	// is asked.
	secondStep
	// passkeySignIn is a passkey sign-in, a factor that stands for both:
	// nothing more is asked.
	passkeySignIn
)

// method is the tacit.SessionMethod a session made after p records.
func (p proved) method() tacit.SessionMethod {
	switch p {
	case secondStep:
		return tacit.SessionSecondStep
	case passkeySignIn:
		return tacit.SessionPasskey
	}
	return tacit.SessionPassword
}

// finishSignIn is the step every sign-in path ends with, in the
// transaction of its last check, once what it proved is enough to go on
// (the password path, the second step, and the paths still to come). With
// MFA on and only a first factor proved, the account gets a second step:
// MFARequired with a challenge for LoginMFA. Otherwise it gets a session:
// SignedIn, with a device token for a, bound to its password (see
// device.go), for the client to keep. The caller then goes on to the page
// the sign-in was for.
func (s *Service) finishSignIn(ctx context.Context, tx tacit.Tx, a tacit.Account, c Client, p proved) (tacit.Outcome, error) {
	now := s.cfg.Now()
	if p == passwordOnly {
		mfa, err := mfaEnabled(ctx, tx, a.ID)
		if err != nil {
			return tacit.Outcome{}, err
		}
		// A passkey is a second step too: once added, the password alone
		// no longer signs in.
		pk, err := s.hasPasskeys(ctx, tx, a.ID)
		if err != nil {
			return tacit.Outcome{}, err
		}
		if mfa || pk {
			ch, err := s.startChallenge(ctx, tx, a.ID, now)
			if err != nil {
				return tacit.Outcome{}, err
			}
			return tacit.Outcome{Kind: tacit.MFARequired, Challenge: ch}, nil
		}
	}
	ns, err := s.startSession(ctx, tx, a.ID, c, now, p.method())
	if err != nil {
		return tacit.Outcome{}, err
	}
	if err := s.recordSignIn(ctx, tx, a, c, now); err != nil {
		return tacit.Outcome{}, err
	}
	return tacit.Outcome{Kind: tacit.SignedIn, Session: ns, Device: s.deviceToken(a.Email, tacit.PasswordStamp(a.PasswordHash), c.Device)}, nil
}

package flow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

// RegisterInput is a sign-up request. In EmailFirst mode only Email is read.
type RegisterInput struct {
	Email           string
	Password        string
	PasswordConfirm string
}

// Register starts a sign-up. Every validation runs before, and independent
// of, any existence lookup, so invalid input gets the same field errors for
// every address; all-valid input always gets CheckInbox. A new address is
// mailed a link to finish (EmailFirst) or to confirm (FullForm); an address
// that has an account is mailed "you already have an account".
func (s *Service) Register(ctx context.Context, in RegisterInput, c Client) (tacit.Outcome, error) {
	email, fe := checkEmail(in.Email)
	if s.cfg.Mode == FullForm {
		for k, v := range s.cfg.Policy.Check(in.Password, in.PasswordConfirm) {
			fe[k] = v
		}
	}
	if len(fe) > 0 {
		return tacit.InvalidInput(fe), nil
	}
	return s.paced(ctx, func() (tacit.Outcome, error) {
		return s.gated(ctx, GateRequests, c, func() (tacit.Outcome, error) { return s.register(ctx, email, in, c) })
	})
}

// register runs a valid sign-up request for email (normalised).
func (s *Service) register(ctx context.Context, email string, in RegisterInput, c Client) (tacit.Outcome, error) {
	var pwHash string
	if s.cfg.Mode == FullForm {
		// Hashed in both branches: an existing address must cost the same.
		var err error
		if pwHash, err = s.hasher.Hash(tacit.NormalizePassword(in.Password)); err != nil {
			return tacit.Outcome{}, fmt.Errorf("register: %w", err)
		}
	}
	return s.checkInbox(ctx, "register", s.requestRules("signup", s.cfg.Limits.Signup, email, c), func(tx tacit.Tx, now time.Time) error {
		a, err := tx.AccountByEmail(ctx, email)
		switch {
		case errors.Is(err, tacit.ErrNotFound):
			return s.startSignup(ctx, tx, email, pwHash, now)
		case err != nil:
			return err
		}
		// The address has an account: write the same rows as a new
		// sign-up (a decoy sign-up that is born expired), and tell the
		// owner instead of the requester.
		if err := s.decoySignup(ctx, tx, email, pwHash, now); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, s.alreadyRegistered(a), now)
	})
}

// checkInbox runs the body of a request whose answer must be CheckInbox for
// every address: in one transaction it applies the rules' limits and, if
// they let the request through, runs body, which picks the mail. The
// answer is CheckInbox, or Throttled alike for every address.
func (s *Service) checkInbox(ctx context.Context, op string, rules []rule, body func(tx tacit.Tx, now time.Time) error) (tacit.Outcome, error) {
	var wait time.Duration
	err := s.update(ctx, func(tx tacit.Tx) error {
		now := s.cfg.Now()
		var err error
		wait, _, err = s.admit(ctx, tx, now, rules...)
		if err != nil || wait > 0 {
			return err
		}
		return body(tx, now)
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("%s: %w", op, err)
	}
	if wait > 0 {
		return throttled(wait), nil
	}
	return tacit.Outcome{Kind: tacit.CheckInbox}, nil
}

// requestRules are the limits on requests that send mail to an address:
// per address under its own rule, and per client address across all such
// requests.
func (s *Service) requestRules(name string, l Limit, email string, c Client) []rule {
	return []rule{
		{name: name, limit: l, id: email},
		{name: "requests-ip", limit: s.cfg.Limits.RequestsIP, id: clientKey(c.IP)},
	}
}

// startSignup records a pending sign-up and queues the mail with its link.
// An empty pwHash is an email-first sign-up, finished by choosing a password.
func (s *Service) startSignup(ctx context.Context, tx tacit.Tx, email, pwHash string, now time.Time) error {
	token, th := tacit.NewToken()
	su := tacit.Signup{Email: email, TokenHash: th, PasswordHash: pwHash, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SignupTTL)}
	if err := tx.CreateSignup(ctx, &su); err != nil {
		return err
	}
	m := tacit.Mail{Kind: tacit.MailFinishSignup, To: email, Data: map[string]string{
		"link": s.cfg.Links.CompleteSignup(token), "expires": humanDuration(s.cfg.SignupTTL),
	}}
	if pwHash != "" {
		m.Kind, m.Data["link"] = tacit.MailVerify, s.cfg.Links.Verify(token)
	}
	return s.enqueue(ctx, tx, m, now)
}

// decoySignup writes a sign-up row exactly like startSignup's but already
// expired, with a token nobody receives. Branches that must not start a
// sign-up use it so that they do the same database work as those that do
// (docs/DESIGN.md §3); lookups ignore it and Purge removes it.
func (s *Service) decoySignup(ctx context.Context, tx tacit.Tx, email, pwHash string, now time.Time) error {
	_, th := tacit.NewToken()
	su := tacit.Signup{Email: email, TokenHash: th, PasswordHash: pwHash, CreatedAt: now, ExpiresAt: now}
	return tx.CreateSignup(ctx, &su)
}

// alreadyRegistered is the mail for the owner of an address someone tried to
// sign up with. Disabled accounts get nothing: their owner can do nothing
// with a reset link, and the queued row is still written.
func (s *Service) alreadyRegistered(a tacit.Account) tacit.Mail {
	if a.Disabled {
		return tacit.Mail{Kind: tacit.MailNone, To: a.Email}
	}
	return tacit.Mail{Kind: tacit.MailAlreadyRegistered, To: a.Email, Data: map[string]string{
		"login": s.cfg.Links.Login(),
		"reset": s.cfg.Links.ForgotPassword(),
	}}
}

// ResendVerification mails a fresh link for the newest pending sign-up of
// an address. It always answers CheckInbox (or Invalid for a malformed
// address, whoever it belongs to). An address with an account is told it
// already has one; an unknown address is sent nothing.
func (s *Service) ResendVerification(ctx context.Context, email string, c Client) (tacit.Outcome, error) {
	email, fe := checkEmail(email)
	if len(fe) > 0 {
		return tacit.InvalidInput(fe), nil
	}
	return s.paced(ctx, func() (tacit.Outcome, error) {
		return s.gated(ctx, GateRequests, c, func() (tacit.Outcome, error) { return s.resendVerification(ctx, email, c) })
	})
}

// resendVerification runs a valid resend request for email (normalised).
func (s *Service) resendVerification(ctx context.Context, email string, c Client) (tacit.Outcome, error) {
	return s.checkInbox(ctx, "resend verification", s.requestRules("resend", s.cfg.Limits.Resend, email, c), func(tx tacit.Tx, now time.Time) error {
		a, err := tx.AccountByEmail(ctx, email)
		if err == nil {
			// The same reads as the other branches: the newest sign-up
			// is looked up, and ignored.
			if _, err := tx.LatestSignup(ctx, email, now); err != nil && !errors.Is(err, tacit.ErrNotFound) {
				return err
			}
			if err := s.decoySignup(ctx, tx, email, "", now); err != nil {
				return err
			}
			return s.enqueue(ctx, tx, s.alreadyRegistered(a), now)
		}
		if !errors.Is(err, tacit.ErrNotFound) {
			return err
		}
		su, err := tx.LatestSignup(ctx, email, now)
		switch {
		case errors.Is(err, tacit.ErrNotFound):
			// Nobody asked to sign up with this address: send nothing,
			// but write the rows the other branches write.
			if err := s.decoySignup(ctx, tx, email, "", now); err != nil {
				return err
			}
			return s.enqueue(ctx, tx, tacit.Mail{Kind: tacit.MailNone, To: email}, now)
		case err != nil:
			return err
		}
		return s.startSignup(ctx, tx, email, su.PasswordHash, now)
	})
}

// checkEmail normalises an address and returns its field errors, if any.
func checkEmail(raw string) (string, tacit.FieldErrors) {
	fe := tacit.FieldErrors{}
	email := tacit.NormalizeEmail(raw)
	switch {
	case email == "":
		fe["email"] = tacit.CodeRequired
	case !tacit.ValidEmail(email):
		fe["email"] = tacit.CodeInvalidEmail
	}
	return email, fe
}

// humanDuration writes d for a mail: "24 hours", "30 minutes".
func humanDuration(d time.Duration) string {
	unit, n := "minute", int(d.Round(time.Minute)/time.Minute)
	if n%60 == 0 && n > 0 {
		unit, n = "hour", n/60
		if n%24 == 0 && n > 24 {
			unit, n = "day", n/24
		}
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

package flow

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tacitauth/tacit"
)

// ForgotPassword starts a password reset. It always answers CheckInbox (or
// Invalid for a malformed address, or Throttled, alike for every address).
// An account's owner is mailed a reset link; an address without an account
// gets nothing, or with NotifyUnknown a note that there is no account.
func (s *Service) ForgotPassword(ctx context.Context, email string, c Client) (tacit.Outcome, error) {
	email, fe := checkEmail(email)
	if len(fe) > 0 {
		return tacit.InvalidInput(fe), nil
	}
	return s.paced(ctx, func() (tacit.Outcome, error) {
		return s.gated(ctx, GateRequests, c, func() (tacit.Outcome, error) { return s.forgotPassword(ctx, email, c) })
	})
}

// forgotPassword runs a valid reset request for email (normalised).
func (s *Service) forgotPassword(ctx context.Context, email string, c Client) (tacit.Outcome, error) {
	return s.checkInbox(ctx, "forgot password", s.requestRules("reset", s.cfg.Limits.Reset, email, c), func(tx tacit.Tx, now time.Time) error {
		a, err := tx.AccountByEmail(ctx, email)
		if err != nil && !errors.Is(err, tacit.ErrNotFound) {
			return err
		}
		if err == nil && !a.Disabled {
			return s.startReset(ctx, tx, a, now)
		}
		// No account (or a disabled one): no token to make, so write a
		// decoy row of similar cost, and one outbox row like the other
		// branch.
		if err := s.decoySignup(ctx, tx, email, "", now); err != nil {
			return err
		}
		m := tacit.Mail{Kind: tacit.MailNone, To: email}
		if s.cfg.NotifyUnknown && errors.Is(err, tacit.ErrNotFound) {
			m = tacit.Mail{Kind: tacit.MailResetUnknown, To: email, Data: map[string]string{"register": s.cfg.Links.Register()}}
		}
		return s.enqueue(ctx, tx, m, now)
	})
}

// startReset makes a reset token bound to the account's current password
// and queues the mail with its link, under the mail cap.
func (s *Service) startReset(ctx context.Context, tx tacit.Tx, a tacit.Account, now time.Time) error {
	m, err := resetLink(ctx, tx, s.cfg, a, now)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, tx, m, now)
}

// resetLink stores a reset token for account a, bound to its current
// password, and returns the mail that carries its link; the caller
// queues it (under the mail cap or not).
func resetLink(ctx context.Context, tx tacit.Tx, cfg Config, a tacit.Account, now time.Time) (tacit.Mail, error) {
	token, th := tacit.NewToken()
	r := tacit.ResetToken{
		AccountID: a.ID, TokenHash: th, PasswordStamp: tacit.PasswordStamp(a.PasswordHash),
		CreatedAt: now, ExpiresAt: now.Add(cfg.ResetTTL),
	}
	if err := tx.CreateResetToken(ctx, &r); err != nil {
		return tacit.Mail{}, err
	}
	return tacit.Mail{Kind: tacit.MailResetPassword, To: a.Email, CreatedAt: now, Data: map[string]string{
		"link": cfg.Links.ResetPassword(token), "expires": humanDuration(cfg.ResetTTL),
	}}, nil
}

// ResetInput sets a new password from a reset link.
type ResetInput struct {
	Token           string
	Password        string
	PasswordConfirm string
}

// ResetPassword sets a new password for the account behind a live reset
// token: Done, InvalidToken, Invalid, or Throttled after too many bad tokens
// from one client. It ends every session of the account and every other
// reset token and pending email change, and mails a "password changed"
// notice. It leaves the address's sign-in counter alone (it is what an
// outsider sees); Outcome.Device lets this client sign in past it.
// It does not sign in: the new password does that.
func (s *Service) ResetPassword(ctx context.Context, in ResetInput, c Client) (tacit.Outcome, error) {
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.resetPassword(ctx, in, c) })
}

func (s *Service) resetPassword(ctx context.Context, in ResetInput, c Client) (tacit.Outcome, error) {
	rules := []rule{{name: "reset-submit-ip", limit: s.cfg.Limits.ResetSubmit, id: clientKey(c.IP)}}
	var wait time.Duration
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		cnt, err := tx.Counter(ctx, s.throttleKey(rules[0].name, rules[0].id), s.cfg.Now())
		if err == nil {
			wait = rules[0].limit.wait(cnt, s.cfg.Now())
		} else if !errors.Is(err, tacit.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("reset password: %w", err)
	}
	if wait > 0 {
		return throttled(wait), nil
	}
	if _, err := s.resetTarget(ctx, in.Token); err != nil {
		if errors.Is(err, errTokenSpent) {
			return s.badResetToken(ctx, rules)
		}
		return tacit.Outcome{}, fmt.Errorf("reset password: %w", err)
	}
	if fe := s.cfg.Policy.Check(in.Password, in.PasswordConfirm); len(fe) > 0 {
		return tacit.InvalidInput(fe), nil
	}
	hash, err := s.hasher.Hash(tacit.NormalizePassword(in.Password))
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("reset password: %w", err)
	}
	var email string
	err = s.update(ctx, func(tx tacit.Tx) error {
		a, err := s.resetTargetTx(ctx, tx, in.Token)
		if err != nil {
			return err
		}
		email = a.Email
		if err := tx.DeleteSessions(ctx, a.ID, 0); err != nil {
			return err
		}
		if err := s.record(ctx, tx, a.ID, tacit.EventPasswordReset, c, s.cfg.Now()); err != nil {
			return err
		}
		return s.setPassword(ctx, tx, a, hash)
	})
	if errors.Is(err, errTokenSpent) {
		return s.badResetToken(ctx, rules)
	}
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("reset password: %w", err)
	}
	// The reset leaves the address's sign-in counter as it was (an
	// outsider must not see it change); the device that proved control of
	// the mailbox gets a device token, and signs in past it at once.
	return tacit.Outcome{Kind: tacit.Done, Device: s.deviceToken(email, tacit.PasswordStamp(hash), c.Device)}, nil
}

// badResetToken counts a bad token against the client and answers
// InvalidToken, or Throttled when it cannot be counted because the
// counter table is full (fail closed, see SetCounterTableFull).
func (s *Service) badResetToken(ctx context.Context, rules []rule) (tacit.Outcome, error) {
	var wait time.Duration
	err := s.store.Update(ctx, func(tx tacit.Tx) error {
		var err error
		wait, _, err = s.admit(ctx, tx, s.cfg.Now(), rules...)
		return err
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("reset password: %w", err)
	}
	if wait > 0 {
		return throttled(wait), nil
	}
	return tacit.Outcome{Kind: tacit.InvalidToken}, nil
}

// ResetTokenLive reports whether a reset link still works, so a page can
// say so before asking for a new password.
func (s *Service) ResetTokenLive(ctx context.Context, token string) bool {
	_, err := s.resetTarget(ctx, token)
	return err == nil
}

// ResetAddress returns the address of the account a working reset link is
// for, or "": the page shows it, and fills a hidden username field with it
// so that password managers save the new password for it. Only the link's
// holder, who controls that mailbox, sees it.
func (s *Service) ResetAddress(ctx context.Context, token string) string {
	a, err := s.resetTarget(ctx, token)
	if err != nil {
		return ""
	}
	return a.Email
}

func (s *Service) resetTarget(ctx context.Context, token string) (tacit.Account, error) {
	var a tacit.Account
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		a, err = s.resetTargetTx(ctx, tx, token)
		return err
	})
	return a, err
}

// resetTargetTx returns the account a reset token works for, or
// errTokenSpent if it is malformed, unknown, expired, or made before the
// account's password last changed, or the account is disabled.
func (s *Service) resetTargetTx(ctx context.Context, tx tacit.Tx, token string) (tacit.Account, error) {
	if !tacit.WellFormedToken(token) {
		return tacit.Account{}, errTokenSpent
	}
	r, err := tx.ResetTokenByHash(ctx, tacit.HashToken(token), s.cfg.Now())
	if errors.Is(err, tacit.ErrNotFound) {
		return tacit.Account{}, errTokenSpent
	}
	if err != nil {
		return tacit.Account{}, err
	}
	a, err := tx.AccountByID(ctx, r.AccountID)
	if errors.Is(err, tacit.ErrNotFound) {
		return tacit.Account{}, errTokenSpent
	}
	if err != nil {
		return tacit.Account{}, err
	}
	if a.Disabled || subtle.ConstantTimeCompare(r.PasswordStamp, tacit.PasswordStamp(a.PasswordHash)) != 1 {
		return tacit.Account{}, errTokenSpent
	}
	return a, nil
}

// setPassword stores a new password hash for a, ends its reset tokens,
// pending email changes, its pending second steps and the lock of its
// second step, and tells the owner.
func (s *Service) setPassword(ctx context.Context, tx tacit.Tx, a tacit.Account, hash string) error {
	now := s.cfg.Now()
	if err := tx.UpdatePassword(ctx, a.ID, hash); err != nil {
		return err
	}
	if err := tx.DeleteResetTokens(ctx, a.ID); err != nil {
		return err
	}
	// A changed password is how an owner takes the account back: an
	// email change asked with the old one (perhaps by a thief) dies. The
	// stamp check in ConfirmEmailChange would refuse it anyway; deleting
	// it keeps nothing of the thief's around.
	if err := tx.DeleteEmailChanges(ctx, a.ID); err != nil {
		return err
	}
	// A second step opened with the old password dies with it; MFA
	// itself stays on.
	if err := tx.DeleteMFAChallenges(ctx, a.ID); err != nil {
		return err
	}
	// The second step's long count starts again: its lock lasts until a
	// new password. The address's sign-in counter is not cleared: that
	// would show an outsider that an owner exists.
	if err := tx.ClearTOTPFailures(ctx, a.ID); err != nil {
		return err
	}
	// Passkeys go too (see endPasskeys); the owner adds theirs again.
	removed, err := endPasskeys(ctx, tx, a.ID)
	if err != nil {
		return err
	}
	data := map[string]string{"reset": s.cfg.Links.ForgotPassword(), "passkeys": strconv.Itoa(removed)}
	return s.enqueue(ctx, tx, tacit.Mail{Kind: tacit.MailPasswordChanged, To: a.Email, Data: data}, now)
}

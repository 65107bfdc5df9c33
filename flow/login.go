package flow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

// Login checks an address and password: SignedIn with a new session,
// MFARequired with a challenge for LoginMFA when the account has MFA on
// (only ever after the right password), or InvalidCredentials for every
// failure whatever its cause (unknown address, wrong password, sign-up
// not finished, account disabled), or Throttled
// when the address or the client has failed too often lately. Only empty
// fields get Invalid, which depends on the input alone.
func (s *Service) Login(ctx context.Context, email, password string, c Client) (tacit.Outcome, error) {
	email = tacit.NormalizeEmail(email)
	fe := tacit.FieldErrors{}
	if email == "" {
		fe["email"] = tacit.CodeRequired
	}
	if password == "" {
		fe["password"] = tacit.CodeRequired
	}
	if len(fe) > 0 {
		return tacit.InvalidInput(fe), nil
	}
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.login(ctx, email, password, c) })
}

// login checks a normalised address and a password, both given.
func (s *Service) login(ctx context.Context, email, password string, c Client) (tacit.Outcome, error) {

	// Count the attempt before checking the password, in one transaction
	// with the limit check, so parallel guesses are counted too. A
	// successful sign-in takes its own count back (see passed). The
	// account is read first, whether or not the attempt will be let
	// through: the device rule depends on its password (see device.go).
	var (
		a      tacit.Account
		found  bool
		hash   string
		locked bool
		wait   time.Duration
		ad     admission
		rules  []rule
	)
	err := s.store.Update(ctx, func(tx tacit.Tx) error {
		var err error
		a, err = tx.AccountByEmail(ctx, email)
		found = err == nil
		if err != nil && !errors.Is(err, tacit.ErrNotFound) {
			return err
		}
		// Unknown address: the dummy hash, so this branch costs one full
		// hash with the live parameters, and one stamp, like the other.
		hash = s.signInHash(a, found)
		rules = s.loginRules(email, tacit.PasswordStamp(hash), c)
		wait, locked, ad, err = s.admitFirst(ctx, tx, s.cfg.Now(), rules...)
		return err
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("login: %w", err)
	}
	if wait > 0 {
		return throttled(wait), nil
	}
	ok, err := s.verify(ctx, tacit.NormalizePassword(password), hash)
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("login: verify: %w", err)
	}
	if !ok || !found || a.Disabled {
		if err := s.failedLogin(ctx, email, a, locked); err != nil {
			return tacit.Outcome{}, fmt.Errorf("login: %w", err)
		}
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}

	// The password is right: if its hash was made with other parameters
	// (the operator has since raised the memory or time cost), store it
	// again with the live ones. Only a right password pays for this
	// second hash, and its answer already differs from a failure's.
	rehashed := ""
	if s.hasher.NeedsRehash(a.PasswordHash) {
		if rehashed, err = s.hasher.Hash(tacit.NormalizePassword(password)); err != nil {
			return tacit.Outcome{}, fmt.Errorf("login: rehash: %w", err)
		}
	}

	var ns, challenge *tacit.NewSession
	err = s.update(ctx, func(tx tacit.Tx) error {
		// A password replaced since the check no longer signs in, and a
		// rehash must not write it back.
		if err := unchanged(ctx, tx, a); err != nil {
			return err
		}
		if err := s.passed(ctx, tx, rules[0], ad); err != nil {
			return err
		}
		if rehashed != "" {
			if err := tx.UpdatePassword(ctx, a.ID, rehashed); err != nil {
				return err
			}
		}
		// With MFA on, the right password earns only the second step.
		mfa, err := mfaEnabled(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if mfa {
			challenge, err = s.startChallenge(ctx, tx, a.ID, s.cfg.Now())
			return err
		}
		ns, err = s.startSession(ctx, tx, a.ID, c, s.cfg.Now())
		return err
	})
	if errors.Is(err, errPasswordReplaced) {
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("login: %w", err)
	}
	if challenge != nil {
		return tacit.Outcome{Kind: tacit.MFARequired, Challenge: challenge}, nil
	}
	return tacit.Outcome{Kind: tacit.SignedIn, Session: ns, Device: s.deviceToken(email, tacit.PasswordStamp(cmp.Or(rehashed, a.PasswordHash)), c.Device)}, nil
}

// loginRules are the limits on sign-in attempts: per address first (its
// lock is the one that mails the owner), then per client address. A
// client presenting a device token valid for the address and its
// account's password stamp (stamp) is counted per address and device
// instead of per address (see device.go), so an outsider's failures on
// the address do not hold back the owner's own device, and the owner's
// requests never touch the outsider's counter.
func (s *Service) loginRules(email string, stamp []byte, c Client) []rule {
	first := rule{name: "login", limit: s.cfg.Limits.Login, id: email}
	if dev, ok := s.device(email, stamp, c.Device); ok {
		first = rule{name: "login-device", limit: s.cfg.Limits.Login, id: email + "\x00" + dev}
	}
	return []rule{first, {name: "login-ip", limit: s.cfg.Limits.LoginIP, id: clientKey(c.IP)}}
}

// failedLogin runs after a failed attempt. When the attempt has just locked
// the address, the owner of a real account is told, with a reset link
// (reset works while sign-in is locked); any other address gets a row that
// sends nothing, so both do the same work.
func (s *Service) failedLogin(ctx context.Context, email string, a tacit.Account, locked bool) error {
	if !locked {
		return nil
	}
	return s.update(ctx, func(tx tacit.Tx) error {
		now := s.cfg.Now()
		m := tacit.Mail{Kind: tacit.MailNone, To: email}
		if a.ID != 0 && !a.Disabled {
			m = tacit.Mail{Kind: tacit.MailAccountLocked, To: email, Data: map[string]string{
				"reset": s.cfg.Links.ForgotPassword(),
				"until": now.Add(s.cfg.Limits.Login.LockFor).UTC().Format("2006-01-02 15:04 UTC"),
			}}
		}
		// Both branches skip the mail limit: the owner's lock notice
		// must not be silenced, and the row that sends nothing must do
		// the same work.
		return s.notify(ctx, tx, m, now)
	})
}

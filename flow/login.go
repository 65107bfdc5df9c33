package flow

import (
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
	return s.paced(ctx, func() (tacit.Outcome, error) {
		return s.gated(ctx, GateLogin, c, func() (tacit.Outcome, error) { return s.login(ctx, email, password, c) })
	})
}

// login checks a normalised address and a password, both given: admit
// the attempt, verify the password, finish the sign-in.
func (s *Service) login(ctx context.Context, email, password string, c Client) (tacit.Outcome, error) {
	at, wait, err := s.admitLogin(ctx, email, c)
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("login: %w", err)
	}
	if wait > 0 {
		return throttled(wait), nil
	}
	rehashed, ok, err := s.verifyLogin(ctx, at, password)
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("login: %w", err)
	}
	if !ok {
		if err := s.failedLogin(ctx, email, at.account, at.locked); err != nil {
			return tacit.Outcome{}, fmt.Errorf("login: %w", err)
		}
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	o, err := s.passLogin(ctx, at, rehashed, c)
	if errors.Is(err, errPasswordReplaced) {
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("login: %w", err)
	}
	return o, nil
}

// loginAttempt is what admitting a sign-in learnt, for the steps after it.
type loginAttempt struct {
	account tacit.Account // the zero Account when found is false
	found   bool
	hash    string // the hash to check the password against (signInHash)
	rules   []rule // the limits it was counted under (loginRules)
	ad      admission
	locked  bool // this attempt has just locked the address
}

// admitLogin reads the account of a sign-in and counts the attempt, or
// returns how long it must wait. The attempt is counted before the
// password is checked, in one transaction with the limit check, so
// parallel guesses are counted too; a successful sign-in takes its own
// count back (see passed). The account is read first, whether or not the
// attempt will be let through: the device rule depends on its password
// (see device.go).
func (s *Service) admitLogin(ctx context.Context, email string, c Client) (loginAttempt, time.Duration, error) {
	var (
		at   loginAttempt
		wait time.Duration
	)
	err := s.store.Update(ctx, func(tx tacit.Tx) error {
		var err error
		at.account, err = tx.AccountByEmail(ctx, email)
		at.found = err == nil
		if err != nil && !errors.Is(err, tacit.ErrNotFound) {
			return err
		}
		// Unknown address: the dummy hash, so this branch costs one full
		// hash with the live parameters, and one stamp, like the other.
		at.hash = s.signInHash(at.account, at.found)
		at.rules = s.loginRules(email, tacit.PasswordStamp(at.hash), c)
		wait, at.locked, at.ad, err = s.admitFirst(ctx, tx, s.cfg.Now(), at.rules...)
		return err
	})
	return at, wait, err
}

// verifyLogin checks password against an admitted attempt's hash: ok
// only for the right password of an account that is not disabled. A
// right password whose hash was made with other parameters (the operator
// has since raised the memory or time cost) is hashed again with the
// live ones, for passLogin to store. Only a right password pays for this
// second hash, and its answer already differs from a failure's.
func (s *Service) verifyLogin(ctx context.Context, at loginAttempt, password string) (rehashed string, ok bool, err error) {
	ok, err = s.verify(ctx, tacit.NormalizePassword(password), at.hash)
	if err != nil {
		return "", false, fmt.Errorf("verify: %w", err)
	}
	if !ok || !at.found || at.account.Disabled {
		return "", false, nil
	}
	if s.hasher.NeedsRehash(at.account.PasswordHash) {
		if rehashed, err = s.hasher.Hash(tacit.NormalizePassword(password)); err != nil {
			return "", false, fmt.Errorf("rehash: %w", err)
		}
	}
	return rehashed, true, nil
}

// passLogin finishes a sign-in whose password was right: it takes the
// attempt's count back, stores the rehashed password if there is one,
// and ends in finishSignIn. errPasswordReplaced if the password was
// replaced since it was checked.
func (s *Service) passLogin(ctx context.Context, at loginAttempt, rehashed string, c Client) (tacit.Outcome, error) {
	var o tacit.Outcome
	err := s.update(ctx, func(tx tacit.Tx) error {
		// A password replaced since the check no longer signs in, and a
		// rehash must not write it back.
		if err := unchanged(ctx, tx, at.account); err != nil {
			return err
		}
		if err := s.passed(ctx, tx, at.rules[0], at.ad); err != nil {
			return err
		}
		a := at.account
		if rehashed != "" {
			if err := tx.UpdatePassword(ctx, a.ID, rehashed); err != nil {
				return err
			}
			a.PasswordHash = rehashed
		}
		var err error
		o, err = s.finishSignIn(ctx, tx, a, c, passwordOnly)
		return err
	})
	return o, err
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

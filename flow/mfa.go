package flow

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/tacitauth/tacit"
)

// TOTP parameters: those every authenticator app understands (RFC 6238's
// defaults, as Google Authenticator uses them).
const (
	totpPeriod = 30 // seconds per time step
	// totpSkew is how many steps before and after the current one are
	// accepted, for clocks a little off and codes typed near a step's end.
	totpSkew   = 1
	totpSecret = 20 // bytes: 160 bits, the size of an HMAC-SHA1 key
)

// The pending second step of a sign-in.
const (
	// ChallengeTTL is how long the second step waits for a code.
	ChallengeTTL = 5 * time.Minute
	// ChallengeFailures is how many wrong codes end a challenge: the
	// requester must then type the password again.
	ChallengeFailures = 5
	// RecoveryCodes is how many recovery codes enabling MFA makes.
	RecoveryCodes = 10
	// recoveryChars is the base32 characters of a recovery code: 120
	// bits, past the 112 from which ASVS (6.5.2) and NIST SP 800-63B
	// (§5.1.2.2) let a look-up secret be stored under a plain hash
	// rather than a salted password hash: a stolen database cannot be
	// searched for them offline.
	recoveryChars = 24
	// legacyRecoveryChars is the length of the 50-bit codes made before
	// them, which still work until renewed.
	legacyRecoveryChars = 10
)

// ErrMFAEnabled means a set-up was asked for an account that already has
// MFA on: it must be turned off first, with the password.
var ErrMFAEnabled = errors.New("MFA is already on")

// ErrMFAOff means new recovery codes were asked for an account without
// MFA on: there are none to renew.
var ErrMFAOff = errors.New("MFA is off")

// TOTPSetup is what an owner needs to add the account to an authenticator
// app.
type TOTPSetup struct {
	Secret string // base32, for typing in by hand
	URI    string // otpauth://totp/…, what a QR code carries
}

// MFAStatus describes the signed-in account's MFA for the account page.
type MFAStatus struct {
	Enabled bool
	// Pending is set while a set-up waits for its first code.
	Pending           *TOTPSetup
	RecoveryCodesLeft int
}

// mfaRules is the limit on wrong codes. It is per account: a challenge
// exists only after the account's correct password, so the key tells
// nothing an outsider could not already know.
func (s *Service) mfaRules(accountID int64) []rule {
	return []rule{{name: "mfa", limit: s.cfg.Limits.MFA, id: strconv.FormatInt(accountID, 10)}}
}

// SetupTOTP makes a new authenticator secret for the signed-in account and
// keeps it, not yet enabled, until EnableTOTP receives a code made with it.
// A set-up started earlier is replaced. issuer names the service in the
// authenticator app. ErrMFAEnabled if MFA is on already.
func (s *Service) SetupTOTP(ctx context.Context, id Identity, issuer string) (TOTPSetup, error) {
	raw := make([]byte, totpSecret)
	rand.Read(raw)
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
	err := s.store.Update(ctx, func(tx tacit.Tx) error {
		cur, err := tx.TOTPByAccount(ctx, id.Account.ID)
		if err == nil && cur.Enabled {
			return ErrMFAEnabled
		}
		if err != nil && !errors.Is(err, tacit.ErrNotFound) {
			return err
		}
		return tx.SaveTOTP(ctx, tacit.TOTP{AccountID: id.Account.ID, Secret: secret, CreatedAt: s.cfg.Now()})
	})
	if errors.Is(err, ErrMFAEnabled) {
		return TOTPSetup{}, err
	}
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("set up totp: %w", err)
	}
	return totpSetup(issuer, id.Account.Email, secret)
}

// totpSetup builds the otpauth URI of a secret.
func totpSetup(issuer, email, secret string) (TOTPSetup, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("totp secret: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: email, Secret: raw,
		Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("totp key: %w", err)
	}
	return TOTPSetup{Secret: secret, URI: key.URL()}, nil
}

// EnableTOTP turns MFA on once the owner types a code from the app set up
// by SetupTOTP. It returns the recovery codes, shown this once and stored
// only hashed. The password is required and must be right
// (InvalidCredentials otherwise, counted like a failed sign-in): a stolen
// session alone must not be able to turn MFA on, since the owner, not
// having the authenticator, would then be locked out, and a password
// reset keeps MFA on. Invalid when the code or the password is missing or
// the code does not match; ErrMFAEnabled if MFA is on already. The owner
// is mailed a notice.
func (s *Service) EnableTOTP(ctx context.Context, id Identity, code, password string, c Client) (tacit.Outcome, []string, error) {
	code = normalizeCode(code)
	fe := tacit.FieldErrors{}
	if code == "" {
		fe["code"] = tacit.CodeRequired
	}
	if password == "" {
		fe["password"] = tacit.CodeRequired
	}
	if len(fe) > 0 {
		return tacit.InvalidInput(fe), nil, nil
	}
	verified, o, err := s.checkPassword(ctx, id, password, c)
	if err != nil || o.Kind != "" {
		return o, nil, err
	}
	codes, hashes := newRecoveryCodes()
	matched := false
	err = s.update(ctx, func(tx tacit.Tx) error {
		if err := unchanged(ctx, tx, verified); err != nil {
			return err
		}
		now := s.cfg.Now()
		cur, err := tx.TOTPByAccount(ctx, id.Account.ID)
		if errors.Is(err, tacit.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Enabled {
			return ErrMFAEnabled
		}
		step, ok := matchTOTP(cur.Secret, code, now, cur.LastStep)
		if !ok {
			return nil
		}
		matched = true
		cur.Enabled, cur.LastStep = true, step
		if err := tx.SaveTOTP(ctx, cur); err != nil {
			return err
		}
		if err := tx.SetRecoveryCodes(ctx, id.Account.ID, hashes); err != nil {
			return err
		}
		if err := s.record(ctx, tx, id.Account.ID, tacit.EventMFAEnabled, c, now); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, tacit.Mail{Kind: tacit.MailMFAEnabled, To: id.Account.Email, Data: map[string]string{
			"reset": s.cfg.Links.ForgotPassword(),
		}}, now)
	})
	if errors.Is(err, errPasswordReplaced) {
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil, nil
	}
	if errors.Is(err, ErrMFAEnabled) {
		return tacit.Outcome{}, nil, err
	}
	if err != nil {
		return tacit.Outcome{}, nil, fmt.Errorf("enable totp: %w", err)
	}
	if !matched {
		return tacit.InvalidInput(tacit.FieldErrors{"code": tacit.CodeIncorrect}), nil, nil
	}
	return tacit.Outcome{Kind: tacit.Done}, codes, nil
}

// DisableTOTP turns MFA off after checking the password (InvalidCredentials
// when wrong, counted like a failed sign-in; Invalid when empty): the
// authenticator, its recovery codes and pending challenges are deleted and
// the owner is mailed a notice. Done also when MFA was off.
func (s *Service) DisableTOTP(ctx context.Context, id Identity, password string, c Client) (tacit.Outcome, error) {
	if password == "" {
		return tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired}), nil
	}
	verified, o, err := s.checkPassword(ctx, id, password, c)
	if err != nil || o.Kind != "" {
		return o, err
	}
	err = s.update(ctx, func(tx tacit.Tx) error {
		if err := unchanged(ctx, tx, verified); err != nil {
			return err
		}
		if _, err := tx.TOTPByAccount(ctx, id.Account.ID); errors.Is(err, tacit.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if err := tx.DeleteTOTP(ctx, id.Account.ID); err != nil {
			return err
		}
		if err := tx.DeleteMFAChallenges(ctx, id.Account.ID); err != nil {
			return err
		}
		if err := s.record(ctx, tx, id.Account.ID, tacit.EventMFADisabled, c, s.cfg.Now()); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, tacit.Mail{Kind: tacit.MailMFADisabled, To: id.Account.Email, Data: map[string]string{
			"reset": s.cfg.Links.ForgotPassword(),
		}}, s.cfg.Now())
	})
	if errors.Is(err, errPasswordReplaced) {
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("disable totp: %w", err)
	}
	return tacit.Outcome{Kind: tacit.Done}, nil
}

// RenewRecoveryCodes replaces the signed-in account's recovery codes with
// new ones, returned to be shown this once: every old code stops working,
// and the owner is mailed a notice. The password is required and must be
// right (InvalidCredentials otherwise, counted like a failed sign-in;
// Invalid when empty): a stolen session alone must not be able to get
// codes that sign in without the authenticator, nor to take the owner's
// codes away. ErrMFAOff when MFA is not on.
func (s *Service) RenewRecoveryCodes(ctx context.Context, id Identity, password string, c Client) (tacit.Outcome, []string, error) {
	if password == "" {
		return tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired}), nil, nil
	}
	verified, o, err := s.checkPassword(ctx, id, password, c)
	if err != nil || o.Kind != "" {
		return o, nil, err
	}
	codes, hashes := newRecoveryCodes()
	err = s.update(ctx, func(tx tacit.Tx) error {
		if err := unchanged(ctx, tx, verified); err != nil {
			return err
		}
		if on, err := mfaEnabled(ctx, tx, id.Account.ID); err != nil {
			return err
		} else if !on {
			return ErrMFAOff
		}
		if err := tx.SetRecoveryCodes(ctx, id.Account.ID, hashes); err != nil {
			return err
		}
		if err := s.record(ctx, tx, id.Account.ID, tacit.EventRecoveryCodesRenewed, c, s.cfg.Now()); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, tacit.Mail{Kind: tacit.MailRecoveryCodesRenewed, To: id.Account.Email, Data: map[string]string{
			"reset": s.cfg.Links.ForgotPassword(),
		}}, s.cfg.Now())
	})
	switch {
	case errors.Is(err, errPasswordReplaced):
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil, nil
	case errors.Is(err, ErrMFAOff):
		return tacit.Outcome{}, nil, err
	case err != nil:
		return tacit.Outcome{}, nil, fmt.Errorf("renew recovery codes: %w", err)
	}
	return tacit.Outcome{Kind: tacit.Done}, codes, nil
}

// MFAStatus reports the signed-in account's MFA; issuer is as for SetupTOTP.
func (s *Service) MFAStatus(ctx context.Context, id Identity, issuer string) (MFAStatus, error) {
	var (
		st  MFAStatus
		cur tacit.TOTP
	)
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		cur, err = tx.TOTPByAccount(ctx, id.Account.ID)
		if errors.Is(err, tacit.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		st.Enabled = cur.Enabled
		st.RecoveryCodesLeft, err = tx.RecoveryCodesLeft(ctx, id.Account.ID)
		return err
	})
	if err != nil {
		return MFAStatus{}, fmt.Errorf("mfa status: %w", err)
	}
	if cur.Secret != "" && !cur.Enabled {
		setup, err := totpSetup(issuer, id.Account.Email, cur.Secret)
		if err != nil {
			return MFAStatus{}, err
		}
		st.Pending = &setup
	}
	return st, nil
}

// startChallenge records the second step of a sign-in for account id and
// returns its token. Only a correct password gets here.
func (s *Service) startChallenge(ctx context.Context, tx tacit.Tx, id int64, now time.Time) (*tacit.NewSession, error) {
	token, th := tacit.NewToken()
	ch := tacit.MFAChallenge{AccountID: id, TokenHash: th, CreatedAt: now, ExpiresAt: now.Add(ChallengeTTL)}
	if err := tx.CreateMFAChallenge(ctx, &ch); err != nil {
		return nil, fmt.Errorf("start mfa challenge: %w", err)
	}
	return &tacit.NewSession{Token: token, ExpiresAt: ch.ExpiresAt}, nil
}

// mfaEnabled reports whether account id signs in with a second step.
func mfaEnabled(ctx context.Context, tx tacit.Tx, id int64) (bool, error) {
	cur, err := tx.TOTPByAccount(ctx, id)
	if errors.Is(err, tacit.ErrNotFound) {
		return false, nil
	}
	return err == nil && cur.Enabled, err
}

// LoginMFA finishes a sign-in that Login answered with MFARequired: the
// challenge token from that answer and a code from the authenticator app
// or a recovery code. SignedIn with a new session; InvalidCredentials for
// every failure (unknown, expired or spent challenge, wrong, reused or
// malformed code); Throttled when the account has had too many wrong
// codes lately, or Limits.MFALock wrong codes in a row (then until a
// password reset; the owner is mailed when it locks). Each wrong code
// counts against the challenge, which dies at ChallengeFailures, against
// the account's MFA limit and against its count of failures in a row.
func (s *Service) LoginMFA(ctx context.Context, challenge, code string, c Client) (tacit.Outcome, error) {
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.loginMFA(ctx, challenge, code, c) })
}

// loginMFA checks a second step: find the challenge, admit the attempt
// under the account's MFA limits, check the code, then count the failure
// or finish the sign-in, all in one transaction.
func (s *Service) loginMFA(ctx context.Context, challenge, code string, c Client) (tacit.Outcome, error) {
	if !tacit.WellFormedToken(challenge) {
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	code = normalizeCode(code)
	var (
		done   tacit.Outcome // the finished sign-in, if the code was right
		wait   time.Duration
		locked bool
	)
	err := s.update(ctx, func(tx tacit.Tx) error {
		now := s.cfg.Now()
		ch, err := tx.MFAChallengeByToken(ctx, tacit.HashToken(challenge), now)
		if errors.Is(err, tacit.ErrNotFound) || (err == nil && ch.Failures >= ChallengeFailures) {
			return nil
		}
		if err != nil {
			return err
		}
		var a tacit.Account
		a, wait, locked, err = s.admitSecondStep(ctx, tx, ch.AccountID, now)
		if err != nil || wait > 0 {
			return err
		}
		ok, err := checkCode(ctx, tx, a.ID, code, now)
		if err != nil {
			return err
		}
		if !ok || a.Disabled {
			return s.failedSecondStep(ctx, tx, ch, a, locked, now)
		}
		done, err = s.passedSecondStep(ctx, tx, a, c)
		return err
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("login mfa: %w", err)
	}
	return secondStepOutcome(done, wait), nil
}

// secondStepOutcome is the answer to a second step (a code or a passkey)
// that ended with done (the zero Outcome when it failed) or was held back
// for wait.
func secondStepOutcome(done tacit.Outcome, wait time.Duration) tacit.Outcome {
	switch {
	case wait > 0:
		return throttled(wait)
	case done.Kind == "":
		return tacit.Outcome{Kind: tacit.InvalidCredentials}
	}
	return done
}

// failedSecondStep counts a wrong code (or any code for a disabled
// account) against the challenge ch and against a's failures in a row,
// and mails the owner when this failure has locked the second step.
// locked says whether it has just reached the MFA limit's lock.
func (s *Service) failedSecondStep(ctx context.Context, tx tacit.Tx, ch tacit.MFAChallenge, a tacit.Account, locked bool, now time.Time) error {
	if _, err := tx.FailMFAChallenge(ctx, ch.ID); err != nil {
		return err
	}
	failures, err := tx.FailTOTP(ctx, a.ID)
	if err != nil && !errors.Is(err, tacit.ErrNotFound) {
		return err
	}
	until := ""
	switch {
	case a.Disabled:
	case s.cfg.Limits.MFALock > 0 && failures == s.cfg.Limits.MFALock:
		until = "you reset your password"
	case locked:
		until = now.Add(s.cfg.Limits.MFA.LockFor).UTC().Format("2006-01-02 15:04 UTC")
	}
	if until == "" {
		return nil
	}
	// This failure locked the second step: whoever is at it has the
	// password, which the owner must hear of.
	return s.enqueue(ctx, tx, tacit.Mail{Kind: tacit.MailMFALocked, To: a.Email, Data: map[string]string{
		"reset": s.cfg.Links.ForgotPassword(), "until": until,
	}}, now)
}

// passedSecondStep ends a's pending second steps, its failures in a row
// and its MFA counters, and finishes the sign-in (finishSignIn).
func (s *Service) passedSecondStep(ctx context.Context, tx tacit.Tx, a tacit.Account, c Client) (tacit.Outcome, error) {
	if err := tx.DeleteMFAChallenges(ctx, a.ID); err != nil {
		return tacit.Outcome{}, err
	}
	// Failures are counted in a row: a correct second step ends the row
	// (NIST SP 800-63B counts consecutive failures). Only the holder of
	// the password and the second factor gets here.
	if err := tx.ClearTOTPFailures(ctx, a.ID); err != nil {
		return tacit.Outcome{}, err
	}
	for _, r := range s.mfaRules(a.ID) {
		if err := s.forget(ctx, tx, r.name, r.id); err != nil {
			return tacit.Outcome{}, err
		}
	}
	return s.finishSignIn(ctx, tx, a, c, secondStep)
}

// mfaLockedOut reports whether an authenticator has failed MFALock second
// steps in a row, which refuses the second step until a password reset.
func (s *Service) mfaLockedOut(t tacit.TOTP) bool {
	return s.cfg.Limits.MFALock > 0 && t.Failures >= s.cfg.Limits.MFALock
}

// mfaLockRetry is the Retry-After of a second step locked until a reset:
// there is no time at which it ends by itself, so the client is told to
// come back after the hourly MFA lock would have ended, by when the owner,
// who was mailed, may have reset the password.
// admitSecondStep admits a second step (a code or a passkey) for account
// id under its MFA limits and reads the account; a wait above zero
// refuses the attempt, for the throttle or (locked false) because wrong
// second steps locked it until a password reset. An admitted attempt's
// locked says that this attempt reached the limit's lock, as admit's
// does. The lock-out is read after
// admit, which serialises the account's second steps (on PostgreSQL
// through the counter's lock), so parallel guesses cannot all pass a
// count read before any was added to it.
func (s *Service) admitSecondStep(ctx context.Context, tx tacit.Tx, id int64, now time.Time) (a tacit.Account, wait time.Duration, locked bool, err error) {
	wait, locked, err = s.admit(ctx, tx, now, s.mfaRules(id)...)
	if err != nil || wait > 0 {
		return a, wait, locked, err
	}
	if cur, err := tx.TOTPByAccount(ctx, id); err == nil && s.mfaLockedOut(cur) {
		return a, s.mfaLockRetry(), false, nil
	} else if err != nil && !errors.Is(err, tacit.ErrNotFound) {
		return a, 0, locked, err
	}
	a, err = tx.AccountByID(ctx, id)
	return a, 0, locked, err
}

func (s *Service) mfaLockRetry() time.Duration {
	return cmp.Or(s.cfg.Limits.MFA.LockFor, 15*time.Minute)
}

// checkCode accepts, and spends, a code for account id: a TOTP code of a
// step after the last one accepted, or an unused recovery code.
func checkCode(ctx context.Context, tx tacit.Tx, id int64, code string, now time.Time) (bool, error) {
	switch {
	case isTOTPCode(code):
		cur, err := tx.TOTPByAccount(ctx, id)
		if errors.Is(err, tacit.ErrNotFound) {
			return false, nil
		}
		if err != nil || !cur.Enabled {
			return false, err
		}
		step, ok := matchTOTP(cur.Secret, code, now, cur.LastStep)
		if !ok {
			return false, nil
		}
		// Conditional on the stored step, so two requests racing with
		// one code cannot both pass.
		err = tx.AdvanceTOTP(ctx, id, step)
		if errors.Is(err, tacit.ErrConflict) {
			return false, nil
		}
		return err == nil, err
	case len(code) == recoveryChars || len(code) == legacyRecoveryChars:
		err := tx.UseRecoveryCode(ctx, id, tacit.HashToken(code))
		if errors.Is(err, tacit.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	return false, nil
}

// normalizeCode drops what people add when copying a code (spaces,
// dashes) and lower-cases recovery codes.
func normalizeCode(code string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code))
}

func isTOTPCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// matchTOTP returns the time step, among now's and totpSkew either side,
// whose code is code, skipping steps at or before last (spent).
func matchTOTP(secret, code string, now time.Time, last int64) (int64, bool) {
	if !isTOTPCode(code) {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		if step <= last {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// newRecoveryCodes returns RecoveryCodes fresh codes, as shown, in groups
// of six ("abcdef-ghijkl-mnopqr-stuvwx"), and their hashes, as stored.
// Each carries 120 random bits (see recoveryChars).
func newRecoveryCodes() (codes []string, hashes [][]byte) {
	for range RecoveryCodes {
		c := strings.ToLower(rand.Text()[:recoveryChars])
		codes = append(codes, c[:6]+"-"+c[6:12]+"-"+c[12:18]+"-"+c[18:])
		hashes = append(hashes, tacit.HashToken(c))
	}
	return codes, hashes
}

package flow

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

// ChangePasswordInput changes the password of a signed-in account.
type ChangePasswordInput struct {
	CurrentPassword string
	Password        string
	PasswordConfirm string
	// KeepOtherSessions leaves the account's other sessions signed in.
	// By default a password change ends every session but the one
	// making it: a stolen session must not outlive the owner taking the
	// account back, as it does not outlive a reset.
	KeepOtherSessions bool
}

// ChangePassword sets a new password for the signed-in account and, unless
// asked to keep them, ends the account's other sessions: Done,
// InvalidCredentials for a wrong current password (counted like a failed
// sign-in, so a stolen session cannot guess it freely), Invalid, or
// Throttled. Done carries a device token for the client (Outcome.Device):
// the change ends every other.
func (s *Service) ChangePassword(ctx context.Context, id Identity, in ChangePasswordInput, c Client) (tacit.Outcome, error) {
	if in.CurrentPassword == "" {
		return tacit.InvalidInput(tacit.FieldErrors{"current_password": tacit.CodeRequired}), nil
	}
	verified, o, err := s.checkPassword(ctx, id, in.CurrentPassword, c)
	if err != nil || o.Kind != "" {
		return o, err
	}
	if fe := s.cfg.Policy.Check(in.Password, in.PasswordConfirm); len(fe) > 0 {
		return tacit.InvalidInput(fe), nil
	}
	hash, err := s.hasher.Hash(tacit.NormalizePassword(in.Password))
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("change password: %w", err)
	}
	err = s.update(ctx, func(tx tacit.Tx) error {
		if err := unchanged(ctx, tx, verified); err != nil {
			return err
		}
		if !in.KeepOtherSessions {
			if err := tx.DeleteSessions(ctx, id.Account.ID, id.Session.ID); err != nil {
				return err
			}
		}
		if err := s.record(ctx, tx, verified.ID, tacit.EventPasswordChanged, c, s.cfg.Now()); err != nil {
			return err
		}
		return s.setPassword(ctx, tx, verified, hash)
	})
	if errors.Is(err, errPasswordReplaced) {
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("change password: %w", err)
	}
	// The change ends every device token of the account, this client's
	// too (see device.go): the client that made it gets a new one.
	return tacit.Outcome{Kind: tacit.Done, Device: s.deviceToken(id.Account.Email, tacit.PasswordStamp(hash), c.Device)}, nil
}

// errPasswordReplaced is unchanged's answer when the account's password
// changed, or the account was disabled, after it was checked.
var errPasswordReplaced = errors.New("password replaced since it was checked")

// unchanged is the first step of a transaction that acts on a password
// checked before it began (hashing runs outside transactions). It reads
// the account again, which the engine locks for the rest of the
// transaction, and returns errPasswordReplaced unless the account still
// has the password hash that was checked and is not disabled. Without it,
// a password reset (which ends every session) landing between the check
// and the write could be undone by a sign-in, a password change or an
// email change made with the old password.
func unchanged(ctx context.Context, tx tacit.Tx, checked tacit.Account) error {
	cur, err := tx.AccountByID(ctx, checked.ID)
	if errors.Is(err, tacit.ErrNotFound) {
		return errPasswordReplaced
	}
	if err != nil {
		return err
	}
	if cur.Disabled || cur.PasswordHash != checked.PasswordHash {
		return errPasswordReplaced
	}
	return nil
}

// checkPassword verifies the signed-in account's password under the
// sign-in limits. It returns the account as checked, and the zero Outcome
// when the password is right.
func (s *Service) checkPassword(ctx context.Context, id Identity, password string, c Client) (tacit.Account, tacit.Outcome, error) {
	var (
		wait   time.Duration
		locked bool
		a      tacit.Account
		ad     admission
		rules  []rule
	)
	err := s.store.Update(ctx, func(tx tacit.Tx) error {
		// The stored hash, not the identity's copy: the password may have
		// changed since the session was looked up, and with it which
		// device tokens still count (see device.go).
		var err error
		if a, err = tx.AccountByID(ctx, id.Account.ID); err != nil {
			return err
		}
		rules = s.loginRules(id.Account.Email, tacit.PasswordStamp(a.PasswordHash), c)
		wait, locked, ad, err = s.admitFirst(ctx, tx, s.cfg.Now(), rules...)
		return err
	})
	if err != nil {
		return tacit.Account{}, tacit.Outcome{}, fmt.Errorf("check password: %w", err)
	}
	if wait > 0 {
		return tacit.Account{}, throttled(wait), nil
	}
	ok, err := s.verify(ctx, tacit.NormalizePassword(password), a.PasswordHash)
	if err != nil {
		return tacit.Account{}, tacit.Outcome{}, fmt.Errorf("check password: %w", err)
	}
	if !ok {
		if err := s.failedLogin(ctx, id.Account.Email, a, locked); err != nil {
			return tacit.Account{}, tacit.Outcome{}, fmt.Errorf("check password: %w", err)
		}
		return tacit.Account{}, tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	err = s.store.Update(ctx, func(tx tacit.Tx) error { return s.passed(ctx, tx, rules[0], ad) })
	if err != nil {
		return tacit.Account{}, tacit.Outcome{}, fmt.Errorf("check password: %w", err)
	}
	return a, tacit.Outcome{}, nil
}

// ChangeEmail asks to move the signed-in account to a new address. After
// the password is checked, it always answers CheckInbox: the new address
// is mailed a confirmation link, or, if it already has an account, a note
// that nothing can change; the old address is told of the request either
// way. The answer never says which.
func (s *Service) ChangeEmail(ctx context.Context, id Identity, newEmail, password string, c Client) (tacit.Outcome, error) {
	newEmail, fe := checkEmail(newEmail)
	if password == "" {
		fe["password"] = tacit.CodeRequired
	}
	if len(fe) > 0 {
		return tacit.InvalidInput(fe), nil
	}
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.changeEmail(ctx, id, newEmail, password, c) })
}

// changeEmail runs a valid request to move id's account to newEmail
// (normalised).
func (s *Service) changeEmail(ctx context.Context, id Identity, newEmail, password string, c Client) (tacit.Outcome, error) {
	verified, o, err := s.checkPassword(ctx, id, password, c)
	if err != nil || o.Kind != "" {
		return o, err
	}
	o, err = s.checkInbox(ctx, "change email", s.requestRules("email-change", s.cfg.Limits.Signup, id.Account.Email, c), func(tx tacit.Tx, now time.Time) error {
		if err := unchanged(ctx, tx, verified); err != nil {
			return err
		}
		return s.startEmailChange(ctx, tx, verified, id.Session.ID, newEmail, now)
	})
	if errors.Is(err, errPasswordReplaced) {
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	return o, err
}

// startEmailChange records the change (born expired, as a decoy, when the
// new address is taken or is the current one) and queues one mail to each
// address. The change is bound to a's password as checked and to the
// session that asked, sessionID: it works only while both last, so what a
// thief asks for dies when the owner takes the account back.
func (s *Service) startEmailChange(ctx context.Context, tx tacit.Tx, a tacit.Account, sessionID int64, newEmail string, now time.Time) error {
	owner, err := tx.AccountByEmail(ctx, newEmail)
	taken := err == nil
	if err != nil && !errors.Is(err, tacit.ErrNotFound) {
		return err
	}
	token, th := tacit.NewToken()
	ec := tacit.EmailChange{
		AccountID: a.ID, NewEmail: newEmail, TokenHash: th, SessionID: sessionID,
		PasswordStamp: tacit.PasswordStamp(a.PasswordHash), CreatedAt: now, ExpiresAt: now.Add(s.cfg.EmailChangeTTL),
	}
	m := tacit.Mail{Kind: tacit.MailConfirmEmailChange, To: newEmail, Data: map[string]string{
		"link": s.cfg.Links.ConfirmEmailChange(token), "expires": humanDuration(s.cfg.EmailChangeTTL),
	}}
	switch {
	case taken && owner.ID == a.ID:
		ec.ExpiresAt, m = now, tacit.Mail{Kind: tacit.MailNone, To: newEmail}
	case taken:
		ec.ExpiresAt = now
		m = tacit.Mail{Kind: tacit.MailEmailTaken, To: newEmail, Data: map[string]string{
			"login": s.cfg.Links.Login(), "reset": s.cfg.Links.ForgotPassword(),
		}}
	}
	if err := tx.CreateEmailChange(ctx, &ec); err != nil {
		return err
	}
	if err := s.enqueue(ctx, tx, m, now); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, tacit.Mail{Kind: tacit.MailEmailChangeRequested, To: a.Email, Data: map[string]string{
		"new_email": newEmail, "reset": s.cfg.Links.ForgotPassword(),
	}}, now)
}

// EmailChangeAddress returns the new address an unexpired email change
// link would move its account to, or "", for its page to show. The link
// was mailed to that address: its holder learns nothing new.
func (s *Service) EmailChangeAddress(ctx context.Context, token string) string {
	if !tacit.WellFormedToken(token) {
		return ""
	}
	var email string
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		ec, err := tx.EmailChangeByToken(ctx, tacit.HashToken(token), s.cfg.Now())
		email = ec.NewEmail
		return err
	})
	if err != nil {
		return ""
	}
	return email
}

// ConfirmEmailChange moves an account to the address that followed the
// link: Done or InvalidToken (unknown, used or expired; the address was
// taken meanwhile; the account's password changed since the change was
// asked; the session that asked has ended; the account is disabled). The
// old address is told; pending sign-ups for the new address and reset
// links sent to the old one die.
func (s *Service) ConfirmEmailChange(ctx context.Context, token string) (tacit.Outcome, error) {
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.confirmEmailChange(ctx, token) })
}

func (s *Service) confirmEmailChange(ctx context.Context, token string) (tacit.Outcome, error) {
	if !tacit.WellFormedToken(token) {
		return tacit.Outcome{Kind: tacit.InvalidToken}, nil
	}
	err := s.update(ctx, func(tx tacit.Tx) error {
		now := s.cfg.Now()
		ec, err := tx.EmailChangeByToken(ctx, tacit.HashToken(token), now)
		if errors.Is(err, tacit.ErrNotFound) {
			return errTokenSpent
		}
		if err != nil {
			return err
		}
		a, err := tx.AccountByID(ctx, ec.AccountID)
		if err != nil {
			return err
		}
		if ok, err := s.emailChangeBound(ctx, tx, ec, a, now); err != nil || !ok {
			return cmp.Or(err, errTokenSpent)
		}
		// Looked up rather than left to UpdateEmail's conflict, so the
		// transaction stays clean on engines where a failed statement
		// aborts it.
		if _, err := tx.AccountByEmail(ctx, ec.NewEmail); err == nil {
			return errTokenSpent
		} else if !errors.Is(err, tacit.ErrNotFound) {
			return err
		}
		for _, step := range []func() error{
			func() error { return tx.UpdateEmail(ctx, a.ID, ec.NewEmail) },
			func() error { return tx.DeleteEmailChanges(ctx, a.ID) },
			func() error { return tx.DeleteSignups(ctx, ec.NewEmail) },
			func() error { return tx.DeleteResetTokens(ctx, a.ID) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		if err := s.record(ctx, tx, a.ID, tacit.EventEmailChanged, Client{}, now); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, tacit.Mail{Kind: tacit.MailEmailChanged, To: a.Email, Data: map[string]string{
			"new_email": ec.NewEmail, "reset": s.cfg.Links.ForgotPassword(),
		}}, now)
	})
	if errors.Is(err, errTokenSpent) || errors.Is(err, tacit.ErrConflict) {
		return tacit.Outcome{Kind: tacit.InvalidToken}, nil
	}
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("confirm email change: %w", err)
	}
	return tacit.Outcome{Kind: tacit.Done}, nil
}

// emailChangeBound reports whether what asked for ec still holds: the
// account's password is the one checked when it was asked, the account is
// not disabled, and the session that asked is live. Ending that session
// deletes the change in storage too; the check here also covers a session
// that expired without being deleted yet.
func (s *Service) emailChangeBound(ctx context.Context, tx tacit.Tx, ec tacit.EmailChange, a tacit.Account, now time.Time) (bool, error) {
	if a.Disabled || subtle.ConstantTimeCompare(ec.PasswordStamp, tacit.PasswordStamp(a.PasswordHash)) != 1 || ec.SessionID == 0 {
		return false, nil
	}
	all, err := tx.SessionsByAccount(ctx, a.ID)
	if err != nil {
		return false, err
	}
	for _, ss := range all {
		if ss.ID == ec.SessionID {
			return s.sessionLive(ss, now), nil
		}
	}
	return false, nil
}

// SessionInfo describes one of an account's sessions, for the account
// page's list and as Identity.Session.
type SessionInfo struct {
	ID         int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	UserAgent  string
	IP         string
	Current    bool // the session making the request
	// Method is how the session was made; MultiFactor tells whether it
	// proved two factors (forward auth's mfa rule asks for that).
	Method tacit.SessionMethod
}

// Sessions lists the live sessions of the signed-in account, newest first.
func (s *Service) Sessions(ctx context.Context, id Identity) ([]SessionInfo, error) {
	var all []tacit.Session
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		all, err = tx.SessionsByAccount(ctx, id.Account.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	now := s.cfg.Now()
	var out []SessionInfo
	for _, ss := range all {
		if !s.sessionLive(ss, now) {
			continue
		}
		out = append(out, sessionInfo(ss, ss.ID == id.Session.ID))
	}
	return out, nil
}

// sessionInfo is what may be shown of a stored session: all but its
// token's hash.
func sessionInfo(ss tacit.Session, current bool) SessionInfo {
	return SessionInfo{
		ID: ss.ID, CreatedAt: ss.CreatedAt, LastSeenAt: ss.LastSeenAt, ExpiresAt: ss.ExpiresAt,
		UserAgent: ss.UserAgent, IP: ss.IP, Current: current, Method: ss.Method,
	}
}

// FreshSignIn is how recent a session's sign-in must be for its owner to
// add a passkey or end other sessions without typing the password again.
const FreshSignIn = 10 * time.Minute

// SignedInRecently reports whether id's session signed in less than
// FreshSignIn ago, so that the account page asks for the password only
// when reauthenticate will.
func (s *Service) SignedInRecently(id Identity) bool {
	return s.cfg.Now().Sub(id.Session.CreatedAt) < FreshSignIn
}

// reauthenticate asks for one factor again before an action that a
// session left open must not allow (ASVS 7.5.2, 7.5.3): a session signed
// in within FreshSignIn has just given it; an older one must give the
// password (Invalid, password required, when missing; InvalidCredentials
// when wrong, counted like a failed sign-in). A password given is always
// checked. It returns the zero Outcome when the action may go on.
func (s *Service) reauthenticate(ctx context.Context, id Identity, password string, c Client) (tacit.Outcome, error) {
	if password == "" {
		if s.SignedInRecently(id) {
			return tacit.Outcome{}, nil
		}
		return tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired}), nil
	}
	_, o, err := s.checkPassword(ctx, id, password, c)
	return o, err
}

// EndSession signs out one of the account's sessions by id. Done whether or
// not it existed: ids of other accounts' sessions are never touched.
// Ending another session than this one needs reauthenticate's password
// (or a recent sign-in): a thief on a session left open must not be able
// to sign its owner out of every other device. Ending this one is signing
// out and needs nothing.
func (s *Service) EndSession(ctx context.Context, id Identity, sessionID int64, password string, c Client) (tacit.Outcome, error) {
	if sessionID != id.Session.ID {
		if o, err := s.reauthenticate(ctx, id, password, c); err != nil || o.Kind != "" {
			return o, err
		}
	}
	err := s.store.Update(ctx, func(tx tacit.Tx) error {
		err := tx.DeleteAccountSession(ctx, id.Account.ID, sessionID)
		if errors.Is(err, tacit.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, id.Account.ID, tacit.EventSessionsEnded, Client{}, s.cfg.Now())
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("end session: %w", err)
	}
	return tacit.Outcome{Kind: tacit.Done}, nil
}

// EndOtherSessions signs out every session of the account but this one.
// Email changes asked from the ended sessions die with them (storage
// deletes them with their session). It needs reauthenticate's password
// (or a recent sign-in), as EndSession does.
func (s *Service) EndOtherSessions(ctx context.Context, id Identity, password string, c Client) (tacit.Outcome, error) {
	if o, err := s.reauthenticate(ctx, id, password, c); err != nil || o.Kind != "" {
		return o, err
	}
	err := s.store.Update(ctx, func(tx tacit.Tx) error {
		if err := tx.DeleteSessions(ctx, id.Account.ID, id.Session.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, id.Account.ID, tacit.EventSessionsEnded, Client{}, s.cfg.Now())
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("end other sessions: %w", err)
	}
	return tacit.Outcome{Kind: tacit.Done}, nil
}

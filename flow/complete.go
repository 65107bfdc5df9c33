package flow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

// CompleteInput finishes an email-first sign-up from the mailed link.
type CompleteInput struct {
	Token           string
	Password        string
	PasswordConfirm string
}

// CompleteSignup creates the account for a valid email-first sign-up token
// and a valid password, and signs in: AccountCreated with a session. The
// token proves control of the mailbox, so these answers may differ: a bad
// token gets InvalidToken, a bad password Invalid. A full-form sign-up's
// token is a bad token here: it is confirmed with the password chosen at
// sign-up (Verify), and taking it here would let whoever holds the link
// skip that check.
//
// A post of a link that made an account less than CompletionGrace ago,
// with that account's password, signs in to it (SignedIn with a session):
// a form submitted twice, its second post sent before the first's answer
// came, lands its sender in the account the first post made rather than
// on a dead link.
func (s *Service) CompleteSignup(ctx context.Context, in CompleteInput, c Client) (tacit.Outcome, error) {
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.completeSignup(ctx, in, c) })
}

func (s *Service) completeSignup(ctx context.Context, in CompleteInput, c Client) (tacit.Outcome, error) {
	if !s.emailFirstTokenLive(ctx, in.Token) {
		return s.completeAgain(ctx, in, c)
	}
	if fe := s.cfg.Policy.Check(in.Password, in.PasswordConfirm); len(fe) > 0 {
		return tacit.InvalidInput(fe), nil
	}
	hash, err := s.hasher.Hash(tacit.NormalizePassword(in.Password))
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("complete sign-up: %w", err)
	}
	o, err := s.createAccount(ctx, in.Token, false, hash, tacit.AccountCreated, c)
	if err == nil && o.Kind == tacit.InvalidToken {
		// Used between the check above and now: by a post of the same
		// form, perhaps.
		return s.completeAgain(ctx, in, c)
	}
	return o, err
}

// CompletionGrace is how long after an email-first sign-up link made an
// account a post of the same link with the account's password still signs
// in: long enough for a double-submitted form, too short to matter as a
// way around the sign-in limits (each try costs a hash, and only holders
// of the link, who control the mailbox, get here).
const CompletionGrace = time.Minute

// completion is what CompleteSignup remembers of a used link.
type completion struct {
	email string
	at    time.Time
}

// rememberCompletion records that the link whose token hash is th made an
// account for email, and forgets completions older than CompletionGrace.
// It runs inside the transaction that makes the account, before its
// commit, so a second post cannot find the link gone but not yet
// remembered; a transaction that then fails leaves an entry naming an
// account that does not exist, which completeAgain ignores.
func (s *Service) rememberCompletion(th []byte, email string, now time.Time) {
	s.completed.Range(func(k, v any) bool {
		if now.Sub(v.(completion).at) > CompletionGrace {
			s.completed.Delete(k)
		}
		return true
	})
	s.completed.Store(string(th), completion{email: email, at: now})
}

// completedBy returns the address whose account token made less than
// CompletionGrace ago.
func (s *Service) completedBy(token string, now time.Time) (string, bool) {
	if !tacit.WellFormedToken(token) {
		return "", false
	}
	v, ok := s.completed.Load(string(tacit.HashToken(token)))
	if !ok || now.Sub(v.(completion).at) > CompletionGrace {
		return "", false
	}
	return v.(completion).email, true
}

// completeAgain answers a post of a used or unknown email-first link:
// SignedIn when the link made an account less than CompletionGrace ago and
// the password is that account's, else InvalidToken.
func (s *Service) completeAgain(ctx context.Context, in CompleteInput, c Client) (tacit.Outcome, error) {
	dead := tacit.Outcome{Kind: tacit.InvalidToken}
	email, ok := s.completedBy(in.Token, s.cfg.Now())
	if !ok || in.Password == "" {
		return dead, nil
	}
	var a tacit.Account
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		if a, err = tx.AccountByEmail(ctx, email); err != nil {
			return err
		}
		if on, err := mfaEnabled(ctx, tx, a.ID); err != nil || on {
			return cmp.Or(err, errTokenSpent)
		}
		return nil
	})
	if errors.Is(err, tacit.ErrNotFound) || errors.Is(err, errTokenSpent) {
		return dead, nil
	}
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("complete sign-up again: %w", err)
	}
	if a.Disabled || s.cfg.Now().Sub(a.CreatedAt) > CompletionGrace {
		return dead, nil
	}
	same, err := s.hasher.Verify(tacit.NormalizePassword(in.Password), a.PasswordHash)
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("complete sign-up again: %w", err)
	}
	if !same {
		return dead, nil
	}
	var ns *tacit.NewSession
	err = s.store.Update(ctx, func(tx tacit.Tx) error {
		var err error
		ns, err = s.startSession(ctx, tx, a.ID, c, s.cfg.Now(), tacit.SessionPassword)
		return err
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("complete sign-up again: %w", err)
	}
	return tacit.Outcome{Kind: tacit.SignedIn, Session: ns}, nil
}

// CompleteAddress returns the address an email-first sign-up link is for,
// so that its page can say so, and whether the link still works. A link
// that made an account less than CompletionGrace ago gives that account's
// address and false; any other dead link "" and false. It shows only the
// link's holder, who controls that mailbox, its own address.
func (s *Service) CompleteAddress(ctx context.Context, token string) (email string, live bool) {
	if !tacit.WellFormedToken(token) {
		return "", false
	}
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		su, err := tx.SignupByToken(ctx, tacit.HashToken(token), s.cfg.Now())
		if err == nil && su.PasswordHash == "" {
			email, live = su.Email, true
		}
		return err
	})
	if err == nil && live {
		return email, true
	}
	email, _ = s.completedBy(token, s.cfg.Now())
	return email, false
}

// VerifyInput confirms a full-form sign-up from the mailed link.
type VerifyInput struct {
	Token string
	// Password is the one chosen at sign-up. The link alone proves
	// control of the mailbox, not authorship of the sign-up behind it:
	// anyone may sign up any address with a password of their own.
	Password string
}

// maxSignupsChecked bounds how many pending sign-ups of one address a
// confirmation tries the password against (one hash each). The sign-up
// limit keeps real addresses far below it.
const maxSignupsChecked = 8

// Verify confirms a full-form sign-up from the mailed link and signs in:
// SignedIn with a session, InvalidToken, Invalid (no password),
// InvalidCredentials or Throttled. The account is created only with a
// password the follower of the link proves they chose: the one of the
// sign-up behind the token or, failing that, of another pending sign-up of
// the address (so that an owner who got someone else's link, as "send the
// link again" mails the newest sign-up, still confirms with their own
// password). Without that proof, whoever signed up an address first, with
// a password of their choosing, would own the account its mailbox owner
// confirms. A wrong password leaves the link working; tries are counted
// per address under the sign-in limits. Email-first sign-ups have no
// password yet, so their tokens work only with CompleteSignup.
//
// The answers may differ from one token to another: the token proves
// control of the mailbox, and a token nobody was sent gets InvalidToken
// whatever else is sent.
func (s *Service) Verify(ctx context.Context, in VerifyInput, c Client) (tacit.Outcome, error) {
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.verifySignup(ctx, in, c) })
}

func (s *Service) verifySignup(ctx context.Context, in VerifyInput, c Client) (tacit.Outcome, error) {
	if !tacit.WellFormedToken(in.Token) {
		return tacit.Outcome{Kind: tacit.InvalidToken}, nil
	}
	var (
		pending []tacit.Signup
		wait    time.Duration
	)
	err := s.store.Update(ctx, func(tx tacit.Tx) error {
		now := s.cfg.Now()
		su, err := tx.SignupByToken(ctx, tacit.HashToken(in.Token), now)
		if errors.Is(err, tacit.ErrNotFound) || (err == nil && su.PasswordHash == "") {
			return errTokenSpent
		}
		if err != nil {
			return err
		}
		if in.Password == "" {
			return nil
		}
		// Counted before the hashes run, in the same transaction as the
		// check, so parallel guesses cannot slip past the limit.
		if wait, _, err = s.admit(ctx, tx, now, s.verifyRules(su.Email, c)...); err != nil || wait > 0 {
			return err
		}
		others, err := tx.PendingSignups(ctx, su.Email, now, maxSignupsChecked)
		if err != nil {
			return err
		}
		pending = append(pending, su) // the link's own sign-up first
		for _, o := range others {
			if o.ID != su.ID && o.PasswordHash != "" && len(pending) < maxSignupsChecked {
				pending = append(pending, o)
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, errTokenSpent):
		return tacit.Outcome{Kind: tacit.InvalidToken}, nil
	case err != nil:
		return tacit.Outcome{}, fmt.Errorf("verify: %w", err)
	case in.Password == "":
		return tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired}), nil
	case wait > 0:
		return throttled(wait), nil
	}
	pw := tacit.NormalizePassword(in.Password)
	for _, su := range pending {
		ok, err := s.hasher.Verify(pw, su.PasswordHash)
		if err != nil {
			return tacit.Outcome{}, fmt.Errorf("verify: %w", err)
		}
		if ok {
			return s.createAccount(ctx, in.Token, true, su.PasswordHash, tacit.SignedIn, c)
		}
	}
	return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
}

// verifyRules limit the passwords tried on sign-up links: per address
// (every link of an address shares the count) under the sign-in limit,
// and per client under the per-client sign-in limit. Only holders of a
// live link reach them.
func (s *Service) verifyRules(email string, c Client) []rule {
	return []rule{
		{name: "verify", limit: s.cfg.Limits.Login, id: email},
		{name: "login-ip", limit: s.cfg.Limits.LoginIP, id: clientKey(c.IP)},
	}
}

// SignupAddress returns the address of the live full-form sign-up behind
// token, or "" if there is none. The confirmation page puts it in a hidden
// username field so that password managers offer the password saved at
// sign-up. It shows only the token's holder, who controls that mailbox,
// its own address.
func (s *Service) SignupAddress(ctx context.Context, token string) string {
	if !tacit.WellFormedToken(token) {
		return ""
	}
	var email string
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		su, err := tx.SignupByToken(ctx, tacit.HashToken(token), s.cfg.Now())
		if err == nil && su.PasswordHash != "" {
			email = su.Email
		}
		return err
	})
	if err != nil {
		return ""
	}
	return email
}

// emailFirstTokenLive reports whether token belongs to an unexpired
// email-first sign-up (one without a password yet).
func (s *Service) emailFirstTokenLive(ctx context.Context, token string) bool {
	if !tacit.WellFormedToken(token) {
		return false
	}
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		su, err := tx.SignupByToken(ctx, tacit.HashToken(token), s.cfg.Now())
		if err == nil && su.PasswordHash != "" {
			return errTokenSpent
		}
		return err
	})
	return err == nil
}

// errTokenSpent ends a transaction, rolling it back, whose token turned out
// not to work.
var errTokenSpent = errors.New("token spent")

// createAccount turns the sign-up behind token into an account with
// password hash pwHash, deletes every sign-up for the address (the first
// one completed wins) and starts a session. fullForm says which kind of
// sign-up the caller checked token to be; a token of the other kind is
// spent (the caller's check ran before this transaction).
func (s *Service) createAccount(ctx context.Context, token string, fullForm bool, pwHash string, kind tacit.OutcomeKind, c Client) (tacit.Outcome, error) {
	var ns *tacit.NewSession
	err := s.update(ctx, func(tx tacit.Tx) error {
		now := s.cfg.Now()
		su, err := tx.SignupByToken(ctx, tacit.HashToken(token), now)
		if errors.Is(err, tacit.ErrNotFound) {
			return errTokenSpent // used or expired since it was checked
		}
		if err != nil {
			return err
		}
		if (su.PasswordHash != "") != fullForm || pwHash == "" {
			return errTokenSpent
		}
		// The address's sign-ups die whether this one wins or not.
		if err := tx.DeleteSignups(ctx, su.Email); err != nil {
			return err
		}
		// Looked up rather than left to CreateAccount's conflict, so the
		// transaction stays clean on engines where a failed statement
		// aborts it.
		if _, err := tx.AccountByEmail(ctx, su.Email); err == nil {
			return nil // another sign-up for this address was completed first
		} else if !errors.Is(err, tacit.ErrNotFound) {
			return err
		}
		a := tacit.Account{Email: su.Email, PasswordHash: pwHash, CreatedAt: now}
		if err := tx.CreateAccount(ctx, &a); errors.Is(err, tacit.ErrConflict) {
			return errTokenSpent // lost a race with a concurrent completion
		} else if err != nil {
			return err
		}
		if !fullForm {
			s.rememberCompletion(tacit.HashToken(token), su.Email, now)
		}
		ns, err = s.startSession(ctx, tx, a.ID, c, now, tacit.SessionPassword)
		return err
	})
	if errors.Is(err, errTokenSpent) || (err == nil && ns == nil) {
		return tacit.Outcome{Kind: tacit.InvalidToken}, nil
	}
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("create account: %w", err)
	}
	return tacit.Outcome{Kind: kind, Session: ns}, nil
}

package flow

import (
	"context"
	"errors"
	"fmt"

	"github.com/tacitauth/tacit"
)

// CompleteInput finishes an email-first sign-up from the mailed link.
type CompleteInput struct {
	Token           string
	Password        string
	PasswordConfirm string
}

// CompleteSignup creates the account for a valid sign-up token and a valid
// password, and signs in: AccountCreated with a session. The token proves
// control of the mailbox, so these answers may differ: a bad token gets
// InvalidToken, a bad password Invalid.
func (s *Service) CompleteSignup(ctx context.Context, in CompleteInput, c Client) (tacit.Outcome, error) {
	if !s.signupTokenLive(ctx, in.Token) {
		return tacit.Outcome{Kind: tacit.InvalidToken}, nil
	}
	if fe := s.cfg.Policy.Check(in.Password, in.PasswordConfirm); len(fe) > 0 {
		return tacit.InvalidInput(fe), nil
	}
	hash, err := s.hasher.Hash(tacit.NormalizePassword(in.Password))
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("complete sign-up: %w", err)
	}
	return s.createAccount(ctx, in.Token, hash, tacit.AccountCreated, c)
}

// Verify confirms a full-form sign-up from the mailed link, creates the
// account with the password chosen at sign-up and signs in: SignedIn with a
// session, or InvalidToken. Email-first sign-ups have no password yet, so
// their tokens work only with CompleteSignup.
func (s *Service) Verify(ctx context.Context, token string, c Client) (tacit.Outcome, error) {
	if !s.signupTokenLive(ctx, token) {
		return tacit.Outcome{Kind: tacit.InvalidToken}, nil
	}
	return s.createAccount(ctx, token, "", tacit.SignedIn, c)
}

// signupTokenLive reports whether token belongs to an unexpired sign-up.
func (s *Service) signupTokenLive(ctx context.Context, token string) bool {
	if !tacit.WellFormedToken(token) {
		return false
	}
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		_, err := tx.SignupByToken(ctx, tacit.HashToken(token), s.cfg.Now())
		return err
	})
	return err == nil
}

// errTokenSpent ends a transaction, rolling it back, whose token turned out
// not to work.
var errTokenSpent = errors.New("token spent")

// createAccount turns the sign-up behind token into an account, deletes every
// sign-up for the address (the first one completed wins) and starts a
// session. pwHash replaces the sign-up's own password hash when set.
func (s *Service) createAccount(ctx context.Context, token, pwHash string, kind tacit.OutcomeKind, c Client) (tacit.Outcome, error) {
	var ns *tacit.NewSession
	err := s.update(ctx, func(tx tacit.Tx) error {
		now := s.cfg.Now()
		su, err := tx.SignupByToken(ctx, tacit.HashToken(token), now)
		if errors.Is(err, tacit.ErrNotFound) {
			return errTokenSpent // used or expired since signupTokenLive
		}
		if err != nil {
			return err
		}
		if pwHash == "" {
			pwHash = su.PasswordHash
		}
		if pwHash == "" {
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
		ns, err = s.startSession(ctx, tx, a.ID, c, now)
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

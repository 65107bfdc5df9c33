package flow

import (
	"context"
	"errors"
	"fmt"

	"github.com/tacitauth/tacit"
)

// Errors of the operator's actions. Unlike the public flows, these say
// whether an address has an account: only an operator reaches them.
var (
	// ErrNoAccount means the address has no account.
	ErrNoAccount = errors.New("no account")
	// ErrHasAccount means the address has an account already.
	ErrHasAccount = errors.New("already has an account")
	// ErrAccountDisabled means the action needs an account that is not
	// disabled.
	ErrAccountDisabled = errors.New("the account is disabled")
	// ErrBadAddress means the address is empty or malformed.
	ErrBadAddress = errors.New("not a valid email address")
)

// Operator runs what an operator does to accounts, by address: `tacit
// users` and the administration API. Its answers tell whether an address
// has an account, so no public endpoint may reach it. Mail it queues is
// the operator's choice and does not count against the address's mail
// allowance (Limits.Mail), which protects inboxes from outsiders.
type Operator struct {
	store tacit.Store
	cfg   Config
}

// NewOperator returns an Operator over store. cfg.Links is required (the
// mailed links); the sign-up and reset link lifetimes come from cfg too.
func NewOperator(store tacit.Store, cfg Config) (*Operator, error) {
	if cfg.Links.Base == nil {
		return nil, errors.New("flow: Config.Links.Base is required")
	}
	return &Operator{store: store, cfg: cfg.withDefaults()}, nil
}

// address normalises raw and checks it.
func (o *Operator) address(raw string) (string, error) {
	email, fe := checkEmail(raw)
	if len(fe) > 0 {
		return "", fmt.Errorf("%q is %w", raw, ErrBadAddress)
	}
	return email, nil
}

// account runs fn in a read-write transaction on the account of raw,
// locked (see tacit.AccountStore.AccountByID) for the transaction.
func (o *Operator) account(ctx context.Context, raw string, fn func(tx tacit.Tx, a tacit.Account) error) error {
	email, err := o.address(raw)
	if err != nil {
		return err
	}
	err = o.store.Update(ctx, func(tx tacit.Tx) error {
		a, err := tx.AccountByEmail(ctx, email)
		if err == nil {
			a, err = tx.AccountByID(ctx, a.ID)
		}
		if errors.Is(err, tacit.ErrNotFound) {
			return fmt.Errorf("%w for %s", ErrNoAccount, email)
		}
		if err != nil {
			return err
		}
		return fn(tx, a)
	})
	if err == nil && o.cfg.MailQueued != nil {
		o.cfg.MailQueued()
	}
	return err
}

// Disable disables the account of an address: it can no longer sign in,
// and everything it had started ends (sessions, sign-ins waiting for the
// second step, reset and address-change links). Every public flow then
// answers for the address as for one without an account. It reports
// whether the account was enabled before.
func (o *Operator) Disable(ctx context.Context, email string) (changed bool, err error) {
	err = o.account(ctx, email, func(tx tacit.Tx, a tacit.Account) error {
		changed = !a.Disabled
		if err := tx.SetDisabled(ctx, a.ID, true); err != nil {
			return err
		}
		if err := o.record(ctx, tx, a.ID, tacit.EventDisabled, changed); err != nil {
			return err
		}
		return endEverything(ctx, tx, a.ID)
	})
	return changed, err
}

// Enable lets a disabled account sign in again with its password. It
// reports whether the account was disabled before.
func (o *Operator) Enable(ctx context.Context, email string) (changed bool, err error) {
	err = o.account(ctx, email, func(tx tacit.Tx, a tacit.Account) error {
		changed = a.Disabled
		if err := tx.SetDisabled(ctx, a.ID, false); err != nil {
			return err
		}
		return o.record(ctx, tx, a.ID, tacit.EventEnabled, changed)
	})
	return changed, err
}

// Delete deletes the account of an address and everything tied to it
// (tacit.AccountStore.DeleteAccount): the address is then as if it never
// had an account, and can sign up again. No mail is sent.
func (o *Operator) Delete(ctx context.Context, email string) error {
	return o.account(ctx, email, func(tx tacit.Tx, a tacit.Account) error {
		return tx.DeleteAccount(ctx, a.ID)
	})
}

// EndSessions signs the account of an address out everywhere: every
// session and every sign-in waiting for its second step. It returns how
// many sessions there were.
func (o *Operator) EndSessions(ctx context.Context, email string) (n int, err error) {
	err = o.account(ctx, email, func(tx tacit.Tx, a tacit.Account) error {
		list, err := tx.SessionsByAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		n = len(list)
		if err := tx.DeleteSessions(ctx, a.ID, 0); err != nil {
			return err
		}
		if err := o.record(ctx, tx, a.ID, tacit.EventSessionsEndedByOperator, true); err != nil {
			return err
		}
		return tx.DeleteMFAChallenges(ctx, a.ID)
	})
	return n, err
}

// SendReset mails the account's owner a password reset link, as a reset
// request would. A disabled account is ErrAccountDisabled: its owner
// could do nothing with the link.
func (o *Operator) SendReset(ctx context.Context, email string) error {
	return o.account(ctx, email, func(tx tacit.Tx, a tacit.Account) error {
		if a.Disabled {
			return fmt.Errorf("%w: %s", ErrAccountDisabled, a.Email)
		}
		m, err := resetLink(ctx, tx, o.cfg, a, o.cfg.Now())
		if err != nil {
			return err
		}
		if err := o.record(ctx, tx, a.ID, tacit.EventResetSent, true); err != nil {
			return err
		}
		return tx.EnqueueMail(ctx, &m)
	})
}

// Invite mails an address without an account a link to choose a password
// and so make its account, as an email-first sign-up does (whatever the
// registration mode): the account exists only once its owner has proved
// the mailbox is theirs. An address with an account is ErrHasAccount.
func (o *Operator) Invite(ctx context.Context, raw string) error {
	email, err := o.address(raw)
	if err != nil {
		return err
	}
	err = o.store.Update(ctx, func(tx tacit.Tx) error {
		_, err := tx.AccountByEmail(ctx, email)
		if err == nil {
			return fmt.Errorf("%s %w", email, ErrHasAccount)
		}
		if !errors.Is(err, tacit.ErrNotFound) {
			return err
		}
		now := o.cfg.Now()
		token, th := tacit.NewToken()
		su := tacit.Signup{Email: email, TokenHash: th, CreatedAt: now, ExpiresAt: now.Add(o.cfg.SignupTTL)}
		if err := tx.CreateSignup(ctx, &su); err != nil {
			return err
		}
		return tx.EnqueueMail(ctx, &tacit.Mail{Kind: tacit.MailFinishSignup, To: email, CreatedAt: now, Data: map[string]string{
			"link": o.cfg.Links.CompleteSignup(token), "expires": humanDuration(o.cfg.SignupTTL),
		}})
	})
	if err == nil && o.cfg.MailQueued != nil {
		o.cfg.MailQueued()
	}
	return err
}

// endEverything ends what an account has started: its sessions, its
// sign-ins waiting for the second step, and its reset and address-change
// links.
func endEverything(ctx context.Context, tx tacit.Tx, accountID int64) error {
	for _, end := range []func(context.Context, int64) error{
		func(ctx context.Context, id int64) error { return tx.DeleteSessions(ctx, id, 0) },
		tx.DeleteMFAChallenges, tx.DeleteResetTokens, tx.DeleteEmailChanges,
	} {
		if err := end(ctx, accountID); err != nil {
			return err
		}
	}
	return nil
}

// record appends an operator's action to the account's activity, if it
// changed anything.
func (o *Operator) record(ctx context.Context, tx tacit.Tx, accountID int64, kind tacit.EventKind, changed bool) error {
	if !changed {
		return nil
	}
	return addEvent(ctx, tx, tacit.Event{AccountID: accountID, Kind: kind, At: o.cfg.Now()})
}

// Operator returns the operator's actions over the service's store and
// configuration, for the administration API: the mail they queue wakes
// the same worker as the flows'.
func (s *Service) Operator() *Operator { return &Operator{store: s.store, cfg: s.cfg} }

package flow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

// ActivityShown is how many of an account's newest events the account
// page and the data download show.
const ActivityShown = 50

// record appends an event to an account's activity, from client c, in
// tx: it is written together with what it records, or not at all. Only
// flows that have proved control of the account record: an outsider's
// request writes nothing here, so the log cannot tell an outsider
// anything by its cost either.
func (s *Service) record(ctx context.Context, tx tacit.Tx, accountID int64, kind tacit.EventKind, c Client, now time.Time) error {
	return addEvent(ctx, tx, tacit.Event{AccountID: accountID, Kind: kind, At: now, IP: c.IP, UserAgent: c.UserAgent})
}

// addEvent appends e, its client strings cut to what is stored per
// session.
func addEvent(ctx context.Context, tx tacit.Tx, e tacit.Event) error {
	e.IP, e.UserAgent = storable(e.IP, maxClientIP), storable(e.UserAgent, maxUserAgent)
	if err := tx.AddEvent(ctx, &e); err != nil {
		return fmt.Errorf("record %s: %w", e.Kind, err)
	}
	return nil
}

// recordSignIn records a sign-in of account a with how many failed
// sign-ins the address's counter holds just before it, its own attempt
// already taken back (passed): the owner learns of guessing on the
// address, which the failures themselves never record, since they are
// the same for an address without an account.
func (s *Service) recordSignIn(ctx context.Context, tx tacit.Tx, a tacit.Account, c Client, now time.Time) error {
	failed := 0
	cnt, err := tx.Counter(ctx, s.throttleKey("login", a.Email), now)
	switch {
	case err == nil:
		failed = cnt.Count
	case !errors.Is(err, tacit.ErrNotFound):
		return err
	}
	e := tacit.Event{AccountID: a.ID, Kind: tacit.EventSignedIn, At: now, IP: c.IP, UserAgent: c.UserAgent, Count: failed}
	return addEvent(ctx, tx, e)
}

// Activity lists the signed-in account's newest events, newest first.
func (s *Service) Activity(ctx context.Context, id Identity) ([]tacit.Event, error) {
	var list []tacit.Event
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		list, err = tx.Events(ctx, id.Account.ID, ActivityShown)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("activity: %w", err)
	}
	return list, nil
}

// NotMe is the owner's "this wasn't me": something in the activity was not
// their doing, so someone else may hold the password or a session. It
// ends every session of the account, this one too, every second step
// waiting and every pending address change, and mails a password reset
// link to the account's address (an owner notice, never held back):
// whoever is in the account is out, and only the mailbox's holder gets
// back in. It needs only the session: a thief who uses it merely signs
// everyone out and sends the owner a reset link. Done.
func (s *Service) NotMe(ctx context.Context, id Identity, c Client) (tacit.Outcome, error) {
	err := s.update(ctx, func(tx tacit.Tx) error {
		a, err := tx.AccountByID(ctx, id.Account.ID)
		if err != nil {
			return err
		}
		now := s.cfg.Now()
		if err := endEverything(ctx, tx, a.ID); err != nil {
			return err
		}
		if err := s.record(ctx, tx, a.ID, tacit.EventNotMe, c, now); err != nil {
			return err
		}
		m, err := resetLink(ctx, tx, s.cfg, a, now)
		if err != nil {
			return err
		}
		return s.notify(ctx, tx, m, now)
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("not me: %w", err)
	}
	return tacit.Outcome{Kind: tacit.Done}, nil
}

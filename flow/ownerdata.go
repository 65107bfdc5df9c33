package flow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

// DeleteAccount deletes the signed-in account and everything tied to it
// (tacit.AccountStore.DeleteAccount), once its password is given: Done,
// Invalid without a password, InvalidCredentials for a wrong one (counted
// like a failed sign-in, so a stolen session cannot guess it freely), or
// Throttled. The former owner is mailed a confirmation, which also warns
// them if it was not their doing. The address is then as if it never had
// an account: every public flow answers for it as for any other, and it
// can sign up again.
func (s *Service) DeleteAccount(ctx context.Context, id Identity, password string, c Client) (tacit.Outcome, error) {
	if password == "" {
		return tacit.InvalidInput(tacit.FieldErrors{"password": tacit.CodeRequired}), nil
	}
	verified, o, err := s.checkPassword(ctx, id, password, c)
	if errors.Is(err, tacit.ErrNotFound) {
		// Deleted by a request of a moment ago.
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	if err != nil || o.Kind != "" {
		return o, err
	}
	err = s.update(ctx, func(tx tacit.Tx) error {
		// A reset or a disable that landed since the check wins.
		if err := unchanged(ctx, tx, verified); err != nil {
			return err
		}
		if err := tx.DeleteAccount(ctx, verified.ID); err != nil {
			return err
		}
		return s.notify(ctx, tx, tacit.Mail{Kind: tacit.MailAccountDeleted, To: verified.Email, Data: map[string]string{
			"register": s.cfg.Links.Register(),
		}}, s.cfg.Now())
	})
	if errors.Is(err, errPasswordReplaced) {
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("delete account: %w", err)
	}
	return tacit.Outcome{Kind: tacit.Done}, nil
}

// OwnerData is everything tacit keeps about an account that its owner may
// read, as "Download my data" gives it: never a password hash, a token or
// an authenticator's secret, which are credentials, not data about the
// owner.
type OwnerData struct {
	ExportedAt time.Time      `json:"exported_at"`
	Account    OwnerAccount   `json:"account"`
	TwoStep    OwnerTwoStep   `json:"two_step_sign_in"`
	Sessions   []OwnerSession `json:"sessions"`
	Activity   []OwnerEvent   `json:"activity"`
}

// OwnerEvent is one event of the account's activity.
type OwnerEvent struct {
	Kind      tacit.EventKind `json:"kind"`
	At        time.Time       `json:"at"`
	IP        string          `json:"ip,omitempty"`
	UserAgent string          `json:"user_agent,omitempty"`
	// FailedBefore is, for a sign-in, how many failed sign-ins of the
	// address came just before it.
	FailedBefore int `json:"failed_before,omitempty"`
}

// ownerEvent is e as its owner sees it.
func ownerEvent(e tacit.Event) OwnerEvent {
	return OwnerEvent{Kind: e.Kind, At: e.At.UTC(), IP: e.IP, UserAgent: e.UserAgent, FailedBefore: e.Count}
}

// OperatorEvent is one event of an account as an operator sees it: what
// its owner sees and, for an administration API call, its audit record.
type OperatorEvent struct {
	OwnerEvent
	Actor     string `json:"actor,omitempty"`
	Operation string `json:"operation,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
}

// AccountReport is an account and its newest events, as `tacit users
// show --json` prints it and the administration API shows it.
type AccountReport struct {
	tacit.AccountInfo
	Activity []OperatorEvent `json:"activity"`
}

// ReportOf makes the report of an account from what Operator.Show returns.
func ReportOf(info tacit.AccountInfo, events []tacit.Event) AccountReport {
	r := AccountReport{AccountInfo: info, Activity: []OperatorEvent{}}
	for _, e := range events {
		r.Activity = append(r.Activity, OperatorEvent{OwnerEvent: ownerEvent(e), Actor: e.Actor, Operation: e.Operation, Outcome: e.Outcome})
	}
	return r
}

// OwnerAccount is the account itself.
type OwnerAccount struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// OwnerTwoStep is the account's two-step sign-in.
type OwnerTwoStep struct {
	Enabled           bool      `json:"enabled"`
	Since             time.Time `json:"since,omitzero"`
	RecoveryCodesLeft int       `json:"recovery_codes_left"`
}

// OwnerSession is one live session.
type OwnerSession struct {
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

// maxExportedEvents bounds the activity in a download; retention bounds
// it too.
const maxExportedEvents = 10_000

// ExportData returns what tacit keeps about the signed-in account.
func (s *Service) ExportData(ctx context.Context, id Identity) (OwnerData, error) {
	now := s.cfg.Now()
	out := OwnerData{ExportedAt: now.UTC(), Sessions: []OwnerSession{}, Activity: []OwnerEvent{}}
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		a, err := tx.AccountByID(ctx, id.Account.ID)
		if err != nil {
			return err
		}
		out.Account = OwnerAccount{ID: a.ID, Email: a.Email, CreatedAt: a.CreatedAt.UTC()}
		t, err := tx.TOTPByAccount(ctx, a.ID)
		switch {
		case err == nil && t.Enabled:
			out.TwoStep.Enabled, out.TwoStep.Since = true, t.CreatedAt.UTC()
			if out.TwoStep.RecoveryCodesLeft, err = tx.RecoveryCodesLeft(ctx, a.ID); err != nil {
				return err
			}
		case err != nil && !errors.Is(err, tacit.ErrNotFound):
			return err
		}
		events, err := tx.Events(ctx, a.ID, maxExportedEvents)
		if err != nil {
			return err
		}
		for _, e := range events {
			out.Activity = append(out.Activity, ownerEvent(e))
		}
		sessions, err := tx.SessionsByAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, ss := range sessions {
			if s.sessionLive(ss, now) {
				out.Sessions = append(out.Sessions, OwnerSession{
					CreatedAt: ss.CreatedAt.UTC(), LastSeenAt: ss.LastSeenAt.UTC(), ExpiresAt: ss.ExpiresAt.UTC(),
					UserAgent: ss.UserAgent, IP: ss.IP, Current: ss.ID == id.Session.ID,
				})
			}
		}
		return nil
	})
	if err != nil {
		return OwnerData{}, fmt.Errorf("export data: %w", err)
	}
	return out, nil
}

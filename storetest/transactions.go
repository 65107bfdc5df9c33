package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

var errAbort = errors.New("abort")

// writeEverything writes one row of each kind, as a flow's transaction
// would.
func writeEverything(ctx context.Context, tx tacit.Tx, email string) error {
	a := tacit.Account{Email: email, PasswordHash: "h", CreatedAt: base}
	if err := tx.CreateAccount(ctx, &a); err != nil {
		return err
	}
	su := tacit.Signup{Email: email, TokenHash: hash(1), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := tx.CreateSignup(ctx, &su); err != nil {
		return err
	}
	se := tacit.Session{AccountID: a.ID, TokenHash: hash(2), CreatedAt: base, LastSeenAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := tx.CreateSession(ctx, &se); err != nil {
		return err
	}
	m := tacit.Mail{Kind: tacit.MailVerify, To: email, Data: map[string]string{"link": "x"}, CreatedAt: base}
	return tx.EnqueueMail(ctx, &m)
}

// wantNothingWritten fails unless writeEverything left no trace.
func wantNothingWritten(t *testing.T, s tacit.Store, email string) {
	t.Helper()
	ctx := context.Background()
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.AccountByEmail(ctx, email)
		wantErr(t, "account after rollback", err, tacit.ErrNotFound)
		_, err = tx.SignupByToken(ctx, hash(1), base)
		wantErr(t, "signup after rollback", err, tacit.ErrNotFound)
		_, err = tx.SessionByToken(ctx, hash(2))
		wantErr(t, "session after rollback", err, tacit.ErrNotFound)
		return nil
	})
	mails, err := s.ClaimMail(ctx, base.Add(24*time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatalf("ClaimMail: %v", err)
	}
	if len(mails) != 0 {
		t.Fatalf("mail queued by a rolled-back transaction was claimed: %+v", mails)
	}
}

// A failed Update keeps nothing, queued mail included: the transactional
// outbox must never send a mail for a change that did not happen.
func testUpdateRollsBack(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	err := s.Update(ctx, func(tx tacit.Tx) error {
		if err := writeEverything(ctx, tx, "ada@example.com"); err != nil {
			return err
		}
		return errAbort
	})
	wantErr(t, "Update returning an error", err, errAbort)
	wantNothingWritten(t, s, "ada@example.com")

	// A refused write aborts the earlier writes of its transaction too.
	createAccount(t, s, "bob@example.com")
	err = s.Update(ctx, func(tx tacit.Tx) error {
		if err := writeEverything(ctx, tx, "ada@example.com"); err != nil {
			return err
		}
		dup := tacit.Account{Email: "bob@example.com", PasswordHash: "h", CreatedAt: base}
		return tx.CreateAccount(ctx, &dup)
	})
	wantErr(t, "Update ending in a conflict", err, tacit.ErrConflict)
	wantNothingWritten(t, s, "ada@example.com")

	// A panic rolls back and leaves the store usable.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic in Update did not propagate")
			}
		}()
		s.Update(ctx, func(tx tacit.Tx) error {
			if err := writeEverything(ctx, tx, "ada@example.com"); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	wantNothingWritten(t, s, "ada@example.com")
	createAccount(t, s, "carol@example.com")
}

func testView(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.AccountByID(ctx, a.ID)
		if err != nil {
			return err
		}
		equal(t, "committed account seen by View", utcAccount(got), a)
		return nil
	})
	err := s.View(ctx, func(tx tacit.Tx) error { return errAbort })
	wantErr(t, "View returning an error", err, errAbort)
}

func testViewIsReadOnly(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	err := s.View(ctx, func(tx tacit.Tx) error {
		a := tacit.Account{Email: "ada@example.com", PasswordHash: "h", CreatedAt: base}
		return tx.CreateAccount(ctx, &a)
	})
	if err == nil {
		t.Fatal("CreateAccount inside View succeeded")
	}
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.AccountByEmail(ctx, "ada@example.com")
		wantErr(t, "account written in View", err, tacit.ErrNotFound)
		return nil
	})
}

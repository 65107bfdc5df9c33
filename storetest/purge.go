package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// purge calls Purge and fails the test on error.
func purge(t *testing.T, s tacit.Store, now time.Time, keep time.Duration) {
	t.Helper()
	if err := s.Purge(context.Background(), now, keep); err != nil {
		t.Fatalf("Purge: %v", err)
	}
}

// exists reads the answer of a probe that re-applies a mail's own last
// mark (MailSent with its sent time, MailFailed giving up again): it
// changes nothing on a kept row and is ErrNotFound on a purged one.
func exists(t *testing.T, probe error) bool {
	t.Helper()
	if probe != nil && !errors.Is(probe, tacit.ErrNotFound) {
		t.Fatalf("probing mail: %v", probe)
	}
	return probe == nil
}

func testPurge(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	// Giving up on a mail has no time argument, so engines stamp it with
	// their clock: the whole test runs near the real present.
	now := time.Now().UTC().Truncate(time.Microsecond)
	const keep = time.Hour
	long := 24 * time.Hour

	a := createAccount(t, s, "ada@example.com")
	oldSignup := createSignup(t, s, "ada@example.com", hash(1), now.Add(-long), now.Add(-time.Minute))
	liveSignup := createSignup(t, s, "ada@example.com", hash(2), now.Add(-time.Minute), now.Add(time.Hour))
	oldSession := createSession(t, s, a.ID, hash(3), now.Add(-time.Minute))
	liveSession := createSession(t, s, a.ID, hash(4), now.Add(time.Hour))

	mails := enqueue(t, s, someMails(4)...)
	sentOld, sentRecent, givenUp, pending := mails[0], mails[1], mails[2], mails[3]
	claim(t, s, now.Add(-long), time.Minute, 3)
	for _, err := range []error{
		s.MailSent(ctx, sentOld.ID, now.Add(-2*keep)),
		s.MailSent(ctx, sentRecent.ID, now.Add(-keep/2)),
		s.MailFailed(ctx, givenUp.ID, time.Time{}, "550 no such user"),
	} {
		if err != nil {
			t.Fatalf("marking mail: %v", err)
		}
	}
	oldDev, recentDev := devMail(1, now.Add(-2*keep)), devMail(2, now.Add(-keep/2))
	saveDevMail(t, s, oldDev)
	saveDevMail(t, s, recentDev)

	purge(t, s, now, keep)
	view(t, s, func(tx tacit.Tx) error {
		// An early now would find the expired sign-up if it were still there.
		_, err := tx.SignupByToken(ctx, oldSignup.TokenHash, now.Add(-long))
		wantErr(t, "expired sign-up after Purge", err, tacit.ErrNotFound)
		got, err := tx.SignupByToken(ctx, liveSignup.TokenHash, now)
		if err != nil {
			return err
		}
		equal(t, "live sign-up after Purge", utcSignup(got), liveSignup)
		_, err = tx.SessionByToken(ctx, oldSession.TokenHash)
		wantErr(t, "expired session after Purge", err, tacit.ErrNotFound)
		gotSession, err := tx.SessionByToken(ctx, liveSession.TokenHash)
		if err != nil {
			return err
		}
		equal(t, "live session after Purge", utcSession(gotSession), liveSession)
		return nil
	})
	equal(t, "dev mails after Purge", devMails(t, s), []tacit.DevMail{recentDev})
	equal(t, "mail sent before now-keep is purged", exists(t, s.MailSent(ctx, sentOld.ID, now.Add(-2*keep))), false)
	equal(t, "mail sent after now-keep is kept", exists(t, s.MailSent(ctx, sentRecent.ID, now.Add(-keep/2))), true)
	equal(t, "mail given up just now is kept", exists(t, s.MailFailed(ctx, givenUp.ID, time.Time{}, "550 no such user")), true)

	// Much later everything finished is gone; pending mail never is.
	later := now.Add(3 * keep)
	purge(t, s, later, keep)
	equal(t, "sent mail, later", exists(t, s.MailSent(ctx, sentRecent.ID, now.Add(-keep/2))), false)
	equal(t, "given-up mail, later", exists(t, s.MailFailed(ctx, givenUp.ID, time.Time{}, "550 no such user")), false)
	equal(t, "pending mail after Purge", claim(t, s, later, time.Minute, 10), withAttempts(1, pending))
	equal(t, "dev mails, later", len(devMails(t, s)), 0)
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.SignupByToken(ctx, liveSignup.TokenHash, now.Add(-long))
		wantErr(t, "sign-up expired by later Purge", err, tacit.ErrNotFound)
		_, err = tx.SessionByToken(ctx, liveSession.TokenHash)
		wantErr(t, "session expired by later Purge", err, tacit.ErrNotFound)
		got, err := tx.AccountByID(ctx, a.ID)
		if err != nil {
			return err
		}
		equal(t, "account after Purge", utcAccount(got), a)
		return nil
	})
}

// Purge also removes expired reset tokens, email changes and counters, and
// keeps the live ones. Each expired row is probed at a time before its
// expiry, when it would still be found had it stayed.
func testPurgeLifecycle(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	now := base
	early := now.Add(-3 * time.Hour)
	a := createAccount(t, s, "ada@example.com")
	oldReset := createResetToken(t, s, a, hash(1), now.Add(-time.Hour))
	atReset := createResetToken(t, s, a, hash(2), now)
	liveReset := createResetToken(t, s, a, hash(3), now.Add(time.Hour))
	oldChange := createEmailChange(t, s, a.ID, "ada@example.org", hash(4), now.Add(-time.Hour))
	liveChange := createEmailChange(t, s, a.ID, "ada@example.net", hash(5), now.Add(time.Microsecond))
	hit(t, s, counterKey(1), now.Add(-2*time.Hour), time.Hour)
	hit(t, s, counterKey(2), now.Add(-time.Hour), time.Hour) // expires at now
	liveCounter := hit(t, s, counterKey(3), now.Add(-time.Hour), 2*time.Hour)

	purge(t, s, now, time.Hour)
	view(t, s, func(tx tacit.Tx) error {
		for _, r := range []tacit.ResetToken{oldReset, atReset} {
			_, err := tx.ResetTokenByHash(ctx, r.TokenHash, early)
			wantErr(t, "expired reset token after Purge", err, tacit.ErrNotFound)
		}
		gotReset, err := tx.ResetTokenByHash(ctx, liveReset.TokenHash, early)
		if err != nil {
			return err
		}
		equal(t, "live reset token after Purge", utcResetToken(gotReset), liveReset)
		_, err = tx.EmailChangeByToken(ctx, oldChange.TokenHash, early)
		wantErr(t, "expired email change after Purge", err, tacit.ErrNotFound)
		gotChange, err := tx.EmailChangeByToken(ctx, liveChange.TokenHash, early)
		if err != nil {
			return err
		}
		equal(t, "live email change after Purge", utcEmailChange(gotChange), liveChange)
		return nil
	})
	for _, key := range [][]byte{counterKey(1), counterKey(2)} {
		if _, ok := counter(t, s, key, early); ok {
			t.Fatalf("expired counter %x found after Purge", key)
		}
	}
	got, _ := counter(t, s, counterKey(3), early)
	equal(t, "live counter after Purge", got, liveCounter)
	equal(t, "counters left after Purge", trim(t, s, early, 10), 1)
}

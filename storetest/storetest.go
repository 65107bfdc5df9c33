// Package storetest is the behaviour every tacit.Store must show, as one
// test suite that each storage engine runs against itself:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) tacit.Store { return openMigrated(t) })
//	}
//
// The suite uses only the tacit.Store interface, so it holds no engine's
// quirks. Times in it are whole microseconds, the precision every engine
// keeps.
package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// Run runs the suite. open must return a fresh, empty, migrated store for
// each subtest and arrange (with t.Cleanup) for it to be closed.
func Run(t *testing.T, open func(t *testing.T) tacit.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s tacit.Store)
	}{
		{"AccountCreateAndLookup", testAccountCreateAndLookup},
		{"AccountNotFound", testAccountNotFound},
		{"AccountDuplicateEmail", testAccountDuplicateEmail},
		{"SignupByToken", testSignupByToken},
		{"SignupByTokenExpiry", testSignupByTokenExpiry},
		{"LatestSignup", testLatestSignup},
		{"DeleteSignups", testDeleteSignups},
		{"SessionLifecycle", testSessionLifecycle},
		{"SessionExpiredStillFound", testSessionExpiredStillFound},
		{"SessionUnknownAccount", testSessionUnknownAccount},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"View", testView},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"ClaimMail", testClaimMail},
		{"ClaimMailLimit", testClaimMailLimit},
		{"ClaimMailLeaseExpiry", testClaimMailLeaseExpiry},
		{"MailSent", testMailSent},
		{"MailFailedRetry", testMailFailedRetry},
		{"MailFailedGiveUp", testMailFailedGiveUp},
		{"MailUnknownID", testMailUnknownID},
		{"ConcurrentClaimers", testConcurrentClaimers},
		{"DevMailbox", testDevMailbox},
		{"DevMailboxCap", testDevMailboxCap},
		{"Purge", testPurge},
		{"UpdatePassword", testUpdatePassword},
		{"UpdateEmail", testUpdateEmail},
		{"SessionsByAccount", testSessionsByAccount},
		{"DeleteAccountSession", testDeleteAccountSession},
		{"DeleteSessions", testDeleteSessions},
		{"ResetToken", testResetToken},
		{"ResetTokenExpiry", testResetTokenExpiry},
		{"TokensSpentOnce", testTokensSpentOnce},
		{"EmailChange", testEmailChange},
		{"EmailChangeExpiry", testEmailChangeExpiry},
		{"CounterHit", testCounterHit},
		{"CounterRestart", testCounterRestart},
		{"DeleteCounter", testDeleteCounter},
		{"HitCounterConcurrent", testHitCounterConcurrent},
		{"TrimCounters", testTrimCounters},
		{"TrimCountersExpired", testTrimCountersExpired},
		{"Secret", testSecret},
		{"SecretConcurrent", testSecretConcurrent},
		{"PurgeLifecycle", testPurgeLifecycle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// base is an arbitrary instant in UTC, in whole microseconds.
var base = time.Date(2031, 3, 4, 5, 6, 7, 891011000, time.UTC)

// update runs fn in s.Update and fails the test on error.
func update(t *testing.T, s tacit.Store, fn func(tx tacit.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in s.View and fails the test on error.
func view(t *testing.T, s tacit.Store, fn func(tx tacit.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// equal fails the test unless got and want are deeply equal. Callers pass
// values through the utc* helpers first, since engines may return times in
// another location.
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func utcAccount(a tacit.Account) tacit.Account {
	a.CreatedAt = a.CreatedAt.UTC()
	return a
}

func utcSignup(s tacit.Signup) tacit.Signup {
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
	return s
}

func utcSession(s tacit.Session) tacit.Session {
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	return s
}

// utcMail also treats empty and nil Data alike.
func utcMail(m tacit.Mail) tacit.Mail {
	m.CreatedAt = m.CreatedAt.UTC()
	if len(m.Data) == 0 {
		m.Data = nil
	}
	return m
}

func utcDevMail(m tacit.DevMail) tacit.DevMail {
	m.SentAt = m.SentAt.UTC()
	return m
}

// hash returns a distinct 32-byte token hash for n.
func hash(n byte) []byte {
	return tacit.HashToken(string([]byte{'t', n}))
}

func createAccount(t *testing.T, s tacit.Store, email string) tacit.Account {
	t.Helper()
	a := tacit.Account{Email: email, PasswordHash: "$argon2id$hash-of-" + email, CreatedAt: base}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateAccount(context.Background(), &a) })
	return a
}

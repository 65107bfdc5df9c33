// Package storetest is the behaviour every tacit.Store must show, as one
// test suite that each storage engine runs against itself:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, storetest.Engine[*DB]{Open: Open, Fresh: ..., Row: ...})
//	}
//
// The suite uses the tacit.Store interface and Migrate, and plain SQL only
// to read the columns that interface never returns (how a time is stored,
// what is left of sent mail, which migrations ran), so it holds no
// engine's quirks. Times in it are
// whole microseconds, the precision every engine keeps.
package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/sqlstore"
)

// Engine is a storage engine under test, S its store type.
type Engine[S Migrator] struct {
	// Open is the engine's Open: it opens the database at where (a file
	// path, a URL) without migrating it.
	Open func(ctx context.Context, where string) (S, error)
	// Fresh returns where a new, empty database is, and arranges (with
	// t.Cleanup) for it to be removed when the test ends.
	Fresh func(t *testing.T) string
	// Row runs query, which takes no parameters, on s's database outside
	// any transaction and scans its one row into dest: the suite reads
	// the columns the Store interface never returns with it.
	Row func(s S, query string, dest ...any) error
	// Exec runs statement, which takes no parameters, on s's database
	// outside any transaction: the suite undoes a migration's record
	// with it, to run that migration over rows written since.
	Exec func(s S, statement string) error
	// Snapshot is the engine's OpenSnapshot: it opens a read-only
	// snapshot of the database at where, for the copy (see Copy).
	Snapshot func(ctx context.Context, where string) (*sqlstore.Snapshot, error)
}

// Migrator is a store that brings its own schema up to date, as every
// engine's does.
type Migrator interface {
	tacit.Store
	// Migrate applies the migrations not yet applied; every instance
	// runs it when it starts.
	Migrate(ctx context.Context) error
	// MigrationsCurrent reports whether every migration has been applied.
	MigrationsCurrent(ctx context.Context) (bool, error)
}

// OpenAt opens the database at where and closes it when the test ends,
// before Fresh's cleanup removes the database: cleanups run
// last-registered first.
func (e Engine[S]) OpenAt(t *testing.T, where string) S {
	t.Helper()
	s, err := e.Open(context.Background(), where)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// OpenMigrated opens a fresh, migrated database.
func (e Engine[S]) OpenMigrated(t *testing.T) S {
	t.Helper()
	return e.openMigratedAt(t, e.Fresh(t))
}

// OpenTwo is OpenMigrated with a second handle on the same database, as a
// second server instance would open it.
func (e Engine[S]) OpenTwo(t *testing.T) (first, second S) {
	t.Helper()
	where := e.Fresh(t)
	return e.openMigratedAt(t, where), e.OpenAt(t, where)
}

// openMigratedAt is OpenAt followed by Migrate.
func (e Engine[S]) openMigratedAt(t *testing.T, where string) S {
	t.Helper()
	s := e.OpenAt(t, where)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// engine is what the suite's tests use of an Engine, whatever its store
// type.
type engine interface {
	// fresh is OpenMigrated.
	fresh(t *testing.T) tacit.Store
	// pair is OpenTwo.
	pair(t *testing.T) (first, second tacit.Store)
	// unmigrated opens n handles on a fresh database and does not
	// migrate it.
	unmigrated(t *testing.T, n int) []Migrator
	// row runs Row and fails the test on error.
	row(t *testing.T, s tacit.Store, query string, dest ...any)
	// exec runs Exec and fails the test on error.
	exec(t *testing.T, s tacit.Store, statement string)
}

func (e Engine[S]) fresh(t *testing.T) tacit.Store { return e.OpenMigrated(t) }

func (e Engine[S]) pair(t *testing.T) (tacit.Store, tacit.Store) { return e.OpenTwo(t) }

func (e Engine[S]) unmigrated(t *testing.T, n int) []Migrator {
	where := e.Fresh(t)
	dbs := make([]Migrator, n)
	for i := range dbs {
		dbs[i] = e.OpenAt(t, where)
	}
	return dbs
}

func (e Engine[S]) row(t *testing.T, s tacit.Store, query string, dest ...any) {
	t.Helper()
	if err := e.Row(s.(S), query, dest...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func (e Engine[S]) exec(t *testing.T, s tacit.Store, statement string) {
	t.Helper()
	if err := e.Exec(s.(S), statement); err != nil {
		t.Fatalf("%s: %v", statement, err)
	}
}

// Run runs the suite, each subtest on databases of its own.
func Run[S Migrator](t *testing.T, e Engine[S]) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e engine)
	}{
		{"Migrate", testMigrate},
		{"MigrateConcurrent", testMigrateConcurrent},
		{"RenormalizeAddresses", testRenormalizeAddresses},
		{"HashSamples", one(testHashSamples)},
		{"AccountCreateAndLookup", one(testAccountCreateAndLookup)},
		{"AccountNotFound", one(testAccountNotFound)},
		{"AccountDuplicateEmail", one(testAccountDuplicateEmail)},
		{"TimesStored", testTimesStored},
		{"SignupByToken", one(testSignupByToken)},
		{"SignupByTokenExpiry", one(testSignupByTokenExpiry)},
		{"LatestSignup", one(testLatestSignup)},
		{"PendingSignups", one(testPendingSignups)},
		{"DeleteSignups", one(testDeleteSignups)},
		{"SessionLifecycle", one(testSessionLifecycle)},
		{"SessionExpiredStillFound", one(testSessionExpiredStillFound)},
		{"SessionUnknownAccount", one(testSessionUnknownAccount)},
		{"UpdateRollsBack", one(testUpdateRollsBack)},
		{"View", one(testView)},
		{"ViewIsReadOnly", one(testViewIsReadOnly)},
		{"ClaimMail", one(testClaimMail)},
		{"ClaimMailLimit", one(testClaimMailLimit)},
		{"ClaimMailLeaseExpiry", one(testClaimMailLeaseExpiry)},
		{"MailSent", one(testMailSent)},
		{"MailFailedRetry", one(testMailFailedRetry)},
		{"MailFailedGiveUp", one(testMailFailedGiveUp)},
		{"MailUnknownID", one(testMailUnknownID)},
		{"OutboxClearsData", testOutboxClearsData},
		{"DeleteMail", testDeleteMail},
		{"TrimOutbox", testTrimOutbox},
		{"ConcurrentClaimers", testConcurrentClaimers},
		{"DevMailbox", one(testDevMailbox)},
		{"DevMailboxCap", one(testDevMailboxCap)},
		{"Purge", one(testPurge)},
		{"UpdatePassword", one(testUpdatePassword)},
		{"UpdateEmail", one(testUpdateEmail)},
		{"SessionsByAccount", one(testSessionsByAccount)},
		{"DeleteAccountSession", one(testDeleteAccountSession)},
		{"DeleteSessions", one(testDeleteSessions)},
		{"ResetToken", one(testResetToken)},
		{"ResetTokenExpiry", one(testResetTokenExpiry)},
		{"TokensSpentOnce", one(testTokensSpentOnce)},
		{"EmailChange", one(testEmailChange)},
		{"EmailChangeExpiry", one(testEmailChangeExpiry)},
		{"EmailChangeBinding", one(testEmailChangeBinding)},
		{"CounterHit", one(testCounterHit)},
		{"CounterRestart", one(testCounterRestart)},
		{"DeleteCounter", one(testDeleteCounter)},
		{"HitCounterConcurrent", testHitCounterConcurrent},
		{"CheckThenHit", testCheckThenHit},
		{"TrimCounters", one(testTrimCounters)},
		{"TrimCountersExpired", one(testTrimCountersExpired)},
		{"CounterHold", one(testCounterHold)},
		{"PutCounter", one(testPutCounter)},
		{"TrimKeepsHolding", one(testTrimKeepsHolding)},
		{"SpendProof", one(testSpendProof)},
		{"SpendProofConcurrent", one(testSpendProofConcurrent)},
		{"TOTPFailures", one(testTOTPFailures)},
		{"Secret", one(testSecret)},
		{"SecretConcurrent", testSecretConcurrent},
		{"PurgeLifecycle", one(testPurgeLifecycle)},
		{"TOTP", one(testTOTP)},
		{"RecoveryCodes", one(testRecoveryCodes)},
		{"MFAChallenge", one(testMFAChallenge)},
		{"DeleteAccount", testDeleteAccount},
		{"SetDisabled", one(testSetDisabled)},
		{"AccountDirectory", one(testAccountDirectory)},
		{"Activity", one(testActivity)},
		{"AdminTokens", one(testAdminTokens)},
		{"OpenIDKeysAndSubjects", one(testOpenIDKeysAndSubjects)},
		{"OpenIDAuthRequest", one(testOpenIDAuthRequest)},
		{"OpenIDGrantRotation", one(testOpenIDGrantRotation)},
		{"OpenIDClientsAndConsents", one(testOpenIDClientsAndConsents)},
		{"OpenIDPurge", one(testOpenIDPurge)},
		{"Passkeys", one(testPasskeys)},
		{"PasskeyChallenges", one(testPasskeyChallenges)},
		{"PasskeysDieWithAccount", testPasskeysDieWithAccount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, e) })
	}
	t.Run("Copy", func(t *testing.T) { Copy(t, e, e) })
}

// one adapts a test of a single store for Run's table.
func one(fn func(t *testing.T, s tacit.Store)) func(t *testing.T, e engine) {
	return func(t *testing.T, e engine) { fn(t, e.fresh(t)) }
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

package tacit

import (
	"context"
	"time"
)

// Store is the durable state of a tacit deployment. Each storage engine
// (packages sqlite and postgres, which share their queries in
// internal/sqlstore) implements it; the flows see only this.
type Store interface {
	// Update runs fn in one read-write transaction: everything fn writes,
	// including queued mail, is committed together or not at all.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	Outbox
	DevMailbox
	// Purge deletes expired sign-ups, sessions, reset tokens, email
	// changes, MFA and passkey challenges, counters, spent proofs of
	// work, OpenID Connect authorization requests and grants, and
	// delivered mail older than
	// now-keep; it
	// keeps storage bounded.
	Purge(ctx context.Context, now time.Time, keep time.Duration) error
	// TrimCounters deletes expired counters and then, while more than max
	// remain, those that expire soonest among the ones that hold nothing
	// back (HoldUntil at or before now), so a flood of random identifiers
	// cannot grow the table without bound. A counter that holds a key
	// back (a delay or a lock) is never deleted before its hold ends:
	// evicting it would lift the lock. It returns how many remain, which
	// is more than max when the holding counters alone exceed it.
	TrimCounters(ctx context.Context, now time.Time, max int) (int, error)
	// TrimOutbox keeps at most max rows in the outbox, so a flood of
	// requests cannot grow it without bound. While more remain it deletes,
	// oldest first, rows that send nothing and handled mail (sent or
	// abandoned); then, if pending mail alone is over max, the oldest
	// pending mail that is not an owner notice (MailKind.OwnerNotice) and
	// not held by a worker at now. Owner notices are never dropped, so
	// more than max rows may remain.
	TrimOutbox(ctx context.Context, now time.Time, max int) (OutboxTrim, error)
	// PurgeActivity deletes the activity events from before before.
	PurgeActivity(ctx context.Context, before time.Time) error
	Revocations
	// Secret returns the named server secret, creating 32 random bytes
	// the first time. Every instance on one database shares it.
	Secret(ctx context.Context, name string) ([]byte, error)
	Close() error
}

// Revocations tells a cache of sessions when what it holds may have gone
// stale. A revoking transaction is one that ends a session or changes an
// account's password or address; an account disabled or deleted by hand
// counts too.
type Revocations interface {
	// RevocationGeneration reads a number that every instance on the
	// database changes when it commits a revoking transaction.
	RevocationGeneration(ctx context.Context) (int64, error)
	// LocalRevocations counts the revoking transactions run through this
	// Store, committed or not, without any I/O: a cache in the same
	// process drops its entries when it moves.
	LocalRevocations() uint64
}

// Tx is the set of reads and writes available inside a transaction, one
// role interface for each kind of state. Methods that find nothing return
// ErrNotFound; writes that break a uniqueness rule return ErrConflict. A
// function that needs only one role may take that role rather than Tx.
type Tx interface {
	AccountStore
	SignupStore
	SessionStore
	TokenStore
	MFAStore
	PasskeyStore
	CounterStore
	MailQueue
	ActivityStore
	OpenIDStore
	AdminTokenStore
}

// AccountStore reads and changes accounts.
type AccountStore interface {
	AccountByEmail(ctx context.Context, email string) (Account, error)
	AccountByID(ctx context.Context, id int64) (Account, error)
	// CreateAccount inserts a and sets a.ID. ErrConflict if the address
	// already has an account.
	CreateAccount(ctx context.Context, a *Account) error
	// UpdatePassword sets an account's password hash.
	UpdatePassword(ctx context.Context, accountID int64, hash string) error
	// UpdateEmail sets an account's address. ErrConflict if another
	// account has it.
	UpdateEmail(ctx context.Context, accountID int64, email string) error
	// SetDisabled sets whether an account is disabled; ErrNotFound if
	// there is no such account.
	SetDisabled(ctx context.Context, accountID int64, disabled bool) error
	// DeleteAccount removes an account and everything tied to it: its
	// sessions, reset and address-change links, second factors and
	// second-step challenges, and every sign-up of its address, so that
	// the address is left as if it never had an account. ErrNotFound if
	// there is no such account. It is the one place an account is
	// deleted: a table that holds an account's rows deletes them there.
	DeleteAccount(ctx context.Context, accountID int64) error
}

// SignupStore keeps sign-ups waiting for their address to be confirmed.
type SignupStore interface {
	// CreateSignup inserts s and sets s.ID.
	CreateSignup(ctx context.Context, s *Signup) error
	// SignupByToken finds the sign-up whose token hash is h and whose
	// ExpiresAt is after now.
	SignupByToken(ctx context.Context, h []byte, now time.Time) (Signup, error)
	// LatestSignup finds the newest unexpired sign-up for an address.
	LatestSignup(ctx context.Context, email string, now time.Time) (Signup, error)
	// PendingSignups lists up to limit unexpired sign-ups for an
	// address, newest first.
	PendingSignups(ctx context.Context, email string, now time.Time, limit int) ([]Signup, error)
	// DeleteSignups removes every sign-up for an address.
	DeleteSignups(ctx context.Context, email string) error
}

// SessionStore keeps signed-in sessions.
type SessionStore interface {
	// CreateSession inserts s and sets s.ID.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByToken finds the session whose token hash is h (expired
	// ones included: the caller applies idle and absolute expiry).
	SessionByToken(ctx context.Context, h []byte) (Session, error)
	// TouchSession sets a session's LastSeenAt.
	TouchSession(ctx context.Context, id int64, at time.Time) error
	// DeleteSession removes the session whose token hash is h; deleting a
	// missing session is not an error.
	DeleteSession(ctx context.Context, h []byte) error
	// SessionsByAccount lists an account's sessions, newest first.
	SessionsByAccount(ctx context.Context, accountID int64) ([]Session, error)
	// DeleteAccountSession removes one of an account's sessions by id;
	// ErrNotFound if the account has no such session.
	DeleteAccountSession(ctx context.Context, accountID, sessionID int64) error
	// DeleteSessions removes every session of an account except the one
	// with id except (0 keeps none).
	DeleteSessions(ctx context.Context, accountID, except int64) error
}

// TokenStore keeps the single-use links mailed to an account: password
// resets and address changes.
type TokenStore interface {
	// CreateResetToken inserts r and sets r.ID.
	CreateResetToken(ctx context.Context, r *ResetToken) error
	// ResetTokenByHash finds the reset token whose hash is h and whose
	// ExpiresAt is after now.
	ResetTokenByHash(ctx context.Context, h []byte, now time.Time) (ResetToken, error)
	// DeleteResetTokens removes every reset token of an account.
	DeleteResetTokens(ctx context.Context, accountID int64) error

	// CreateEmailChange inserts e and sets e.ID.
	CreateEmailChange(ctx context.Context, e *EmailChange) error
	// EmailChangeByToken finds the email change whose token hash is h and
	// whose ExpiresAt is after now.
	EmailChangeByToken(ctx context.Context, h []byte, now time.Time) (EmailChange, error)
	// DeleteEmailChanges removes every pending email change of an account.
	DeleteEmailChanges(ctx context.Context, accountID int64) error
}

// MFAStore keeps second factors: an account's authenticator, its recovery
// codes, and the sign-ins waiting for their second step.
type MFAStore interface {
	// TOTPByAccount returns an account's authenticator, enabled or not.
	TOTPByAccount(ctx context.Context, accountID int64) (TOTP, error)
	// SaveTOTP stores t as its account's authenticator, replacing any
	// other.
	SaveTOTP(ctx context.Context, t TOTP) error
	// AdvanceTOTP sets an authenticator's LastStep to step if step is
	// after it; otherwise (the code of that step or a later one was
	// accepted already) it changes nothing and returns ErrConflict. The
	// comparison and the write are one statement, so two requests with
	// the same code cannot both pass.
	AdvanceTOTP(ctx context.Context, accountID, step int64) error
	// DeleteTOTP removes an account's authenticator and recovery codes.
	DeleteTOTP(ctx context.Context, accountID int64) error
	// FailTOTP counts one failed second step against an account's
	// authenticator and returns its Failures after it; ErrNotFound if the
	// account has none.
	FailTOTP(ctx context.Context, accountID int64) (int, error)
	// ClearTOTPFailures sets an authenticator's Failures to 0; no error
	// if the account has none.
	ClearTOTPFailures(ctx context.Context, accountID int64) error

	// SetRecoveryCodes replaces an account's recovery codes with those
	// whose hashes are given.
	SetRecoveryCodes(ctx context.Context, accountID int64, hashes [][]byte) error
	// UseRecoveryCode deletes the account's recovery code whose hash is h;
	// ErrNotFound if it has none (never had it, or it was used).
	UseRecoveryCode(ctx context.Context, accountID int64, h []byte) error
	// RecoveryCodesLeft counts an account's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, accountID int64) (int, error)

	// CreateMFAChallenge inserts c and sets c.ID.
	CreateMFAChallenge(ctx context.Context, c *MFAChallenge) error
	// MFAChallengeByToken finds the challenge whose token hash is h and
	// whose ExpiresAt is after now.
	MFAChallengeByToken(ctx context.Context, h []byte, now time.Time) (MFAChallenge, error)
	// FailMFAChallenge counts one wrong code against a challenge and
	// returns its failures so far; ErrNotFound if there is no such
	// challenge.
	FailMFAChallenge(ctx context.Context, id int64) (int, error)
	// DeleteMFAChallenges removes every challenge of an account.
	DeleteMFAChallenges(ctx context.Context, accountID int64) error
}

// ActivityStore keeps each account's activity, an append-only log.
type ActivityStore interface {
	// AddEvent appends e and sets e.ID.
	AddEvent(ctx context.Context, e *Event) error
	// Events lists up to limit of an account's events, newest first.
	Events(ctx context.Context, accountID int64, limit int) ([]Event, error)
}

// PasskeyStore keeps passkeys and the WebAuthn ceremonies waiting for a
// browser's answer.
type PasskeyStore interface {
	// CreatePasskey inserts p and sets p.ID. ErrConflict if its
	// credential id is stored already, for any account.
	CreatePasskey(ctx context.Context, p *Passkey) error
	// PasskeyByCredential finds the passkey whose credential id is id.
	PasskeyByCredential(ctx context.Context, id []byte) (Passkey, error)
	// PasskeysByAccount lists an account's passkeys, oldest first.
	PasskeysByAccount(ctx context.Context, accountID int64) ([]Passkey, error)
	// UsePasskey records a sign-in with passkey id: its new signature
	// counter and backup state, and when.
	UsePasskey(ctx context.Context, id int64, signCount uint32, backupState bool, at time.Time) error
	// RenamePasskey sets the name of one of an account's passkeys;
	// ErrNotFound if the account has no such passkey.
	RenamePasskey(ctx context.Context, accountID, id int64, name string) error
	// DeletePasskey removes one of an account's passkeys; ErrNotFound if
	// the account has no such passkey.
	DeletePasskey(ctx context.Context, accountID, id int64) error
	// DeletePasskeys removes every passkey of an account.
	DeletePasskeys(ctx context.Context, accountID int64) error

	// CreatePasskeyChallenge inserts c and sets c.ID.
	CreatePasskeyChallenge(ctx context.Context, c *PasskeyChallenge) error
	// TakePasskeyChallenge deletes and returns the challenge whose hash
	// is h, if its ExpiresAt is after now; ErrNotFound otherwise. Taking
	// is one statement, so two answers to one challenge cannot both get
	// it.
	TakePasskeyChallenge(ctx context.Context, h []byte, now time.Time) (PasskeyChallenge, error)
	// DeletePasskeyChallenges removes every challenge of an account.
	DeletePasskeyChallenges(ctx context.Context, accountID int64) error
}

// CounterStore keeps the throttling counters.
type CounterStore interface {
	// Counter returns the live counter for key (ErrNotFound if there is
	// none or it expired at or before now).
	Counter(ctx context.Context, key []byte, now time.Time) (Counter, error)
	// HitCounter records one event for key at now and returns the new
	// counter. An expired or missing counter restarts at 1 with FirstAt =
	// now. The counter expires at now+ttl. It must be atomic: concurrent
	// hits are never lost.
	HitCounter(ctx context.Context, key []byte, now time.Time, ttl time.Duration) (Counter, error)
	// DeleteCounter forgets key.
	DeleteCounter(ctx context.Context, key []byte) error
	// HoldCounter sets the HoldUntil of key's counter (no error if there
	// is none). HitCounter keeps the hold of a live counter and clears
	// that of one it restarts.
	HoldCounter(ctx context.Context, key []byte, until time.Time) error
	// PutCounter writes c as it is, replacing any counter for c.Key: it
	// puts back a counter as it was before a hit that is to leave no
	// trace.
	PutCounter(ctx context.Context, c Counter) error
	// SpendProof records that the proof of work with key was accepted,
	// to be remembered until expiresAt (its challenge's expiry, after
	// which it is refused anyway). It returns ErrConflict if key was
	// spent before: a solution is good for one request, on any instance.
	SpendProof(ctx context.Context, key []byte, expiresAt time.Time) error
}

// MailQueue queues mail in a transaction, so that it goes out only if the
// transaction commits; Outbox is the worker's side.
type MailQueue interface {
	// EnqueueMail adds m to the outbox and sets m.ID.
	EnqueueMail(ctx context.Context, m *Mail) error
}

// Outbox is the worker's view of queued mail.
type Outbox interface {
	// ClaimMail returns up to limit undelivered mails that are due at now
	// and not claimed by another worker, and claims them until now+lease
	// (a worker that dies loses its claim when the lease runs out). Each
	// claim counts as an attempt.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error)
	// MailSent records delivery and clears the mail's Data (its tokens).
	MailSent(ctx context.Context, id int64, at time.Time) error
	// DeleteMail removes a mail that had nothing to deliver (MailNone)
	// once a worker has handled it. A missing mail is not an error.
	DeleteMail(ctx context.Context, id int64) error
	// MailFailed records a failed attempt; the mail is due again at next.
	// A zero next gives up on the mail for good.
	MailFailed(ctx context.Context, id int64, next time.Time, reason string) error
}

// OutboxTrim is what TrimOutbox did: the rows left, and how many pending
// mails it dropped unsent.
type OutboxTrim struct {
	Left, Dropped int
}

// DevMailbox keeps the mails captured by the dev mail driver.
type DevMailbox interface {
	SaveDevMail(ctx context.Context, m DevMail) error
	// DevMails returns captured mails, newest first.
	DevMails(ctx context.Context) ([]DevMail, error)
}

// Hasher turns passwords into stored hashes and checks them.
type Hasher interface {
	// Hash returns an encoded hash of password with a fresh salt.
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded, in time that does
	// not depend on where they differ.
	Verify(password, encoded string) (bool, error)
	// NeedsRehash reports whether encoded was made with other parameters
	// than the live ones, so that a password just verified can be stored
	// again with the live ones.
	NeedsRehash(encoded string) bool
}

package tacit

import "time"

// Account is a registered, verified account. Accounts are created only when
// an address owner proves control of the mailbox (docs/DESIGN.md §2), so an
// address under sign-up is a Signup, not an Account.
type Account struct {
	ID           int64
	Email        string // normalised, see NormalizeEmail
	PasswordHash string // PHC string, see package argon2id
	CreatedAt    time.Time
	Disabled     bool
}

// Signup is a pending sign-up: an address that asked to register and has not
// yet followed the link in its mail. Several may exist for one address; the
// first one completed creates the account and the others die.
type Signup struct {
	ID        int64
	Email     string
	TokenHash []byte // SHA-256 of the token mailed to Email
	// PasswordHash is set in full-form mode, where the password is chosen
	// before the address is confirmed; empty in email-first mode.
	PasswordHash string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// Session is a signed-in browser or client. Only the token's hash is stored.
type Session struct {
	ID         int64
	AccountID  int64
	TokenHash  []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry; idle expiry is LastSeenAt+idle
	UserAgent  string
	IP         string
	// Method is how the session was made: what its sign-in proved.
	Method SessionMethod
}

// SessionMethod is how a session was made: the factors its sign-in proved.
// Stored with the session, it never changes: turning two-step sign-in on
// later does not make a session made with the password alone two-factor.
type SessionMethod string

const (
	// SessionPassword is one factor: the password, at a sign-in of an
	// account without a second factor, at sign-up, and for every session
	// made before sessions recorded how they were made.
	SessionPassword SessionMethod = "password"
	// SessionSecondStep is the password and then a second step: an
	// authenticator code, a recovery code or a passkey.
	SessionSecondStep SessionMethod = "second_step"
	// SessionPasskey is a passkey sign-in without the password: the
	// passkey is a thing held, and the authenticator checks its holder
	// (PIN, biometrics: user verification is required at that sign-in),
	// so it counts as two factors.
	SessionPasskey SessionMethod = "passkey"
)

// MultiFactor reports whether a session made by m proved two factors.
func (m SessionMethod) MultiFactor() bool {
	return m == SessionSecondStep || m == SessionPasskey
}

// ResetToken lets the holder of a mailed link set a new password.
type ResetToken struct {
	ID        int64
	AccountID int64
	TokenHash []byte
	// PasswordStamp is PasswordStamp(account's hash) when the token was
	// made. Any password change alters it, so a reset or change kills
	// every older token without a write.
	PasswordStamp []byte
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

// EmailChange is a requested change of address, waiting for the new
// address to confirm it from a mailed link.
type EmailChange struct {
	ID        int64
	AccountID int64
	NewEmail  string
	TokenHash []byte
	// SessionID is the session that asked for the change. Ending that
	// session deletes the change (the storage engines cascade).
	SessionID int64
	// PasswordStamp is PasswordStamp(account's hash) when the change
	// was asked: a password changed since kills it, as it kills reset
	// tokens.
	PasswordStamp []byte
	CreatedAt     time.Time
	ExpiresAt     time.Time
}

// Counter counts events for one throttling key (a keyed hash of an
// identifier or client address, never an account id).
type Counter struct {
	Key       []byte
	Count     int
	FirstAt   time.Time // first event since the counter was (re)started
	LastAt    time.Time // latest event
	ExpiresAt time.Time // the counter is forgotten after this
	// HoldUntil is when the wait this counter imposes ends (zero: none).
	// Until then TrimCounters keeps it whatever the table's size.
	HoldUntil time.Time
}

// TOTP is an account's authenticator app: a time-based one-time password
// (RFC 6238) secret. It is made at set-up and signs in only once Enabled,
// after the owner has typed a first code from it.
type TOTP struct {
	AccountID int64
	Secret    string // base32, as shown to the owner
	Enabled   bool
	// LastStep is the 30-second time step of the newest code accepted. A
	// code of that step or an earlier one is refused, so an observed code
	// cannot be used again (replay).
	LastStep  int64
	CreatedAt time.Time
	// Failures counts failed second steps since the last correct one or
	// the last new password. It does not expire; at the flows' limit the
	// second step is refused until a password reset.
	Failures int
}

// MFAChallenge is the pending second step of a sign-in: made by a correct
// password for an account with MFA on, it lets the holder of its token
// finish signing in with a code. Only the token's hash is stored.
type MFAChallenge struct {
	ID        int64
	AccountID int64
	TokenHash []byte
	Failures  int // wrong codes so far; the challenge dies at a limit
	CreatedAt time.Time
	ExpiresAt time.Time
}

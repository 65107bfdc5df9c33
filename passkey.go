package tacit

import "time"

// Passkey is a WebAuthn credential an account signs in with: a key pair
// whose private half stays in the owner's authenticator (a phone, a
// laptop, a security key). Only the public half and what the
// authenticator reported about it are stored.
type Passkey struct {
	ID        int64
	AccountID int64
	// CredentialID is the authenticator's id of the credential, unique
	// across every account.
	CredentialID []byte
	// UserHandle is the account's WebAuthn user handle: 64 random bytes,
	// the same for every passkey of the account, made when its first
	// passkey is added. It carries nothing about the account (no address,
	// no id), as the WebAuthn spec asks (§14.6.1).
	UserHandle []byte
	// Name is the owner's label for it ("laptop"), never shown to anyone
	// else.
	Name string
	// Credential is the rest of the credential record as
	// go-webauthn/webauthn's JSON: public key, transports, attestation,
	// authenticator model. SignCount and the backup flags below are kept
	// in columns of their own and take precedence.
	Credential []byte
	// SignCount is the authenticator's signature counter at its last use;
	// one that goes backwards suggests a cloned authenticator.
	SignCount uint32
	// BackupEligible and BackupState are the authenticator's BE and BS
	// flags: whether the passkey may be, and is, synced to other devices.
	BackupEligible, BackupState bool
	CreatedAt                   time.Time
	// LastUsedAt is when it last signed in; zero if never.
	LastUsedAt time.Time
}

// PasskeyPurpose says which WebAuthn ceremony a PasskeyChallenge belongs to.
type PasskeyPurpose string

const (
	// PasskeyLogin is a sign-in with a discoverable passkey, no address
	// typed: nobody is known until the answer names a credential.
	PasskeyLogin PasskeyPurpose = "login"
	// PasskeySecondStep is the second step of a sign-in after the right
	// password.
	PasskeySecondStep PasskeyPurpose = "second_step"
	// PasskeyRegister adds a passkey to the signed-in account.
	PasskeyRegister PasskeyPurpose = "register"
)

// PasskeyChallenge is a WebAuthn ceremony waiting for the browser's
// answer. The challenge is random and single use: taking it deletes it.
// Only its hash is stored.
type PasskeyChallenge struct {
	ID        int64
	TokenHash []byte // HashToken of the challenge, base64url-encoded
	Purpose   PasskeyPurpose
	// AccountID is the account of a second step or a registration; 0 for
	// a sign-in.
	AccountID int64
	// Session is what the ceremony must be checked against: go-webauthn's
	// session data as JSON (user handle, allowed credentials, user
	// verification), without the challenge.
	Session   []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

package flow

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"

	"github.com/tacitauth/tacit"
)

// Device tokens let an owner in while an outsider's failures hold the
// address back (OWASP, "Slow Down Online Guessing Attacks with Device
// Cookies"). Sign-in counts failures per address, and that counter must
// not depend on what the owner does: a successful
// sign-in, reset or password change leaves it as the outsider left it.
// Without another path the owner would then be locked out by anyone's
// guesses. A browser that has signed in to an address before holds a
// device token for it; presented with a sign-in for that address, it
// replaces the per-address rule by a rule of its own, counted per address
// and device with the same limit, so the owner's device is held back only
// by its own failures. A thief who steals the token still needs the
// password and gets the same number of guesses as on the address.
//
// A token is 32 random bytes and an HMAC of them with the address and the
// account's password stamp (tacit.PasswordStamp) under a server key: it
// needs no storage of its own (the sign-in reads the account anyway),
// carries no address, and one made for an address is worthless for any
// other. Binding it to the password makes
// every token die when the owner changes or resets the password: a thief
// who once signed in with the old password must not keep a count of
// guesses of its own that the owner's change never closed. A token is
// handed out only after the right password (and second step), a reset
// from the mailbox or a password change, answers that already differ from a failure's, so it
// reveals nothing an outsider could not learn. Its check reads the
// account in the sign-in's own transaction and computes one stamp and one
// HMAC whether or not the address has an account: for none, the stamp of
// the dummy hash (see signInHash), for which no token is ever made.
const (
	deviceNonce = 32
	deviceMAC   = sha256.Size
)

// deriveKey derives a key for one use from the server secret.
func deriveKey(secret []byte, use string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(use))
	return m.Sum(nil)
}

// deviceTag is the MAC of a device nonce for an address whose account has
// the password stamp stamp.
func (s *Service) deviceTag(email string, stamp, nonce []byte) []byte {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte(email))
	m.Write([]byte{0})
	m.Write(stamp)
	m.Write(nonce)
	return m.Sum(nil)
}

// device returns the identifier of the device behind token if token is a
// device token for email (normalised) while its account's password has
// the stamp stamp, and false otherwise.
func (s *Service) device(email string, stamp []byte, token string) (string, bool) {
	if token == "" || len(token) != base64.RawURLEncoding.EncodedLen(deviceNonce+deviceMAC) {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != deviceNonce+deviceMAC {
		return "", false
	}
	nonce, tag := raw[:deviceNonce], raw[deviceNonce:]
	if !hmac.Equal(tag, s.deviceTag(email, stamp, nonce)) {
		return "", false
	}
	return string(nonce), true
}

// deviceToken returns the device token to hand a client that has just
// proved control of email, whose account's password now has the stamp
// stamp: the one it presented if that is still valid (its counter stays
// the same), else a new one.
func (s *Service) deviceToken(email string, stamp []byte, presented string) string {
	if _, ok := s.device(email, stamp, presented); ok {
		return presented
	}
	nonce := make([]byte, deviceNonce)
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(append(nonce, s.deviceTag(email, stamp, nonce)...))
}

// signInHash is the password hash a sign-in checks for the account a it
// looked up: a's own, or, for no account (found false), the dummy hash,
// so that both branches verify one full hash and bind device tokens to a
// stamp computed alike.
func (s *Service) signInHash(a tacit.Account, found bool) string {
	if !found {
		return s.dummyHash
	}
	return a.PasswordHash
}

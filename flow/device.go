package flow

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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
// A token is 32 random bytes and an HMAC of them with the address under a
// server key: it is checked without storage, carries no address, and one
// made for an address is worthless for any other. A token is handed out
// only after the right password (and second step) or a reset from the
// mailbox, answers that already differ from a failure's, so it reveals
// nothing an outsider could not learn. Its validity for an address is a
// computation on the request alone, the same whether or not the address
// has an account.
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

// deviceTag is the MAC of a device nonce for an address.
func (s *Service) deviceTag(email string, nonce []byte) []byte {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte(email))
	m.Write([]byte{0})
	m.Write(nonce)
	return m.Sum(nil)
}

// device returns the identifier of the device behind token if token is a
// device token for email (normalised), and false otherwise.
func (s *Service) device(email, token string) (string, bool) {
	if token == "" || len(token) != base64.RawURLEncoding.EncodedLen(deviceNonce+deviceMAC) {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != deviceNonce+deviceMAC {
		return "", false
	}
	nonce, tag := raw[:deviceNonce], raw[deviceNonce:]
	if !hmac.Equal(tag, s.deviceTag(email, nonce)) {
		return "", false
	}
	return string(nonce), true
}

// deviceToken returns the device token to hand a client that has just
// proved control of email: the one it presented if that is valid for
// email (its counter stays the same), else a new one.
func (s *Service) deviceToken(email, presented string) string {
	if _, ok := s.device(email, presented); ok {
		return presented
	}
	nonce := make([]byte, deviceNonce)
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(append(nonce, s.deviceTag(email, nonce)...))
}

package tacit

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// TokenBytes is the size of every secret token (sessions, mail links): 256
// bits, far above the 128 bits needed to make guessing hopeless.
const TokenBytes = 32

// NewToken returns a fresh random token, as sent to its owner, and its hash,
// as stored. Tokens are only ever stored hashed so that a read of the
// database does not yield working links or sessions.
func NewToken() (token string, hash []byte) {
	b := make([]byte, TokenBytes)
	rand.Read(b) // crypto/rand.Read never fails; it crashes the program instead.
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the stored form of a token. Lookups go by this hash, so
// comparing a presented token never touches the secret itself.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// WellFormedToken reports whether s could be a token made by NewToken. It
// lets callers refuse garbage before touching storage.
func WellFormedToken(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(TokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

package tacit

import "crypto/sha256"

// PasswordStamp condenses a stored password hash into the value reset
// tokens are bound to.
func PasswordStamp(passwordHash string) []byte {
	h := sha256.Sum256([]byte("tacit password stamp\x00" + passwordHash))
	return h[:]
}

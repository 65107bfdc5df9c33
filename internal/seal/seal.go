// Package seal encrypts the secrets tacit must read back (TOTP secrets,
// OpenID Connect signing keys) before they are stored, under a key kept
// outside the database: someone who reads the database, a backup of it or
// a copy made by migrate-data, learns none of them without the key.
//
// A sealed value is text: "sealed:v1:" + the key's id + ":" + base64 of
// the nonce and the AES-256-GCM ciphertext. The associated data names what
// the value belongs to (for a TOTP secret, its account's ID), so a sealed
// value copied into another row does not open. The key id says which key
// sealed a value, so that an old key can open it during a rotation and a
// key that matches none is reported at start rather than at sign-in.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a key: 256 bits, for AES-256.
const KeySize = 32

// prefix starts every sealed value. Neither a base32 TOTP secret
// (upper case, no colon) nor a DER key (first byte 0x30) starts so, which
// is how a clear value left by an older version is told apart.
const prefix = "sealed:v1:"

// ErrUnknownKey is returned for a value sealed under a key that is neither
// the current key nor an old one.
var ErrUnknownKey = errors.New("sealed under a key that is not configured")

// ErrOpen is returned for a value that its key does not open: it was
// changed, or moved to a row it was not sealed for.
var ErrOpen = errors.New("sealed value does not open (changed, or moved from another row)")

// Key is one 256-bit key.
type Key struct {
	id   string
	aead cipher.AEAD
}

// NewKey returns the key of raw, which must be KeySize bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("a key must be %d bytes, not %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{id: keyID(raw), aead: aead}, nil
}

// ParseKey reads a key written as base64 (standard or URL alphabet,
// padded or not), as TACIT_SECRET_KEY holds it; surrounding white space
// (a key file's final newline) is ignored.
func ParseKey(text string) (*Key, error) {
	text = strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(text); err == nil {
			return NewKey(raw)
		}
	}
	return nil, fmt.Errorf("not base64 (make a key with: head -c 32 /dev/urandom | base64)")
}

// NewRandomKey returns a fresh key and its base64 text.
func NewRandomKey() (*Key, string) {
	raw := make([]byte, KeySize)
	rand.Read(raw) // never fails; it crashes the program instead.
	k, err := NewKey(raw)
	if err != nil {
		panic(err)
	}
	return k, base64.StdEncoding.EncodeToString(raw)
}

// keyID names a key without revealing it: 64 bits of a hash of it, enough
// to tell a handful of keys apart, and known to every instance that holds
// the key.
func keyID(raw []byte) string {
	sum := sha256.Sum256(append([]byte("tacit seal key id\x00"), raw...))
	return hex.EncodeToString(sum[:8])
}

// ID returns the key's id, which sealed values carry.
func (k *Key) ID() string { return k.id }

// Keys are the key that seals and the old keys that still open.
type Keys struct {
	Current *Key
	Old     []*Key
}

// NewKeys returns the keys with current sealing and old opening too.
func NewKeys(current *Key, old ...*Key) *Keys {
	return &Keys{Current: current, Old: old}
}

// IsSealed reports whether v is a sealed value (of any key).
func IsSealed(v string) bool { return strings.HasPrefix(v, prefix) }

// SealedID returns the id of the key that sealed v, or "" if v is not
// sealed.
func SealedID(v string) string {
	rest, ok := strings.CutPrefix(v, prefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ":")
	return id
}

// CurrentPrefix is what every value sealed under the current key starts
// with: for a query that picks the rows to seal again.
func (ks *Keys) CurrentPrefix() string { return prefix + ks.Current.id + ":" }

// Seal encrypts clear under the current key, bound to ad.
func (ks *Keys) Seal(clear []byte, ad string) string {
	k := ks.Current
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(clear)+k.aead.Overhead())
	rand.Read(nonce)
	out := k.aead.Seal(nonce, nonce, clear, []byte(ad))
	return prefix + k.id + ":" + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts v, sealed by Seal with the same ad under the current or
// an old key. A value that is not sealed is an error: a caller that
// accepts clear values checks IsSealed first.
func (ks *Keys) Open(v, ad string) ([]byte, error) {
	rest, ok := strings.CutPrefix(v, prefix)
	if !ok {
		return nil, errors.New("value is not sealed")
	}
	id, text, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, ErrOpen
	}
	k := ks.find(id)
	if k == nil {
		return nil, fmt.Errorf("key %s: %w", id, ErrUnknownKey)
	}
	raw, err := base64.RawStdEncoding.DecodeString(text)
	if err != nil || len(raw) < k.aead.NonceSize() {
		return nil, ErrOpen
	}
	clear, err := k.aead.Open(nil, raw[:k.aead.NonceSize()], raw[k.aead.NonceSize():], []byte(ad))
	if err != nil {
		return nil, ErrOpen
	}
	return clear, nil
}

// Knows reports whether id is the current key's or an old key's.
func (ks *Keys) Knows(id string) bool { return ks.find(id) != nil }

func (ks *Keys) find(id string) *Key {
	if ks.Current.id == id {
		return ks.Current
	}
	for _, k := range ks.Old {
		if k.id == id {
			return k
		}
	}
	return nil
}

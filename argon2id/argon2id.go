// Package argon2id hashes passwords with Argon2id (RFC 9106) and encodes
// them in the PHC string format used by most other implementations:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// golang.org/x/crypto/argon2 provides the function itself but no encoding or
// verification, so those few lines are written here.
package argon2id

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the cost settings. The defaults follow OWASP's Password
// Storage Cheat Sheet: 19 MiB of memory, 2 passes, 1 lane.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams returns the recommended settings.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Hasher hashes and verifies passwords. At most MaxConcurrent hashes run at
// once, so a flood of logins queues instead of exhausting memory (each hash
// holds Params.Memory KiB while it runs).
type Hasher struct {
	p   Params
	sem chan struct{}
}

// New returns a Hasher for p. maxConcurrent ≤ 0 means one per CPU.
func New(p Params, maxConcurrent int) (*Hasher, error) {
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 {
		return nil, fmt.Errorf("argon2id: invalid parameters m=%d t=%d p=%d", p.Memory, p.Time, p.Threads)
	}
	if p.SaltLen == 0 {
		p.SaltLen = 16
	}
	if p.KeyLen == 0 {
		p.KeyLen = 32
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	return &Hasher{p: p, sem: make(chan struct{}, maxConcurrent)}, nil
}

// Params returns the live parameters.
func (h *Hasher) Params() Params { return h.p }

// Hash returns the PHC-encoded hash of password with a fresh random salt.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	rand.Read(salt)
	key := h.key([]byte(password), salt, h.p)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.p.Memory, h.p.Time, h.p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded. The comparison is in
// constant time. A malformed encoded hash is an error.
func (h *Hasher) Verify(password, encoded string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := h.key([]byte(password), salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether encoded was made with other parameters than
// the live ones, so a caller that has just verified the password can store
// a fresh hash.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return true
	}
	return p.Memory != h.p.Memory || p.Time != h.p.Time || p.Threads != h.p.Threads ||
		uint32(len(salt)) != h.p.SaltLen || uint32(len(key)) != h.p.KeyLen
}

func (h *Hasher) key(password, salt []byte, p Params) []byte {
	h.sem <- struct{}{}
	defer func() { <-h.sem }()
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

var errFormat = errors.New("argon2id: malformed hash")

// maxMemory bounds what a stored hash may ask for, so a corrupted or
// planted row cannot make one verification allocate gigabytes.
const maxMemory = 4 << 20 // KiB (4 GiB)

func decode(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errFormat
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errFormat
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errFormat
	}
	if p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory {
		return p, nil, nil, errFormat
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errFormat
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, errFormat
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

package scan

import (
	"regexp"
	"strings"
)

// Identities are the identifiers of a scan. Every one of them is probed
// exactly as often as every other, so that a target that counts requests
// per identifier (throttling, lockout) treats them alike.
type Identities struct {
	// Known have accounts; Partner[i] is the unknown identifier compared
	// with Known[i].
	Known   []string
	Partner []string
	// Control are two more unknown identifiers; what differs between
	// them varies by itself and is masked.
	Control [2]string
}

// all returns every identifier of the scan.
func (ids Identities) all() []string {
	out := append(append([]string(nil), ids.Known...), ids.Partner...)
	return append(out, ids.Control[:]...)
}

// unknown returns the identifiers without an account: the partners and
// the control pair.
func (ids Identities) unknown() []string {
	return append(append([]string(nil), ids.Partner...), ids.Control[:]...)
}

// identities makes a fresh unknown partner for each known identifier and a
// control pair modelled on the first.
func (s *Scanner) identities(t *Target) Identities {
	ids := Identities{Known: t.Known}
	for _, k := range t.Known {
		ids.Partner = append(ids.Partner, s.unknownLike(k))
	}
	ids.Control = [2]string{s.unknownLike(t.Known[0]), s.unknownLike(t.Known[0])}
	return ids
}

var phoneRE = regexp.MustCompile(`^\+?[0-9][0-9 ()-]{5,}$`)

// unknownLike returns a random identifier of the same shape as known that
// has, in all likelihood, never been registered: an address on the same
// domain with a random local part at least ten characters long (36^10
// choices), a phone number with its last seven digits drawn at random, or a
// random user name. Keeping the domain and, where possible, the length
// means a target cannot tell the probes apart by shape alone.
func (s *Scanner) unknownLike(known string) string {
	if local, domain, ok := strings.Cut(known, "@"); ok && domain != "" {
		return s.randomName(max(len(local), 10)) + "@" + strings.ToLower(domain)
	}
	if phoneRE.MatchString(known) {
		b := []byte(known)
		left := 7
		for i := len(b) - 1; i >= 0 && left > 0; i-- {
			if b[i] >= '0' && b[i] <= '9' {
				b[i] = byte('0' + s.rand().IntN(10))
				left--
			}
		}
		return string(b)
	}
	return s.randomName(max(len(known), 10))
}

// randomName is n random lower-case letters and digits, starting with a
// letter (64 at most, the longest local part of an address).
func (s *Scanner) randomName(n int) string {
	n = min(n, 64)
	const letters = "abcdefghijklmnopqrstuvwxyz"
	return string(letters[s.rand().IntN(len(letters))]) + s.randomString(n-1)
}

// randomString is n random lower-case letters and digits.
func (s *Scanner) randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rand().IntN(len(alphabet))]
	}
	return string(b)
}

// strongPassword is a password no account has that any reasonable policy
// accepts: 20 characters with upper and lower case, digits and a symbol,
// so valid sign-ups reach the target's existence check.
func (s *Scanner) strongPassword() string {
	const upper, symbols = "ABCDEFGHJKLMNPQRSTUVWXYZ", "!#%*+-=?@^_"
	p := []byte(s.randomString(16))
	p[0] = upper[s.rand().IntN(len(upper))]
	p[5] = byte('0' + s.rand().IntN(10))
	return string(p) + string(symbols[s.rand().IntN(len(symbols))]) + string(upper[s.rand().IntN(len(upper))]) + "x7"
}

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

// minUnknownSpace is the fewest identifiers an unknown identifier is drawn
// from. A drawn identifier is registered with probability at most R/N,
// where N is the number of identifiers it is drawn from and R the number
// of registered ones among them (same domain, same length and shape).
// With N at least 10^7 (26^5: five lower-case letters), a site with a
// thousand accounts of that very shape gives one chance in 10,000 per
// identifier. A collision cannot raise a false alarm either: an "unknown"
// identifier that has an account answers as the known one does, which
// hides at most its own pair's difference or makes the two controls
// differ (that channel is then masked), and a sign-up endpoint, which
// draws a new one every round, loses one round of several.
const minUnknownSpace = 1e7

// unknownLike returns a random identifier of the same shape as known that
// has, in all likelihood, never been registered: an address on the same
// domain, a phone number with its last seven digits drawn at random, or a
// user name. A local part or user name keeps its length and, character by
// character, its class (lower case, upper case, digit; anything else as
// it is), so that the unknown identifier's request is exactly as long as
// the known one's (the order test and the timing check compare them, and
// a longer request takes longer to send and parse) and a form that
// checks which characters a name may hold treats both alike. When that
// leaves fewer than minUnknownSpace choices, letters and digits are drawn
// from both; when even that is too few (a local part of three or four
// characters), the name is lengthened: a few bytes of length are a
// smaller risk than probing a real account as an unknown one. No
// identifier is drawn twice in a scan, nor equal to known.
func (s *Scanner) unknownLike(known string) string {
	for try := 0; ; try++ {
		u := s.drawUnknown(known)
		// A shape with few names (a short phone number) may run out
		// of new ones over many scans: then a repeat is better than
		// no end.
		if !strings.EqualFold(u, known) && (try >= 100 || !s.drawn[strings.ToLower(u)]) {
			if s.drawn == nil {
				s.drawn = map[string]bool{}
			}
			s.drawn[strings.ToLower(u)] = true
			return u
		}
	}
}

func (s *Scanner) drawUnknown(known string) string {
	if local, domain, ok := strings.Cut(known, "@"); ok && domain != "" {
		return s.nameLike(local) + "@" + strings.ToLower(domain)
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
	return s.nameLike(known)
}

const (
	lowerLetters = "abcdefghijklmnopqrstuvwxyz"
	upperLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits       = "0123456789"
)

// nameLike draws a name of name's shape (see unknownLike).
func (s *Scanner) nameLike(name string) string {
	name = string([]rune(name)[:min(len([]rune(name)), 64)])
	wide := shapeSpace(name) < minUnknownSpace
	var b strings.Builder
	for i, r := range name {
		alphabet := shapeAlphabet(r, wide && i > 0)
		if alphabet == "" {
			b.WriteRune(r)
			continue
		}
		b.WriteByte(alphabet[s.rand().IntN(len(alphabet))])
	}
	out := b.String()
	if wide {
		// Too short even so: longer, by letters and digits.
		for space := widenedSpace(name); space < minUnknownSpace; space *= 36 {
			out += s.randomString(1)
		}
	}
	return out
}

// shapeAlphabet is what the character r of a name is drawn from: its own
// class, or with wide letters and digits together; "" keeps r.
func shapeAlphabet(r rune, wide bool) string {
	switch {
	case r >= 'a' && r <= 'z':
		if wide {
			return lowerLetters + digits
		}
		return lowerLetters
	case r >= 'A' && r <= 'Z':
		if wide {
			return upperLetters + digits
		}
		return upperLetters
	case r >= '0' && r <= '9':
		if wide {
			return lowerLetters + digits
		}
		return digits
	}
	return ""
}

// shapeSpace is how many names of name's shape there are: the product of
// its characters' alphabet sizes.
func shapeSpace(name string) float64 {
	n := 1.0
	for _, r := range name {
		if a := shapeAlphabet(r, false); a != "" {
			n *= float64(len(a))
		}
	}
	return n
}

// widenedSpace is shapeSpace with letters and digits drawn from both,
// but for the first character.
func widenedSpace(name string) float64 {
	n := 1.0
	for i, r := range []rune(name) {
		if a := shapeAlphabet(r, i > 0); a != "" {
			n *= float64(len(a))
		}
	}
	return n
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

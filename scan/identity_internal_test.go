package scan

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
)

// TestUnknownLikeKeepsShape: an unknown identifier has the known one's
// length, domain and character classes, so that its request is as long
// as the known one's (the HTTP/2 order test and the timing check compare
// them) and a form that checks what characters a name may hold treats
// both alike. A local part too short to give unknown identifiers room is
// lengthened instead.
func TestUnknownLikeKeepsShape(t *testing.T) {
	s := &Scanner{Rand: rand.New(rand.NewPCG(1, 2))}
	class := func(r rune) rune {
		switch {
		case unicode.IsLower(r):
			return 'a'
		case unicode.IsUpper(r):
			return 'A'
		case unicode.IsDigit(r):
			return '0'
		}
		return r
	}
	split := func(id string) (string, string) {
		local, domain, _ := strings.Cut(id, "@")
		return local, strings.ToLower(domain)
	}
	for _, known := range []string{"alice@lab.example", "Alice.Smith42@Example.COM", "j_doe-7@x.example", "Alice", "carol1970", "+44 20 7946 0958"} {
		seen := map[string]bool{}
		kl, kd := split(known)
		for range 200 {
			u := s.unknownLike(known)
			ul, ud := split(u)
			if len(u) != len(known) || ud != kd {
				t.Fatalf("%q: unknown %q has another length or domain", known, u)
			}
			// j_doe-7 has fewer than 10^7 names of its exact classes:
			// its letters and digits are drawn from both.
			if shapeSpace(kl) >= minUnknownSpace && strings.Map(class, ul) != strings.Map(class, kl) {
				t.Fatalf("%q: unknown %q has other character classes", known, u)
			}
			if strings.EqualFold(u, known) || seen[u] {
				t.Fatalf("%q: unknown %q drawn twice or equal to the known one", known, u)
			}
			seen[u] = true
		}
	}
	// Too short to draw from: lengthened to keep collisions negligible.
	for _, known := range []string{"bob@lab.example", "al", "x@y.example"} {
		u := s.unknownLike(known)
		local, _ := split(u)
		if len(u) <= len(known) || widenedSpace(local) < minUnknownSpace {
			t.Errorf("%q: unknown %q, room %g", known, u, widenedSpace(local))
		}
	}
}

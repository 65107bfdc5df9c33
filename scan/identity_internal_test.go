package scan

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// TestProbesAreAsLong: every probe of a scan that sends a well-formed
// identifier, known or unknown, is a request of the same length. The
// unknown identifiers used to be at least ten characters before the @,
// five more than alice's: every unknown probe was five bytes longer.
func TestProbesAreAsLong(t *testing.T) {
	var mu sync.Mutex
	lengths := map[int]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct{ Email string }
		_ = json.Unmarshal(body, &in)
		if strings.Count(in.Email, "@") == 1 && !strings.HasPrefix(in.Email, "@") {
			mu.Lock()
			lengths[len(body)]++
			mu.Unlock()
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"invalid_credentials"}`)
	}))
	defer srv.Close()
	target, err := LoadTarget(strings.NewReader("base_url: " + srv.URL + `
known: [alice@lab.example]
endpoints:
  - {name: login, kind: login, path: /api/login, json: {email: "{{identifier}}", password: "{{password}}"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(3, 3))}).Scan(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	if len(lengths) != 1 {
		t.Errorf("request lengths (bytes: requests): %v", lengths)
	}
}

package scan

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	in := `<input name="csrf_token" value="aB3-x_9"> at 2026-01-02T15:04:05Z,  ok`
	got := tokenize(in)
	want := []string{"<", "input", " ", "name", "=", `"`, "csrf_token", `"`, " ", "value", "=", `"`, "aB3-x_9", `"`, ">", " ", "at", " ", "2026-01-02T15:04:05Z", ",", "  ", "ok"}
	if !slices.Equal(got, want) {
		t.Fatalf("tokenize = %q\nwant %q", got, want)
	}
	if strings.Join(got, "") != in {
		t.Fatal("tokens do not join back to the input")
	}
}

// lcs is the length of the longest common subsequence, the quadratic way.
func lcs(a, b []string) int {
	t := make([][]int, len(a)+1)
	for i := range t {
		t[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i][j] = t[i+1][j+1] + 1
			} else {
				t[i][j] = max(t[i+1][j], t[i][j+1])
			}
		}
	}
	return t[0][0]
}

func TestDiffTokensIsMinimal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seq := func() []string {
		s := make([]string, r.IntN(30))
		for i := range s {
			s[i] = string(rune('a' + r.IntN(4)))
		}
		return s
	}
	for range 2000 {
		a, b := seq(), seq()
		hs := diffTokens(a, b)
		// Applying the hunks to a must give b, and the tokens outside
		// them must be a longest common subsequence.
		var rebuilt []string
		kept, last := 0, 0
		for _, h := range hs {
			rebuilt = append(rebuilt, a[last:h.A0]...)
			kept += h.A0 - last
			rebuilt = append(rebuilt, b[h.B0:h.B1]...)
			last = h.A1
		}
		rebuilt = append(rebuilt, a[last:]...)
		kept += len(a) - last
		if !slices.Equal(rebuilt, b) {
			t.Fatalf("a=%q b=%q hunks %+v rebuild %q", a, b, hs, rebuilt)
		}
		if want := lcs(a, b); kept != want {
			t.Fatalf("a=%q b=%q keeps %d tokens, LCS is %d", a, b, kept, want)
		}
	}
}

package scan

import (
	"strings"
	"unicode"
)

// The scanner compares answers token by token. A token is a run of "word"
// characters (letters, digits and the punctuation found inside tokens,
// dates, ids and URLs: . : / + - _ % @ ~ ! $ *), a run of white space, or
// one other character (quotes, brackets, = & ? # ; ,). Random values are
// then whole tokens, so two answers that differ only in a CSRF token
// differ in exactly one token.

// tokenize splits s into tokens; joining them gives s back.
func tokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		j := i + 1
		switch c := rune(s[i]); {
		case isSpace(c):
			for j < len(s) && isSpace(rune(s[j])) {
				j++
			}
		case isWord(c):
			for j < len(s) && isWord(rune(s[j])) {
				j++
			}
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

func isSpace(c rune) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isWord reports whether byte c continues a word token. Bytes of
// multi-byte characters are word bytes, so letters of any script stay
// whole.
func isWord(c rune) bool {
	return c >= 0x80 || wordByte[c]
}

// wordByte[c] says whether ASCII byte c continues a word token.
var wordByte = func() (t [128]bool) {
	for c := range t {
		t[c] = !isSpace(rune(c)) && !strings.ContainsRune("\"'<>(){}[],;&?#=`\\|^", rune(c)) && c >= ' '
	}
	return t
}()

// tokenLike reports whether a token looks generated rather than written:
// it holds a digit (dates, counters, ids) or is long enough to be an
// encoded random value.
func tokenLike(tok string) bool {
	if len(tok) >= 16 {
		return true
	}
	for _, c := range tok {
		if unicode.IsDigit(c) {
			return true
		}
	}
	return false
}

// hunk is a region where two token sequences differ: a[A0:A1] was
// replaced by b[B0:B1].
type hunk struct {
	A0, A1, B0, B1 int
}

// maxEdits bounds the diff's work. Two answers further apart than this are
// reported as one changed region; for comparing answers of one endpoint
// that is only a coarser diff, never a missed one.
const maxEdits = 1000

// diffTokens returns the regions where a and b differ, in order. It is
// Myers' O(ND) algorithm ("An O(ND) Difference Algorithm and Its
// Variations", 1986). Written here because the Go libraries that do it
// either diff lines only or are no longer maintained, and the scanner
// needs token-level diffs of arbitrary sequences.
func diffTokens(a, b []string) []hunk {
	// Common prefix and suffix first: answers of one endpoint are mostly
	// equal, and this leaves Myers a small middle.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if len(ma) == 0 && len(mb) == 0 {
		return nil
	}
	hs, ok := myers(ma, mb)
	if !ok {
		hs = []hunk{{0, len(ma), 0, len(mb)}}
	}
	for i := range hs {
		hs[i].A0 += pre
		hs[i].A1 += pre
		hs[i].B0 += pre
		hs[i].B1 += pre
	}
	return hs
}

func myers(a, b []string) ([]hunk, bool) {
	n, m := len(a), len(b)
	off := n + m + 1
	v := make([]int, 2*off+1)
	// trace[d] holds v[-d-1 .. d+1] as it was before step d.
	var trace [][]int
	for d := 0; d <= n+m; d++ {
		if d > maxEdits {
			return nil, false
		}
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, n, m, d), true
			}
		}
	}
	return nil, false
}

// backtrack walks the trace from the end and collects the changed regions.
func backtrack(trace [][]int, n, m, dEnd int) []hunk {
	// keep[i] marks a[i] as matched; matchedB likewise for b.
	keepA, keepB := make([]bool, n), make([]bool, m)
	x, y := n, m
	for d := dEnd; d > 0; d-- {
		vd := trace[d]
		at := func(k int) int { return vd[k+d+1] }
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := at(pk)
		py := px - pk
		for x > px && y > py {
			x, y = x-1, y-1
			keepA[x], keepB[y] = true, true
		}
		x, y = px, py
	}
	for x > 0 && y > 0 {
		x, y = x-1, y-1
		keepA[x], keepB[y] = true, true
	}
	// Matched tokens pair up in order; the gaps between them are hunks.
	var out []hunk
	i, j := 0, 0
	for i < n || j < m {
		if i < n && j < m && keepA[i] && keepB[j] {
			i, j = i+1, j+1
			continue
		}
		h := hunk{A0: i, B0: j}
		for i < n && !keepA[i] {
			i++
		}
		for j < m && !keepB[j] {
			j++
		}
		h.A1, h.B1 = i, j
		out = append(out, h)
	}
	return out
}

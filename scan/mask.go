package scan

import (
	"strings"
)

// Masking is learned, not configured. Two answers that should be equal —
// the two control identifiers in the same round, or one identifier in two
// rounds — are diffed token by token; each region where they differ
// becomes a rule "what stands between this left context and this right
// context varies by itself". Applying the rules replaces such regions with
// {{varies}} in every answer of the endpoint, so a CSRF token in a hidden
// input, a request id in a header or a timestamp in a footer stop
// mattering, while a message that differs where the control never did
// still shows.

// Placeholders that replace masked text.
const (
	maskVaries     = "{{varies}}"
	maskIdentifier = "{{identifier}}"
	maskRandom     = "{{random}}"
)

const (
	// leftContext is how much text before a volatile region identifies
	// it: enough for `name="csrf_token" value="`.
	leftContext = 32
	// rightContext is how much text after it ends it; short, because the
	// region's end is usually a quote or a tag.
	rightContext = 8
	// maxSpan bounds a masked region (a long JWT still fits).
	maxSpan = 4096
)

// maskRule says that text between left and right varies by itself.
type maskRule struct {
	left string
	// leftAnchored: left is all the text before the region (it starts
	// within leftContext of the beginning).
	leftAnchored bool
	right        string
	// rightAnchored: right is all the text after the region.
	rightAnchored bool
	// spaces: the learned region held white space, so a masked region
	// may too. Otherwise a region stops at white space, which keeps a
	// rule for a token from swallowing a sentence.
	spaces bool
}

// masker holds the rules learned for each text channel of an endpoint
// ("body", "location", "header:X-Request-Id", "cookie:session").
type masker struct {
	rules map[string][]maskRule
}

func newMasker() *masker { return &masker{rules: map[string][]maskRule{}} }

// learn adds rules for what differs between x and y, two texts of one
// channel that should be equal. With generatedOnly, only regions whose
// tokens look generated (tokenLike) are learned: used for pairs that may
// legitimately differ in words, such as one identifier in two rounds.
func (m *masker) learn(channel, x, y string, generatedOnly bool) {
	// A few passes: rules learned in one pass turn earlier volatile
	// regions into placeholders, which makes the contexts of later ones
	// stable.
	for range 3 {
		mx, my := m.apply(channel, x), m.apply(channel, y)
		if mx == my {
			return
		}
		if m.learnOnce(channel, mx, my, generatedOnly) == 0 {
			return
		}
	}
}

func (m *masker) learnOnce(channel, x, y string, generatedOnly bool) int {
	tx, ty := tokenize(x), tokenize(y)
	hs := diffTokens(tx, ty)
	var out strings.Builder
	pos, added := 0, 0
	for i, h := range hs {
		out.WriteString(strings.Join(tx[pos:h.A0], ""))
		pos = h.A1
		if generatedOnly && !(generated(tx[h.A0:h.A1]) && generated(ty[h.B0:h.B1])) {
			out.WriteString(strings.Join(tx[h.A0:h.A1], ""))
			continue
		}
		r := maskRule{spaces: hasSpace(tx[h.A0:h.A1]) || hasSpace(ty[h.B0:h.B1])}
		before := out.String()
		r.left, r.leftAnchored = tail(before, leftContext)
		end := len(tx)
		if i+1 < len(hs) {
			end = hs[i+1].A0
		}
		after := strings.Join(tx[h.A1:end], "")
		r.right = after[:min(len(after), rightContext)]
		r.rightAnchored = end == len(tx) && len(after) <= rightContext
		if m.add(channel, r) {
			added++
		}
		out.WriteString(maskVaries)
	}
	return added
}

// generated reports whether a changed region consists of generated-looking
// tokens and punctuation only (an empty side counts).
func generated(toks []string) bool {
	for _, t := range toks {
		switch {
		case isSpace(rune(t[0])):
			return false
		case isWord(rune(t[0])) && !tokenLike(t):
			return false
		}
	}
	return true
}

func hasSpace(toks []string) bool {
	for _, t := range toks {
		if isSpace(rune(t[0])) {
			return true
		}
	}
	return false
}

// tail returns the last n bytes of s, and whether that is all of s.
func tail(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, true
	}
	return s[len(s)-n:], false
}

func (m *masker) add(channel string, r maskRule) bool {
	for _, have := range m.rules[channel] {
		if have == r {
			return false
		}
	}
	m.rules[channel] = append(m.rules[channel], r)
	return true
}

// apply replaces every region of text that a rule of channel matches with
// {{varies}}. It walks the text token by token; at each token boundary the
// first rule whose left context ends the output so far, and whose right
// context follows within maxSpan, masks the region up to that right
// context.
func (m *masker) apply(channel, text string) string {
	rules := m.rules[channel]
	if len(rules) == 0 {
		return text
	}
	toks := tokenize(text)
	// starts[offset] is 1 + the index of the token that starts at that
	// byte offset, 0 inside a token.
	starts := make([]int32, len(text)+1)
	off := 0
	for i, t := range toks {
		starts[off] = int32(i + 1)
		off += len(t)
	}
	starts[off] = int32(len(toks) + 1)

	var out strings.Builder
	p, ti := 0, 0
	justMasked := false
	for {
		// Checked at the end of the text too: a region may be an empty
		// or missing tail.
		if !justMasked {
			if end, ok := m.match(rules, out.String(), text, p, starts); ok {
				out.WriteString(maskVaries)
				p, ti = end, int(starts[end]-1)
				justMasked = true
				continue
			}
		}
		if ti == len(toks) {
			return out.String()
		}
		justMasked = false
		out.WriteString(toks[ti])
		p += len(toks[ti])
		ti++
	}
}

// match finds the first rule that masks a region starting at byte p and
// returns where the region ends (a token boundary).
func (m *masker) match(rules []maskRule, done, text string, p int, starts []int32) (int, bool) {
	for _, r := range rules {
		if r.leftAnchored && done != r.left || !r.leftAnchored && !strings.HasSuffix(done, r.left) {
			continue
		}
		end := -1
		switch {
		case r.rightAnchored:
			if e := len(text) - len(r.right); e >= p && strings.HasSuffix(text, r.right) {
				end = e
			}
		case r.right != "":
			limit := min(len(text), p+maxSpan+len(r.right))
			if i := strings.Index(text[p:limit], r.right); i >= 0 {
				end = p + i
			}
		}
		if end < 0 || end-p > maxSpan {
			continue
		}
		if starts[end] == 0 {
			continue
		}
		if !r.spaces && strings.ContainsAny(text[p:end], " \t\r\n\f\v") {
			continue
		}
		return end, true
	}
	return 0, false
}

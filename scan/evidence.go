package scan

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	// maxDiffLines bounds a diff in a finding; it shows where the answers
	// differ, not all of them.
	maxDiffLines = 14
	// lineWindow is how much of a long changed line is shown.
	lineWindow = 160
)

// textDiff is a short line diff of a (known) and b (unknown): "-" lines
// from a, "+" lines from b, one line of context.
func textDiff(a, b string) string {
	return lineDiff(a, b, func(s string) string { return s })
}

// quotedDiff is textDiff with every shown line quoted, so differences in
// white space are visible.
func quotedDiff(a, b string) string {
	return lineDiff(a, b, strconv.Quote)
}

func lineDiff(a, b string, show func(string) string) string {
	la, lb := lines(a), lines(b)
	hs := diffTokens(la, lb)
	var out []string
	lastA := -1 // index of the last line of a printed
	for _, h := range hs {
		if h.A0 > 0 && h.A0-1 > lastA {
			if lastA >= 0 {
				out = append(out, "  …")
			}
			out = append(out, "  "+show(trimLine(la[h.A0-1], 0)))
		}
		at := commonPrefix(strings.Join(la[h.A0:h.A1], ""), strings.Join(lb[h.B0:h.B1], ""))
		for _, l := range la[h.A0:h.A1] {
			out = append(out, "- "+show(trimLine(l, at)))
			at = 0
		}
		at = commonPrefix(strings.Join(la[h.A0:h.A1], ""), strings.Join(lb[h.B0:h.B1], ""))
		for _, l := range lb[h.B0:h.B1] {
			out = append(out, "+ "+show(trimLine(l, at)))
			at = 0
		}
		lastA = h.A1 - 1
		if h.A1 < len(la) {
			out = append(out, "  "+show(trimLine(la[h.A1], 0)))
			lastA = h.A1
		}
	}
	if len(out) > maxDiffLines {
		out = append(out[:maxDiffLines], fmt.Sprintf("  … (%d more lines)", len(out)-maxDiffLines))
	}
	return strings.Join(out, "\n")
}

// trimLine drops the line's newline and, for a long line, shows a window
// around byte at (where it starts to differ from its counterpart).
func trimLine(l string, at int) string {
	l = strings.TrimSuffix(l, "\n")
	if len(l) <= lineWindow {
		return l
	}
	start := max(0, min(at-lineWindow/3, len(l)-lineWindow))
	end := min(len(l), start+lineWindow)
	s := l[start:end]
	if start > 0 {
		s = "…" + s
	}
	if end < len(l) {
		s += "…"
	}
	return s
}

func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// lines splits s after each newline; a final newline does not start an
// empty line.
func lines(s string) []string {
	out := strings.SplitAfter(s, "\n")
	if len(out) > 1 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

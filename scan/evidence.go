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
			out = append(out, "  "+show(trimLine(la[h.A0-1])))
		}
		for _, l := range la[h.A0:h.A1] {
			out = append(out, "- "+show(trimLine(l)))
		}
		for _, l := range lb[h.B0:h.B1] {
			out = append(out, "+ "+show(trimLine(l)))
		}
		lastA = h.A1 - 1
		if h.A1 < len(la) {
			out = append(out, "  "+show(trimLine(la[h.A1])))
			lastA = h.A1
		}
	}
	if len(out) > maxDiffLines {
		out = append(out[:maxDiffLines], fmt.Sprintf("  … (%d more lines)", len(out)-maxDiffLines))
	}
	return strings.Join(out, "\n")
}

// trimLine drops the line's newline. A long line is shown whole, not a
// window of it: the difference may be anywhere in it, and a reader must
// be able to check it (the bodies are in the evidence too).
func trimLine(l string) string {
	return strings.TrimSuffix(l, "\n")
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

package scan

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The verdicts of an endpoint. Every endpoint gets exactly one:
//
//   - leak: at least one finding.
//   - clean: no finding, every channel compared, enough rounds that
//     reached the account logic, and a positive control that showed the
//     identifier reaches it.
//   - inconclusive: no finding, but the scan cannot vouch for the
//     endpoint; EndpointResult.Inconclusive says why (answers of 500,
//     throttled answers, channels that vary by themselves, an identifier
//     that seems to be ignored, a known identifier locked before the scan,
//     an endpoint that could not be scanned).
const (
	VerdictLeak         = "leak"
	VerdictClean        = "clean"
	VerdictInconclusive = "inconclusive"
)

// setVerdict gives e its one verdict from its findings and reasons.
func setVerdict(e *EndpointResult, findings int) {
	switch {
	case findings > 0:
		e.Verdict = VerdictLeak
	case len(e.Inconclusive) > 0 || e.Error != "" || len(e.Unstable) > 0:
		// What varies by itself was not compared: the scan cannot
		// vouch for it.
		e.Verdict = VerdictInconclusive
	default:
		e.Verdict = VerdictClean
	}
}

// InconclusiveEndpoints returns the endpoints the scan could not vouch
// for: inconclusive, or not scanned at all.
func (r *Report) InconclusiveEndpoints() []EndpointResult {
	var out []EndpointResult
	for _, e := range r.Endpoints {
		if r.VerdictOf(e) == VerdictInconclusive {
			out = append(out, e)
		}
	}
	return out
}

// VerdictOf is e's verdict: the one the scan gave it, or, in a report put
// together by hand, the one its findings and reasons imply.
func (r *Report) VerdictOf(e EndpointResult) string {
	if e.Verdict != "" {
		return e.Verdict
	}
	n := 0
	for _, f := range r.Findings {
		if f.Endpoint == e.Name {
			n++
		}
	}
	setVerdict(&e, n)
	return e.Verdict
}

// SanitizeLine is Sanitize for text printed on one line (a field name, a
// clue, a note): newline, carriage return and tab are escaped too, so a
// hostile target cannot forge a line of its own in the report.
func SanitizeLine(s string) string {
	return strings.NewReplacer("\n", `\x0a`, "\r", `\x0d`, "\t", `\x09`).Replace(Sanitize(s))
}

// Sanitize makes target-derived text safe to print on a terminal: every
// C0 control character but newline and tab, DEL, every C1 control
// character and every byte that is not UTF-8 is written as a visible
// escape (\x1b, \u009b, \xff). A hostile target cannot then retitle the
// window, move the cursor, erase what the report printed or write the
// clipboard (OSC 52) through a body or a header it sends.
func Sanitize(s string) string {
	if !needsSanitizing(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsSanitizing(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) {
			return true
		}
		i += size
	}
	return false
}

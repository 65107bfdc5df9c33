package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tacitauth/tacit/scan"
)

// JSONVersion is the version of WriteJSON's document; it changes only
// when a field changes meaning or goes away.
const JSONVersion = 1

// jsonReport is the document WriteJSON writes: the report, the duration in
// seconds, and the rules its findings refer to, remediation included, so
// the document stands on its own.
type jsonReport struct {
	Version int `json:"version"`
	*scan.Report
	DurationSeconds float64     `json:"duration_seconds"`
	Rules           []scan.Rule `json:"rules"`
}

// WriteJSON writes the report as an indented JSON document.
func WriteJSON(w io.Writer, r *scan.Report) error {
	doc := jsonReport{Version: JSONVersion, Report: r, DurationSeconds: r.Duration.Seconds(), Rules: []scan.Rule{}}
	for _, rule := range scan.Rules {
		if slices.ContainsFunc(r.Findings, func(f scan.Finding) bool { return f.Rule == rule.ID }) {
			doc.Rules = append(doc.Rules, rule)
		}
	}
	return encodeJSON(w, doc, "JSON")
}

// encodeJSON writes v indented, with the C1 controls that encoding/json
// leaves raw escaped too (sanitizeJSON): a report printed on a terminal
// must not be a way for the target to drive it.
func encodeJSON(w io.Writer, v any, what string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write %s report: %w", what, err)
	}
	if _, err := w.Write(sanitizeJSON(b.Bytes())); err != nil {
		return fmt.Errorf("write %s report: %w", what, err)
	}
	return nil
}

// sanitizeJSON escapes, in an encoded JSON document, the characters that
// encoding/json leaves raw but a terminal obeys: DEL and the C1 controls.
// They can only stand inside strings, where \u escapes are valid, and
// encoding/json writes valid UTF-8 only.
func sanitizeJSON(doc []byte) []byte {
	if !bytes.ContainsFunc(doc, terminalControl) {
		return doc
	}
	var b strings.Builder
	for _, r := range string(doc) {
		if terminalControl(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return []byte(b.String())
}

func terminalControl(r rune) bool {
	return r == 0x7f || (r >= 0x80 && r <= 0x9f)
}

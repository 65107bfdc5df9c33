package scan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// JSONVersion is the version of WriteJSON's document; it changes only
// when a field changes meaning or goes away.
const JSONVersion = 1

// jsonReport is the document WriteJSON writes: the report, the duration in
// seconds, and the rules its findings refer to, remediation included, so
// the document stands on its own.
type jsonReport struct {
	Version int `json:"version"`
	*Report
	DurationSeconds float64 `json:"duration_seconds"`
	Rules           []Rule  `json:"rules"`
}

// WriteJSON writes the report as an indented JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	doc := jsonReport{Version: JSONVersion, Report: r, DurationSeconds: r.Duration.Seconds(), Rules: []Rule{}}
	for _, rule := range Rules {
		if slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Rule == rule.ID }) {
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

package scan

import (
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
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

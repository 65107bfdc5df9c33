package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tacitauth/tacit/scan"
)

// textWidth is where WriteText wraps prose.
const textWidth = 78

// WriteText writes the report for a terminal: each finding with its
// evidence and remediation, then one line per endpoint and a summary.
func WriteText(w io.Writer, r *scan.Report) error {
	p := &printer{w: w}
	p.printf("tacit scan of %s\n", r.Target)
	p.printf("%s, %s in %s\n", plural(len(r.Endpoints), "endpoint"), plural(r.Requests, "probe"), r.Duration.Round(time.Millisecond))
	p.framework(r.Framework)
	for _, f := range r.Findings {
		p.finding(f)
	}
	p.printf("\nEndpoints\n")
	// The columns are as wide as the longest name and kind, at least
	// as wide as the usual ones (webauthn_options is longer).
	p.nameWidth, p.kindWidth = 16, 14
	for _, e := range r.Endpoints {
		p.nameWidth = max(p.nameWidth, utf8.RuneCountInString(e.Name))
		p.kindWidth = max(p.kindWidth, len(e.Kind))
	}
	for _, e := range r.Endpoints {
		e.Verdict = r.VerdictOf(e)
		p.endpoint(e, r.Findings)
	}
	p.printf("\n%s\n", summary(r))
	return p.err
}

type printer struct {
	w   io.Writer
	err error
	// nameWidth and kindWidth are the widths of the endpoint table's
	// name and kind columns.
	nameWidth, kindWidth int
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		// Every string a target sent is printed through here:
		// escape what a terminal would obey.
		_, p.err = io.WriteString(p.w, scan.Sanitize(fmt.Sprintf(format, args...)))
	}
}

func (p *printer) finding(f scan.Finding) {
	p.printf("\n%-6s  %s  %s (%s %s)\n", strings.ToUpper(string(f.Severity)), f.Rule, f.Endpoint, f.Method, f.Path)
	p.printf("%s", wrap(f.Message, "  "))
	ev := f.Evidence
	if ev.Input != "" {
		p.printf("  input: %s\n", ev.Input)
	}
	p.sample("known  ", ev.Known)
	p.sample("unknown", ev.Unknown)
	if ev.Diff != "" {
		p.printf("  diff (- known, + unknown):\n%s\n", indent(ev.Diff, "    "))
	}
	p.replay(ev)
	if rule, ok := scan.RuleByID(f.Rule); ok {
		p.printf("%s", wrap("Fix: "+rule.Remediation, "  "))
	}
	p.advice(f)
}

func (p *printer) sample(label string, s scan.Sample) {
	p.printf("  %s %s → %d\n", label, s.Request, s.Status)
	if s.Observed != "" && s.Observed != strconv.Itoa(s.Status) {
		p.printf("%s\n", indent(s.Observed, "            "))
	}
}

func (p *printer) endpoint(e scan.EndpointResult, fs []scan.Finding) {
	n := 0
	for _, f := range fs {
		if f.Endpoint == e.Name {
			n++
		}
	}
	state := "clean"
	switch {
	case e.Error != "":
		state = "not scanned: " + e.Error
	case e.NotReached:
		state = "not reached"
	case n == 1:
		state = "leak: 1 finding"
	case n > 1:
		state = fmt.Sprintf("leak: %d findings", n)
	case e.Verdict == scan.VerdictInconclusive:
		state = "inconclusive"
	}
	p.printf("  %-*s %-*s %-6s %-28s %4d probes  %s\n", p.nameWidth, e.Name, p.kindWidth, e.Kind, e.Method, e.Path, e.Probes, state)
	for _, u := range e.Unstable {
		p.printf("      not compared, varies by itself: %s\n", u)
	}
	for _, why := range e.Inconclusive {
		p.printf("      inconclusive: %s\n", why)
	}
	for _, n := range e.Notes {
		p.printf("      note: %s\n", n)
	}
}

func summary(r *scan.Report) string {
	inc := len(r.InconclusiveEndpoints())
	if len(r.Findings) == 0 {
		if inc > 0 {
			return fmt.Sprintf("No findings, but inconclusive: the scan cannot vouch for %d of %d endpoints (see why above).", inc, len(r.Endpoints))
		}
		return "No findings: no endpoint told a known identifier from an unknown one."
	}
	count := map[scan.Severity]int{}
	for _, f := range r.Findings {
		count[f.Severity]++
	}
	var parts []string
	for _, s := range []scan.Severity{scan.SeverityHigh, scan.SeverityMedium, scan.SeverityLow} {
		if count[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
		}
	}
	noun := "findings"
	if len(r.Findings) == 1 {
		noun = "finding"
	}
	out := fmt.Sprintf("%d %s (%s).", len(r.Findings), noun, strings.Join(parts, ", "))
	if inc > 0 {
		out += fmt.Sprintf(" Inconclusive: the scan cannot vouch for %d of %d endpoints.", inc, len(r.Endpoints))
	}
	return out
}

// wrap breaks s into lines of at most textWidth, each starting with
// prefix.
func wrap(s, prefix string) string {
	var b strings.Builder
	line := prefix
	for _, word := range strings.Fields(s) {
		if len(line) > len(prefix) && len(line)+1+len(word) > textWidth {
			b.WriteString(line + "\n")
			line = prefix
		}
		if len(line) > len(prefix) {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// plural writes n with its noun, in the singular for one.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// replay prints the curl commands of a finding's two requests, whole:
// a terminal wraps them, and a command cut short would not reproduce.
func (p *printer) replay(ev scan.Evidence) {
	if ev.Known.Curl == "" || ev.Unknown.Curl == "" {
		return
	}
	p.printf("  replay (known, then unknown):\n    %s\n    %s\n", ev.Known.Curl, ev.Unknown.Curl)
}

// framework prints the recognised framework and its evidence.
func (p *printer) framework(fw *scan.FrameworkMatch) {
	if fw != nil {
		p.printf("%s", wrap(fmt.Sprintf("Framework: %s (recognised by %s)", fw.Name, strings.Join(fw.Evidence, ", ")), ""))
	}
}

// advice prints a finding's framework advice.
func (p *printer) advice(f scan.Finding) {
	if f.Advice != "" {
		p.printf("%s", wrap("In this framework: "+f.Advice, "  "))
	}
}

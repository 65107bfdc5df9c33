package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tacitauth/tacit/scan"
)

// WriteHTML writes the report as one self-contained HTML page: a summary,
// every finding with its evidence and remediation, the endpoints with
// their notes, and, for endpoints the timing check measured, a plot of the
// response-time distributions. Styles are inline and there is no script
// and no remote asset, so the page can be archived, mailed or attached to
// a CI run and opened anywhere as it is. Everything the target sent back
// is escaped by html/template: a hostile target cannot inject markup into
// the report.
func WriteHTML(w io.Writer, r *scan.Report) error {
	var b bytes.Buffer
	if err := htmlReport.Execute(&b, newHTMLView(r)); err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	// html/template leaves control characters as they are; whoever opens
	// the file in a terminal must not be at the target's mercy.
	if _, err := io.WriteString(w, scan.Sanitize(b.String())); err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	return nil
}

// htmlView is what the page template reads.
type htmlView struct {
	*scan.Report
	Verdict      string // "fail", "warn" or "pass": the banner's colour
	Headline     string
	Counts       []severityCount
	Errors       int // endpoints inconclusive or not scanned
	Findings     []htmlFinding
	Endpoints    []htmlEndpoint
	Timed        []htmlEndpoint // endpoints with timing samples
	StartedUTC   string
	DurationText string
}

type severityCount struct {
	Severity scan.Severity
	N        int
}

type htmlFinding struct {
	scan.Finding
	Index     int
	Rule      scan.Rule
	DiffLines []diffLine
	HasTiming bool
}

type diffLine struct {
	Class string // "del", "ins" or "ctx"
	Text  string
}

type htmlEndpoint struct {
	scan.EndpointResult
	Anchor   string
	Findings int
	Plot     template.HTML // the timing plot, when there are samples
	Stats    []timingStat
}

type timingStat struct{ Label, Value string }

func newHTMLView(r *scan.Report) htmlView {
	v := htmlView{Report: r, Headline: summary(r), DurationText: r.Duration.Round(time.Millisecond).String()}
	if !r.Started.IsZero() {
		v.StartedUTC = r.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	for _, s := range []scan.Severity{scan.SeverityHigh, scan.SeverityMedium, scan.SeverityLow} {
		n := 0
		for _, f := range r.Findings {
			if f.Severity == s {
				n++
			}
		}
		v.Counts = append(v.Counts, severityCount{s, n})
	}
	timed := map[string]bool{}
	for _, e := range r.Endpoints {
		e.Verdict = r.VerdictOf(e)
		he := newHTMLEndpoint(e, r.Findings)
		if e.Error != "" || e.Verdict == scan.VerdictInconclusive {
			v.Errors++
		}
		if e.Timing != nil {
			timed[e.Name] = true
			v.Timed = append(v.Timed, he)
		}
		v.Endpoints = append(v.Endpoints, he)
	}
	for i, f := range r.Findings {
		rule, _ := scan.RuleByID(f.Rule)
		v.Findings = append(v.Findings, htmlFinding{Finding: f, Index: i + 1, Rule: rule,
			DiffLines: diffLines(f.Evidence.Diff), HasTiming: timed[f.Endpoint]})
	}
	switch {
	case len(r.Findings) > 0:
		v.Verdict = "fail"
	case v.Errors > 0:
		v.Verdict = "warn"
	default:
		v.Verdict = "pass"
	}
	return v
}

func newHTMLEndpoint(e scan.EndpointResult, fs []scan.Finding) htmlEndpoint {
	he := htmlEndpoint{EndpointResult: e, Anchor: "timing-" + anchorName(e.Name)}
	for _, f := range fs {
		if f.Endpoint == e.Name {
			he.Findings++
		}
	}
	if e.Timing != nil {
		he.Plot = timingPlot(e.Timing)
		he.Stats = timingStats(e.Timing)
	}
	return he
}

// anchorName keeps letters, digits, '-' and '_' of an endpoint name, for
// an id attribute.
func anchorName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '-'
	}, s)
}

// diffLines classifies the lines of an evidence diff for colouring.
func diffLines(diff string) []diffLine {
	if diff == "" {
		return nil
	}
	var out []diffLine
	for _, l := range strings.Split(diff, "\n") {
		class := "ctx"
		switch {
		case strings.HasPrefix(l, "- "):
			class = "del"
		case strings.HasPrefix(l, "+ "):
			class = "ins"
		}
		out = append(out, diffLine{class, l})
	}
	return out
}

// timingStats are the figures shown beside a timing plot.
func timingStats(t *scan.TimingResult) []timingStat {
	stats := []timingStat{
		{"Known identifier, median", medianText(t.Known)},
		{"Unknown identifier, median", medianText(t.Unknown)},
		{"Controls A and B (unknown), medians", medianText(t.ControlA) + " / " + medianText(t.ControlB)},
		{"Known − unknown", signedDuration(t.Effect)},
		{"95% interval", signedDuration(t.EffectLow) + " to " + signedDuration(t.EffectHigh)},
		{"p-value", fmt.Sprintf("%.3g", t.P)},
		{"Samples per identifier", fmt.Sprintf("%d", min(len(t.Known), len(t.Unknown)))},
	}
	if t.Resolution > 0 {
		stats = append(stats, timingStat{"Smallest effect sought", formatDuration(t.Resolution)})
	}
	if t.Stopped != "" {
		stats = append(stats, timingStat{"Stopped", fmt.Sprintf("%s, after %d interim looks, at level %.2g", t.Stopped, t.Looks, t.Level)})
	}
	return stats
}

func medianText(ds []time.Duration) string {
	if len(ds) == 0 {
		return "—"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return formatDuration(m)
}

func signedDuration(d time.Duration) string {
	if d > 0 {
		return "+" + formatDuration(d)
	}
	if d < 0 {
		return "−" + formatDuration(-d)
	}
	return formatDuration(0)
}

// formatDuration writes d with three significant digits in the unit that
// suits it: "850 µs", "1.23 ms", "2.10 s".
func formatDuration(d time.Duration) string {
	switch ad := math.Abs(float64(d)); {
	case ad >= float64(time.Second):
		return sig3(ad/float64(time.Second)) + " s"
	case ad >= float64(time.Millisecond):
		return sig3(ad/float64(time.Millisecond)) + " ms"
	default:
		return sig3(ad/float64(time.Microsecond)) + " µs"
	}
}

func sig3(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

var htmlFuncs = template.FuncMap{
	"lower":  func(s scan.Severity) string { return string(s) },
	"upper":  func(s scan.Severity) string { return strings.ToUpper(string(s)) },
	"plural": func(n int, one, many string) string { return map[bool]string{true: one, false: many}[n == 1] },
	"pct": func(a, b int) string {
		if b == 0 {
			return "0"
		}
		return fmt.Sprintf("%d", 100*a/b)
	},
	"statusText": func(code int) string { return statusLine(code) },
	"join":       strings.Join,
}

// statusLine is "404 Not Found", or just the code when Go has no text for
// it.
func statusLine(code int) string {
	if code == 0 {
		return "no answer"
	}
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}

var htmlReport = template.Must(template.New("report").Funcs(htmlFuncs).Parse(htmlTemplate))

// The timing plot's geometry, in SVG user units.
const (
	plotWidth, plotHeight = 720.0, 320.0
	plotLeft, plotRight   = 60.0, 16.0
	plotTop, plotBottom   = 40.0, 46.0
	// maxCurvePoints bounds the steps drawn per curve: past it the curve
	// is drawn through evenly spaced quantiles, which looks the same.
	maxCurvePoints = 400
)

// plotSeries is one distribution in a timing plot.
type plotSeries struct {
	label, color, dash string
	width              float64
	samples            []time.Duration
}

// timingPlot draws the empirical distribution functions of the known
// identifier's response times, the unknown one's, and the two control
// identifiers' as an inline SVG. Two identifiers treated alike give curves
// that lie on each other, as the control curves do; a shift between the
// known and unknown curves beyond the controls' spread is the leak.
func timingPlot(t *scan.TimingResult) template.HTML {
	series := []plotSeries{
		{"Known identifier", "#e8590c", "", 2.4, t.Known},
		{"Unknown identifier", "#1c7ed6", "", 2.4, t.Unknown},
		{"Control A", "#868e96", "5 4", 1.5, t.ControlA},
		{"Control B", "#adb5bd", "2 3", 1.5, t.ControlB},
	}
	if len(t.Known)+len(t.Unknown)+len(t.ControlA)+len(t.ControlB) == 0 {
		return ""
	}
	ax := newTimeAxis(series)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="plot" viewBox="0 0 %g %g" role="img" aria-label="Response-time distributions of the known, unknown and control identifiers" xmlns="http://www.w3.org/2000/svg">`, plotWidth, plotHeight)
	b.WriteString(`<title>Empirical cumulative distribution of response times</title>`)
	writeGrid(&b, ax)
	for _, s := range series {
		writeCurve(&b, ax, s)
	}
	writeLegend(&b, series)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and fixed labels only
}

// timeAxis maps durations to x and shares to y.
type timeAxis struct {
	lo, hi, step float64 // nanoseconds
	unit         float64 // nanoseconds per label unit
	unitName     string
	decimals     int
}

// newTimeAxis spans the samples from the fastest to a little past the
// slowest series' 95th percentile, rounded out to whole ticks: a few slow
// outliers (a pause, a slow disk) must not squash the curves into the
// left edge. Curves run flat off the right edge past it.
func newTimeAxis(series []plotSeries) timeAxis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		if len(s.samples) == 0 {
			continue
		}
		sorted := slices.Clone(s.samples)
		slices.Sort(sorted)
		lo = min(lo, float64(sorted[0]))
		hi = max(hi, float64(sorted[max(0, int(math.Ceil(0.95*float64(len(sorted))))-1)]))
	}
	hi += (hi - lo) / 10
	if hi <= lo {
		hi = lo + float64(time.Microsecond)
	}
	step := niceStep((hi - lo) / 6)
	ax := timeAxis{lo: math.Floor(lo/step) * step, hi: math.Ceil(hi/step) * step, step: step}
	switch {
	case ax.hi >= float64(10*time.Second):
		ax.unit, ax.unitName = float64(time.Second), "s"
	case ax.hi >= float64(time.Millisecond):
		ax.unit, ax.unitName = float64(time.Millisecond), "ms"
	default:
		ax.unit, ax.unitName = float64(time.Microsecond), "µs"
	}
	for u := step / ax.unit; ax.decimals < 4 && math.Abs(u-math.Round(u)) > 1e-9; u *= 10 {
		ax.decimals++
	}
	return ax
}

// niceStep rounds a raw tick distance up to 1, 2, 2.5 or 5 times a power
// of ten.
func niceStep(raw float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw*(1-1e-12) {
			return m * mag
		}
	}
	return 10 * mag
}

func (ax timeAxis) x(ns float64) float64 {
	w := plotWidth - plotLeft - plotRight
	return plotLeft + w*(ns-ax.lo)/(ax.hi-ax.lo)
}

func (ax timeAxis) y(share float64) float64 {
	return plotHeight - plotBottom - (plotHeight-plotTop-plotBottom)*share
}

func writeGrid(b *strings.Builder, ax timeAxis) {
	left, right := plotLeft, plotWidth-plotRight
	top, bottom := plotTop, plotHeight-plotBottom
	fmt.Fprintf(b, `<rect x="%g" y="%g" width="%g" height="%g" fill="#fbfbfc" stroke="#dee2e6"/>`, left, top, right-left, bottom-top)
	for _, share := range []float64{0.25, 0.5, 0.75, 1} {
		y := ax.y(share)
		fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#e9ecef"/>`, left, y, right, y)
	}
	for _, share := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(b, `<text x="%g" y="%.1f" class="tick" text-anchor="end">%d%%</text>`, left-8, ax.y(share)+4, int(share*100))
	}
	for v := ax.lo; v <= ax.hi+ax.step/2; v += ax.step {
		x := ax.x(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#e9ecef"/>`, x, top, x, bottom)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#868e96"/>`, x, bottom, x, bottom+5)
		fmt.Fprintf(b, `<text x="%.1f" y="%g" class="tick" text-anchor="middle">%.*f</text>`, x, bottom+19, ax.decimals, v/ax.unit)
	}
	fmt.Fprintf(b, `<text x="%g" y="%g" class="axis" text-anchor="middle">Response time (%s)</text>`, (left+right)/2, plotHeight-6, ax.unitName)
	fmt.Fprintf(b, `<text transform="translate(14 %g) rotate(-90)" class="axis" text-anchor="middle">Share of answers at most this fast</text>`, (top+bottom)/2)
}

// writeCurve draws a series' empirical distribution function as steps,
// from zero at the left edge; past the axis's end it runs flat to the
// edge, the slower answers being off the plot.
func writeCurve(b *strings.Builder, ax timeAxis, s plotSeries) {
	if len(s.samples) == 0 {
		return
	}
	sorted := slices.Clone(s.samples)
	slices.Sort(sorted)
	n := len(sorted)
	points := min(n, maxCurvePoints)
	fmt.Fprintf(b, `<path d="M%g %.1f`, plotLeft, ax.y(0))
	for i := range points {
		k := i
		if points < n {
			k = (i+1)*n/points - 1
		}
		v := float64(sorted[k])
		if v > ax.hi {
			break
		}
		fmt.Fprintf(b, "H%.1fV%.1f", ax.x(v), ax.y(float64(k+1)/float64(n)))
	}
	fmt.Fprintf(b, `H%g" fill="none" stroke="%s" stroke-width="%g"`, plotWidth-plotRight, s.color, s.width)
	if s.dash != "" {
		fmt.Fprintf(b, ` stroke-dasharray="%s"`, s.dash)
	}
	b.WriteString(` stroke-linejoin="round"/>`)
}

// writeLegend puts the legend in a row above the plot, where it cannot
// hide a curve, one equal slot per series.
func writeLegend(b *strings.Builder, series []plotSeries) {
	slot := (plotWidth - plotLeft - plotRight) / float64(len(series))
	for i, s := range series {
		x := plotLeft + slot*float64(i)
		fmt.Fprintf(b, `<line x1="%g" y1="14" x2="%g" y2="14" stroke="%s" stroke-width="%g"`, x, x+22, s.color, s.width+0.6)
		if s.dash != "" {
			fmt.Fprintf(b, ` stroke-dasharray="%s"`, s.dash)
		}
		fmt.Fprintf(b, `/><text x="%g" y="18" class="legend">%s</text>`, x+28, s.label)
	}
}

// htmlTemplate is the page. Its style sheet is inline and it loads
// nothing, so the file stands on its own.
//
//go:embed report.html.tmpl
var htmlTemplate string

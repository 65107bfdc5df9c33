package scan

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

// WriteHTML writes the report as one self-contained HTML page: a summary,
// every finding with its evidence and remediation, the endpoints with
// their notes, and, for endpoints the timing check measured, a plot of the
// response-time distributions. Styles are inline and there is no script
// and no remote asset, so the page can be archived, mailed or attached to
// a CI run and opened anywhere as it is. Everything the target sent back
// is escaped by html/template: a hostile target cannot inject markup into
// the report.
func WriteHTML(w io.Writer, r *Report) error {
	var b bytes.Buffer
	if err := htmlReport.Execute(&b, newHTMLView(r)); err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	// html/template leaves control characters as they are; whoever opens
	// the file in a terminal must not be at the target's mercy.
	if _, err := io.WriteString(w, Sanitize(b.String())); err != nil {
		return fmt.Errorf("write HTML report: %w", err)
	}
	return nil
}

// htmlView is what the page template reads.
type htmlView struct {
	*Report
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
	Severity Severity
	N        int
}

type htmlFinding struct {
	Finding
	Index     int
	Rule      Rule
	DiffLines []diffLine
	HasTiming bool
}

type diffLine struct {
	Class string // "del", "ins" or "ctx"
	Text  string
}

type htmlEndpoint struct {
	EndpointResult
	Anchor   string
	Findings int
	Plot     template.HTML // the timing plot, when there are samples
	Stats    []timingStat
}

type timingStat struct{ Label, Value string }

func newHTMLView(r *Report) htmlView {
	v := htmlView{Report: r, Headline: summary(r), DurationText: r.Duration.Round(time.Millisecond).String()}
	if !r.Started.IsZero() {
		v.StartedUTC = r.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	for _, s := range []Severity{SeverityHigh, SeverityMedium, SeverityLow} {
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
		if e.Error != "" || e.Verdict == VerdictInconclusive {
			v.Errors++
		}
		if e.Timing != nil {
			timed[e.Name] = true
			v.Timed = append(v.Timed, he)
		}
		v.Endpoints = append(v.Endpoints, he)
	}
	for i, f := range r.Findings {
		rule, _ := RuleByID(f.Rule)
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

func newHTMLEndpoint(e EndpointResult, fs []Finding) htmlEndpoint {
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
func timingStats(t *TimingResult) []timingStat {
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
	"lower":  func(s Severity) string { return string(s) },
	"upper":  func(s Severity) string { return strings.ToUpper(string(s)) },
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
func timingPlot(t *TimingResult) template.HTML {
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
const htmlTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tacit scan of {{.Target}}</title>
<style>
:root{--ink:#1f2328;--muted:#59636e;--line:#d8dee4;--bg:#f3f4f6;--card:#fff;
--high:#c92a2a;--high-bg:#fff0f0;--medium:#c2410c;--medium-bg:#fff4e8;--low:#1d5fa8;--low-bg:#eaf3fd;
--pass:#1f7a3a;--pass-bg:#eaf7ee;--warn:#9a6700;--warn-bg:#fff8e1;
--mono:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.wrap{max-width:1080px;margin:0 auto;padding:0 28px}
header.top{background:#161b22;color:#f0f3f6;padding:26px 0 22px}
header.top .brand{font-size:13px;letter-spacing:.08em;text-transform:uppercase;color:#9198a1}
header.top h1{margin:4px 0 6px;font-size:26px;font-weight:650}
header.top .target{font-family:var(--mono);font-size:15px;color:#f0f3f6;word-break:break-all}
header.top .meta{margin-top:10px;color:#9198a1;font-size:13.5px}
header.top .meta span+span:before{content:"·";margin:0 .55em}
main.wrap{padding:26px 28px 40px}
h2{font-size:19px;margin:34px 0 12px;font-weight:650}
.verdict{display:flex;align-items:center;gap:14px;border-radius:10px;padding:16px 20px;border:1px solid;font-size:17px;font-weight:600}
.verdict.fail{background:var(--high-bg);border-color:#f3c2c2;color:var(--high)}
.verdict.warn{background:var(--warn-bg);border-color:#efd9a0;color:var(--warn)}
.verdict.pass{background:var(--pass-bg);border-color:#b5e2c1;color:var(--pass)}
.verdict .mark{display:inline-flex;width:30px;height:30px;border-radius:50%;align-items:center;justify-content:center;color:#fff;font-size:17px;flex:none}
.verdict.fail .mark{background:var(--high)}.verdict.warn .mark{background:var(--warn)}.verdict.pass .mark{background:var(--pass)}
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin-top:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}
.card .n{font-size:26px;font-weight:700;line-height:1.2}
.card .l{font-size:12.5px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.card.high .n{color:var(--high)}.card.medium .n{color:var(--medium)}.card.low .n{color:var(--low)}
.card.zero .n{color:#afb8c1}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:10px;overflow:hidden}
th,td{text-align:left;padding:9px 12px;border-bottom:1px solid #eaeef2;vertical-align:top;font-size:14px}
th{background:#f6f8fa;font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600}
tr:last-child td{border-bottom:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:var(--mono);font-size:13px}
.state-ok{color:var(--pass);font-weight:600}.state-bad{color:var(--high);font-weight:600}.state-err{color:var(--warn);font-weight:600}
ul.sub{margin:6px 0 0;padding-left:18px;color:var(--muted);font-size:13px}
.finding{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--line);border-radius:10px;margin:0 0 18px;overflow:hidden}
.finding.high{border-left-color:var(--high)}.finding.medium{border-left-color:var(--medium)}.finding.low{border-left-color:var(--low)}
.finding .head{display:flex;flex-wrap:wrap;align-items:center;gap:10px;padding:14px 18px 4px}
.finding .head h3{margin:0;font-size:16.5px;font-weight:650;flex:1 1 320px}
.finding .body{padding:4px 18px 16px}
.badge{display:inline-block;font-size:11.5px;font-weight:700;letter-spacing:.06em;padding:3px 9px;border-radius:999px;text-transform:uppercase}
.badge.high{background:var(--high-bg);color:var(--high);border:1px solid #f3c2c2}
.badge.medium{background:var(--medium-bg);color:var(--medium);border:1px solid #f6d0ad}
.badge.low{background:var(--low-bg);color:var(--low);border:1px solid #bcd7f5}
.rule{font-family:var(--mono);font-size:12.5px;color:var(--muted)}
.where{color:var(--muted);font-size:14px;margin:0 0 8px}
.where code{color:var(--ink)}
.facts{display:flex;flex-wrap:wrap;gap:8px 22px;font-size:13.5px;color:var(--muted);margin:10px 0}
.facts b{color:var(--ink);font-weight:600}
table.pair td:first-child{width:96px;color:var(--muted);font-weight:600}
table.pair td{font-size:13px}
table.pair th:last-child{width:210px}
table.pair .req{font-family:var(--mono);font-size:12.5px;word-break:break-all}
.observed{font-family:var(--mono);font-size:12.5px;white-space:pre-wrap;word-break:break-all;color:#424a53}
pre.diff{margin:10px 0 0;background:#f6f8fa;border:1px solid var(--line);border-radius:8px;padding:10px 0;font-family:var(--mono);font-size:12.5px;line-height:1.5;overflow-x:auto}
pre.diff span{display:block;padding:0 14px;white-space:pre}
pre.replay,pre.answer{margin:6px 0 0;background:#f6f8fa;border:1px solid var(--line);border-radius:8px;padding:8px 14px;font-family:var(--mono);font-size:12.5px;white-space:pre-wrap;word-break:break-all}
details.answers{margin-top:8px}
pre.diff .del{background:#ffebe9;color:#82071e}pre.diff .ins{background:#dafbe1;color:#116329}pre.diff .ctx{color:#59636e}
.label{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600;margin:14px 0 6px}
.fix{background:#f6f8fa;border:1px solid var(--line);border-radius:8px;padding:11px 14px;font-size:14px;margin-top:14px}
.fix strong{display:block;font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--pass);margin-bottom:3px}
.fix.framework{border-left:3px solid var(--pass)}
.framework-seen{margin:0 0 12px;color:var(--muted);font-size:14px}
.fp{font-family:var(--mono);font-size:11.5px;color:#8c959f;margin-top:10px}
.timing{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin-bottom:18px}
.timing h3{margin:0 0 2px;font-size:16px}
.timing .grid{display:grid;grid-template-columns:minmax(0,1fr) 270px;gap:18px;align-items:start}
svg.plot{width:100%;height:auto;display:block}
svg.plot .tick{font:12px system-ui,sans-serif;fill:#59636e}
svg.plot .axis{font:13px system-ui,sans-serif;fill:#1f2328}
svg.plot .legend{font:12.5px system-ui,sans-serif;fill:#1f2328}
dl.stats{margin:6px 0 0;font-size:13px}
dl.stats dt{color:var(--muted);margin-top:8px}
dl.stats dd{margin:1px 0 0;font-weight:600;font-variant-numeric:tabular-nums}
.note{color:var(--muted);font-size:13px;margin-top:8px}
.empty{background:var(--card);border:1px dashed var(--line);border-radius:10px;padding:18px;color:var(--muted)}
footer{color:var(--muted);font-size:12.5px;border-top:1px solid var(--line);padding:16px 0 30px}
@media (max-width:760px){.cards{grid-template-columns:repeat(2,1fr)}.timing .grid{grid-template-columns:1fr}}
@media print{body{background:#fff}header.top{background:#fff;color:#000;border-bottom:2px solid #000}.finding,.timing{break-inside:avoid}}
</style>
</head>
<body>
<header class="top"><div class="wrap">
<div class="brand">tacit · account enumeration scan</div>
<h1>Scan report</h1>
<div class="target">{{.Target}}</div>
<div class="meta">{{if .StartedUTC}}<span>{{.StartedUTC}}</span>{{end}}<span>{{len .Endpoints}} {{plural (len .Endpoints) "endpoint" "endpoints"}}</span><span>{{.Requests}} probes</span><span>{{.DurationText}}</span></div>
</div></header>
<main class="wrap">
{{with .Framework}}<p class="framework-seen">Framework: <b>{{.Name}}</b>, recognised by {{join .Evidence ", "}}.</p>{{end}}
<div class="verdict {{.Verdict}}"><span class="mark">{{if eq .Verdict "pass"}}✓{{else}}!{{end}}</span><span>{{.Headline}}</span></div>
<div class="cards">
{{range .Counts}}<div class="card {{lower .Severity}}{{if eq .N 0}} zero{{end}}"><div class="n">{{.N}}</div><div class="l">{{lower .Severity}}</div></div>
{{end}}<div class="card"><div class="n">{{len .Endpoints}}</div><div class="l">endpoints</div></div>
<div class="card{{if eq .Errors 0}} zero{{end}}"><div class="n">{{.Errors}}</div><div class="l">inconclusive</div></div>
</div>

<h2>Findings</h2>
{{if not .Findings}}<div class="empty">No endpoint told a known identifier from an unknown one.</div>{{end}}
{{range .Findings}}<section class="finding {{lower .Severity}}" id="finding-{{.Index}}">
<div class="head"><span class="badge {{lower .Severity}}">{{upper .Severity}}</span><h3>{{.Rule.Title}}</h3><span class="rule">{{.Finding.Rule}}</span></div>
<div class="body">
<p class="where">Endpoint <code>{{.Endpoint}}</code> · <code>{{.Method}} {{.Path}}</code> · {{.Kind}}</p>
<p>{{.Message}}</p>
{{with .Evidence}}<div class="facts"><span>Channel <b>{{.Channel}}</b></span>{{if .Input}}<span>Input <b>{{.Input}}</b></span>{{end}}{{if .Pairs}}<span>Differed in <b>{{.Differing}} of {{.Pairs}}</b> pairs ({{pct .Differing .Pairs}}%)</span>{{end}}</div>
{{if .Known.Request.URL}}<div class="label">Evidence: one pair of requests that differ only in the identifier</div>
<table class="pair">
<tr><th></th><th>Request</th><th>Answer</th></tr>
<tr><td>Known</td><td><div class="req">{{.Known.Request}}</div><div class="mono">{{.Known.Identifier}}</div></td><td><b>{{statusText .Known.Status}}</b>{{if .Known.Observed}}<div class="observed">{{.Known.Observed}}</div>{{end}}</td></tr>
<tr><td>Unknown</td><td><div class="req">{{.Unknown.Request}}</div><div class="mono">{{.Unknown.Identifier}}</div></td><td><b>{{statusText .Unknown.Status}}</b>{{if .Unknown.Observed}}<div class="observed">{{.Unknown.Observed}}</div>{{end}}</td></tr>
</table>{{end}}
{{if .Known.Curl}}<div class="label">Replay: the two requests as sent, cookies from the before steps included (known, then unknown)</div>
<pre class="replay">{{.Known.Curl}}</pre><pre class="replay">{{.Unknown.Curl}}</pre>
<details class="answers"><summary>The two answers in full</summary>
<div class="label">Known: {{statusText .Known.Status}}</div><pre class="answer">{{range .Known.Headers}}{{.Name}}: {{.Value}}
{{end}}
{{.Known.Body}}{{if .Known.BodyTruncated}}
[cut at 64 KiB]{{end}}</pre>
<div class="label">Unknown: {{statusText .Unknown.Status}}</div><pre class="answer">{{range .Unknown.Headers}}{{.Name}}: {{.Value}}
{{end}}
{{.Unknown.Body}}{{if .Unknown.BodyTruncated}}
[cut at 64 KiB]{{end}}</pre>
</details>{{end}}{{end}}
{{if .DiffLines}}<div class="label">Difference (− known, + unknown; {{"{{"}}identifier{{"}}"}} is the address sent, {{"{{"}}varies{{"}}"}} what changes by itself)</div>
<pre class="diff">{{range .DiffLines}}<span class="{{.Class}}">{{.Text}}</span>{{end}}</pre>{{end}}
{{if .HasTiming}}<p class="note">The response-time distributions of this endpoint are plotted under <a href="#timing-{{.Endpoint}}">Response times</a>.</p>{{end}}
{{if .Rule.Remediation}}<div class="fix"><strong>How to fix</strong>{{.Rule.Remediation}}</div>{{end}}
{{if .Advice}}<div class="fix framework"><strong>How to fix in {{$.Framework.Name}}</strong>{{.Advice}}</div>{{end}}
<div class="fp">fingerprint {{.Fingerprint}}</div>
</div>
</section>
{{end}}
{{if .Timed}}<h2>Response times</h2>
{{range .Timed}}<section class="timing" id="{{.Anchor}}">
<h3>{{.Name}} <span class="rule">{{.Method}} {{.Path}}</span></h3>
<div class="grid"><div>{{.Plot}}
<p class="note">Each curve is the share of answers that came at most this fast. Curves of two identifiers treated alike lie on each other, as the two control curves do. The axis ends a little past the 95th percentile of the slowest identifier.</p></div>
<dl class="stats">{{range .Stats}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>{{end}}</dl></div>
</section>
{{end}}{{end}}
<h2>Endpoints</h2>
<table>
<tr><th>Endpoint</th><th>Kind</th><th>Request</th><th class="num">Probes</th><th>Result</th></tr>
{{range .Endpoints}}<tr><td><b>{{.Name}}</b></td><td>{{.Kind}}</td><td><code>{{.Method}} {{.Path}}</code></td><td class="num">{{.Probes}}</td>
<td>{{if .Error}}<span class="state-err">Not scanned</span><div class="observed">{{.Error}}</div>{{else if .Findings}}<span class="state-bad">Leak: {{.Findings}} {{plural .Findings "finding" "findings"}}</span>{{else if eq .Verdict "inconclusive"}}<span class="state-err">Inconclusive</span>{{else}}<span class="state-ok">Clean</span>{{end}}
{{if or .Unstable .Inconclusive .Notes}}<ul class="sub">{{range .Unstable}}<li>Not compared, varies by itself: {{.}}</li>{{end}}{{range .Inconclusive}}<li>Inconclusive: {{.}}</li>{{end}}{{range .Notes}}<li>Note: {{.}}</li>{{end}}</ul>{{end}}</td></tr>
{{end}}</table>
</main>
<footer><div class="wrap">Generated by tacit scan. Each endpoint was probed with identifiers that have an account and identifiers that do not, in random order; a finding is a difference between their answers that two unknown identifiers did not show.</div></footer>
</body>
</html>
`

package scan_test

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/tacitauth/tacit/scan"
	scanreport "github.com/tacitauth/tacit/scan/report"
)

// sampleReport is a report with a finding of every severity, evidence
// with a diff and with hostile markup, an endpoint that could not be
// scanned, notes, unstable channels and timing samples.
func sampleReport() *scan.Report {
	login := &scan.Endpoint{Name: "login", Kind: scan.KindLogin, RequestTemplate: scan.RequestTemplate{Method: "POST", Path: "/login"}}
	register := &scan.Endpoint{Name: "register", Kind: scan.KindRegister, RequestTemplate: scan.RequestTemplate{Method: "POST", Path: "/register"}}
	sample := func(id string, status int, observed string) scan.Sample {
		return scan.Sample{Identifier: id, Status: status, Observed: observed,
			Request: scan.Request{Method: "POST", URL: "http://app.test/login", Body: "email=" + strings.ReplaceAll(id, "@", "%40") + "&password=Qx7"}}
	}
	status := scan.NewFinding(scan.RuleStatusCode, login, "On the sign-in endpoint login (POST /login), the status code differs between a known and an unknown identifier: 401 for the known one, 404 for the unknown one (6 of 6 pairs).",
		scan.Evidence{Channel: "status code", Known: sample("alice@app.test", 401, "401"), Unknown: sample("q7zk2m9xwv@app.test", 404, "404"), Pairs: 6, Differing: 6})
	timing := scan.NewFinding(scan.RuleTiming, login, "On the sign-in endpoint login (POST /login), answers for the known identifier are 612 µs slower.",
		scan.Evidence{Channel: "response time", Pairs: 200, Differing: 200})
	content := scan.NewFinding(scan.RuleRegister, register, "On the sign-up endpoint register (POST /register), the body differs for input \"too short password\".",
		scan.Evidence{Channel: "body", Input: "too short password",
			Known:   sample("alice@app.test", 200, `<p class="error">This address is taken</p><script>alert(1)</script>`),
			Unknown: sample("q7zk2m9xwv@app.test", 200, `<p class="error">Use at least 8 characters</p>`),
			Diff:    "  <form method=\"post\">\n- <p class=\"error\">This address is taken</p>\n+ <p class=\"error\">Use at least 8 characters</p>\n  <input name=\"email\" value=\"{{identifier}}\">",
			Pairs:   2, Differing: 2})
	low := scan.NewFinding(scan.RuleLength, register, "On the sign-up endpoint register (POST /register), the body length differs.", scan.Evidence{Channel: "body length", Pairs: 6, Differing: 3})
	low.Severity = scan.SeverityLow
	return &scan.Report{
		Target: "http://app.test", Started: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Duration: 4321 * time.Millisecond, Requests: 584,
		Endpoints: []scan.EndpointResult{
			{Name: "login", Kind: scan.KindLogin, Method: "POST", Path: "/login", Probes: 224, Timing: sampleTiming()},
			{Name: "register", Kind: scan.KindRegister, Method: "POST", Path: "/register", Probes: 312, Unstable: []string{"header X-Cache"}},
			{Name: "forgot", Kind: scan.KindReset, Method: "POST", Path: "/password/forgot", Probes: 48, Notes: []string{"every answer was 404 Not Found: check the path"}},
			{Name: "resend", Kind: scan.KindResend, Method: "POST", Path: "/verify/resend?flow={{flow}}", Error: "before step 1 (GET /verify/resend): {{flow}} from input \"flow\": not found"},
		},
		Findings: []scan.Finding{status, content, timing, low},
	}
}

// sampleTiming is 200 samples per identifier: the known one about 0.6 ms
// slower than the others.
func sampleTiming() *scan.TimingResult {
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func(mean time.Duration) []time.Duration {
		out := make([]time.Duration, 200)
		for i := range out {
			out[i] = mean + time.Duration(rng.NormFloat64()*float64(120*time.Microsecond))
		}
		return out
	}
	return &scan.TimingResult{
		Known: draw(1800 * time.Microsecond), Unknown: draw(1200 * time.Microsecond),
		ControlA: draw(1200 * time.Microsecond), ControlB: draw(1200 * time.Microsecond),
		Effect: 612 * time.Microsecond, EffectLow: 580 * time.Microsecond, EffectHigh: 641 * time.Microsecond,
		P: 1e-12, Resolution: 50 * time.Microsecond,
	}
}

func writeHTML(t *testing.T, r *scan.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := scanreport.WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteHTMLContent(t *testing.T) {
	rep := sampleReport()
	page := writeHTML(t, rep)
	var want []string
	for _, f := range rep.Findings {
		rule, _ := scan.RuleByID(f.Rule)
		want = append(want, f.Rule, html.EscapeString(rule.Title), html.EscapeString(f.Message), html.EscapeString(rule.Remediation), "fingerprint "+f.Fingerprint())
	}
	want = append(want,
		"<title>tacit scan of http://app.test</title>",
		"4 findings (2 high, 1 medium, 1 low).",
		"2026-03-01 12:00:00 UTC", "584 probes", "4.321s",
		`<span class="badge high">HIGH</span>`, `<span class="badge medium">MEDIUM</span>`, `<span class="badge low">LOW</span>`,
		"Endpoint <code>login</code> · <code>POST /login</code> · login",
		"Differed in <b>6 of 6</b> pairs (100%)", "Input <b>too short password</b>",
		"<b>401 Unauthorized</b>", "<b>404 Not Found</b>",
		"POST http://app.test/login email=alice%40app.test&amp;password=Qx7",
		`<span class="del">- &lt;p class=&#34;error&#34;&gt;This address is taken&lt;/p&gt;</span>`,
		`<span class="ins">&#43; &lt;p class=&#34;error&#34;&gt;Use at least 8 characters&lt;/p&gt;</span>`,
		`<span class="ctx">  &lt;input name=&#34;email&#34; value=&#34;{{identifier}}&#34;&gt;</span>`,
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"<li>Not compared, varies by itself: header X-Cache</li>",
		"<li>Note: every answer was 404 Not Found: check the path</li>",
		`<span class="state-err">Not scanned</span>`,
		"before step 1 (GET /verify/resend): {{flow}} from input &#34;flow&#34;: not found",
		`<a href="#timing-login">Response times</a>`, `<section class="timing" id="timing-login">`,
		"Response time (ms)", `class="legend">Known identifier</text>`, `class="legend">Unknown identifier</text>`, `class="legend">Control A</text>`,
		"<dt>Samples per identifier</dt><dd>200</dd>",
		"<dt>Known − unknown</dt><dd>&#43;612 µs</dd><dt>95% interval</dt><dd>&#43;580 µs to &#43;641 µs</dd>",
		"<dt>p-value</dt><dd>1e-12</dd>", "<dt>Smallest effect sought</dt><dd>50.0 µs</dd>",
	)
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// TestWriteHTMLSelfContained parses the page and requires one finding
// section per finding, one plot per timed endpoint, and nothing that runs
// or loads: no script, no external style or image, no event handler.
func TestWriteHTMLSelfContained(t *testing.T) {
	rep := sampleReport()
	doc, err := html.Parse(strings.NewReader(writeHTML(t, rep)))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			count[n.Data]++
			if n.Data == "section" {
				count["section."+strings.Fields(attr(n, "class"))[0]]++
			}
			for _, a := range n.Attr {
				if a.Key == "src" || strings.HasPrefix(a.Key, "on") || (a.Key == "href" && !strings.HasPrefix(a.Val, "#")) {
					t.Errorf("<%s %s=%q> refers outside the page or runs code", n.Data, a.Key, a.Val)
				}
			}
		}
		if n.Type == html.TextNode && n.Parent != nil && n.Parent.Data == "style" && (strings.Contains(n.Data, "url(") || strings.Contains(n.Data, "@import")) {
			t.Error("the style sheet loads something")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if count["script"] != 0 || count["link"] != 0 || count["img"] != 0 || count["iframe"] != 0 {
		t.Errorf("script %d, link %d, img %d, iframe %d elements; want none", count["script"], count["link"], count["img"], count["iframe"])
	}
	if count["section.finding"] != len(rep.Findings) || count["section.timing"] != 1 || count["svg"] != 1 || count["style"] != 1 {
		t.Errorf("%d finding sections, %d timing sections, %d plots, %d style sheets; want %d, 1, 1, 1",
			count["section.finding"], count["section.timing"], count["svg"], count["style"], len(rep.Findings))
	}
	// Four curves: known, unknown and the two controls (legend keys are lines).
	if count["path"] != 4 {
		t.Errorf("%d curves, want 4", count["path"])
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// TestHTMLTimingAxis checks the plot's x axis: from the fastest sample to
// a tenth past the 95th percentile, rounded out to whole ticks, labelled
// in the unit that suits the span.
func TestHTMLTimingAxis(t *testing.T) {
	spread := func(from, to time.Duration, n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = from + (to-from)*time.Duration(i)/time.Duration(n-1)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		samples  []time.Duration
		unit     string
		ticks    []string
		notTicks []string
	}{
		{"milliseconds", spread(time.Millisecond, 2*time.Millisecond, 100), "ms", []string{"1.0", "1.2", "1.4", "1.6", "1.8", "2.0", "2.2"}, []string{"0.8", "2.4"}},
		{"microseconds", spread(120*time.Microsecond, 480*time.Microsecond, 100), "µs", []string{"100", "200", "300", "400", "500"}, []string{"0", "600"}},
		{"seconds", spread(10*time.Second, 35*time.Second, 100), "s", []string{"10", "15", "20", "25", "30", "35", "40"}, []string{"5", "45"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &scan.Report{Target: "http://app.test", Endpoints: []scan.EndpointResult{{Name: "login", Method: "POST", Path: "/login",
				Timing: &scan.TimingResult{Known: tc.samples, Unknown: tc.samples, ControlA: tc.samples, ControlB: tc.samples}}}}
			page := writeHTML(t, rep)
			if !strings.Contains(page, "Response time ("+tc.unit+")") {
				t.Errorf("axis not labelled in %s", tc.unit)
			}
			for _, tick := range tc.ticks {
				if !strings.Contains(page, `text-anchor="middle">`+tick+`</text>`) {
					t.Errorf("no tick %s", tick)
				}
			}
			for _, tick := range tc.notTicks {
				if strings.Contains(page, `text-anchor="middle">`+tick+`</text>`) {
					t.Errorf("tick %s outside the samples", tick)
				}
			}
		})
	}
}

func TestWriteHTMLClean(t *testing.T) {
	rep := &scan.Report{Target: "http://app.test", Requests: 24, Findings: []scan.Finding{},
		Endpoints: []scan.EndpointResult{{Name: "login", Kind: scan.KindLogin, Method: "POST", Path: "/login", Probes: 24}}}
	page := writeHTML(t, rep)
	for _, w := range []string{
		`<div class="verdict pass">`, "No findings: no endpoint told a known identifier from an unknown one.",
		`<span class="state-ok">Clean</span>`,
	} {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if strings.Contains(page, "<svg") || strings.Contains(page, "Response times") {
		t.Error("a report without timing samples has a plot")
	}
}

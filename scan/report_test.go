package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
	scanreport "github.com/tacitauth/tacit/scan/report"
)

func TestRulesTable(t *testing.T) {
	want := []string{
		"USER_ENUM_RESPONSE_CONTENT", "USER_ENUM_STATUS_CODE", "USER_ENUM_REDIRECT", "USER_ENUM_HEADERS",
		"USER_ENUM_COOKIES", "USER_ENUM_LENGTH", "USER_ENUM_TIMING", "USER_ENUM_REGISTER",
		"USER_ENUM_PASSWORD_RESET", "USER_ENUM_LOCKOUT", "USER_ENUM_RATE_LIMIT", "USER_ENUM_PASSKEY",
	}
	var got []string
	for _, r := range scan.Rules {
		got = append(got, r.ID)
		if r.Severity.Rank() == 0 || r.Title == "" || len(r.Remediation) < 200 || !strings.Contains(r.Remediation, "scan") {
			t.Errorf("%s: severity %q, title %q, remediation of %d bytes (must say how to check with a rescan)", r.ID, r.Severity, r.Title, len(r.Remediation))
		}
		if got, ok := scan.RuleByID(r.ID); !ok || got.ID != r.ID {
			t.Errorf("RuleByID(%s) = %+v, %v", r.ID, got, ok)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("rule IDs = %q\nwant %q", got, want)
	}
}

func TestWriteText(t *testing.T) {
	rep := &scan.Report{
		Target: "http://app.test", Duration: 1234 * time.Millisecond, Requests: 48,
		Endpoints: []scan.EndpointResult{
			{Name: "login", Kind: scan.KindLogin, Method: "POST", Path: "/login", Probes: 24},
			{Name: "forgot", Kind: scan.KindReset, Method: "POST", Path: "/forgot", Probes: 24, Unstable: []string{"header X-Cache"}, Notes: []string{"every answer was 404 Not Found"}},
		},
		Findings: []scan.Finding{{
			Rule: scan.RuleStatusCode, Severity: scan.SeverityHigh, Endpoint: "login", Kind: scan.KindLogin, Method: "POST", Path: "/login",
			Message: "On the sign-in endpoint login (POST /login), the status code differs.",
			Evidence: scan.Evidence{Channel: "status code",
				Known:   scan.Sample{Identifier: "a@app.test", Request: scan.Request{Method: "POST", URL: "http://app.test/login", Body: "email=a%40app.test"}, Status: 401, Observed: "401"},
				Unknown: scan.Sample{Identifier: "b@app.test", Request: scan.Request{Method: "POST", URL: "http://app.test/login", Body: "email=b%40app.test"}, Status: 404, Observed: "404"},
				Diff:    "- a\n+ b", Pairs: 6, Differing: 6},
		}},
	}
	var b bytes.Buffer
	if err := scanreport.WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	rule, _ := scan.RuleByID(scan.RuleStatusCode)
	want := `tacit scan of http://app.test
2 endpoints, 48 probes in 1.234s

HIGH    USER_ENUM_STATUS_CODE  login (POST /login)
  On the sign-in endpoint login (POST /login), the status code differs.
  known   POST http://app.test/login email=a%40app.test → 401
  unknown POST http://app.test/login email=b%40app.test → 404
  diff (- known, + unknown):
    - a
    + b
` + wrapForTest("Fix: "+rule.Remediation) + `
Endpoints
  login            login          POST   /login                         24 probes  leak: 1 finding
  forgot           reset          POST   /forgot                        24 probes  inconclusive
      not compared, varies by itself: header X-Cache
      note: every answer was 404 Not Found

1 finding (1 high). Inconclusive: the scan cannot vouch for 1 of 2 endpoints.
`
	if b.String() != want {
		t.Errorf("text report:\n%s\nwant:\n%s", b.String(), want)
	}
}

// wrapForTest wraps like the report: 78 columns, two spaces of indent.
func wrapForTest(s string) string {
	var out, line string
	for _, w := range strings.Fields(s) {
		if line != "" && 2+len(line)+1+len(w) > 78 {
			out += "  " + line + "\n"
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return out + "  " + line + "\n"
}

func TestWriteJSONAndProgress(t *testing.T) {
	f, _ := lab.Lookup("status")
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	tg := loadTarget(t, f.Target(srv.URL), "")
	var calls [][2]int
	s := &scan.Scanner{Probes: 3, Rand: rand.New(rand.NewPCG(1, 1)), Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }}
	rep, err := s.Scan(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 12 || len(calls) != 12 || calls[0] != [2]int{1, 12} || calls[11] != [2]int{12, 12} {
		t.Errorf("requests %d, progress calls %v", rep.Requests, calls)
	}

	var b bytes.Buffer
	if err := scanreport.WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version  int     `json:"version"`
		Target   string  `json:"target"`
		Requests int     `json:"requests"`
		Seconds  float64 `json:"duration_seconds"`
		Findings []struct {
			Rule, Severity, Endpoint, Kind, Method, Path, Message, Fingerprint string
			Evidence                                                           struct {
				Channel        string
				Known, Unknown struct {
					Identifier, Observed string
					Status               int
					Request              struct{ Method, URL, Body string }
				}
				Pairs, Differing int
			}
		} `json:"findings"`
		Rules []scan.Rule `json:"rules"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if doc.Version != 1 || doc.Target != srv.URL || doc.Requests != 12 || doc.Seconds <= 0 || len(doc.Findings) != 1 || len(doc.Rules) != 1 {
		t.Fatalf("document:\n%s", b.String())
	}
	fd := doc.Findings[0]
	ev := fd.Evidence
	if fd.Rule != scan.RuleStatusCode || fd.Severity != "high" || fd.Endpoint != "login" || fd.Kind != "login" || fd.Method != "POST" || fd.Path != "/api/login" ||
		ev.Channel != "status code" || ev.Known.Identifier != lab.Known || ev.Known.Status != 401 || ev.Unknown.Status != 404 ||
		ev.Known.Observed != "401" || ev.Unknown.Observed != "404" || ev.Pairs != 3 || ev.Differing != 3 ||
		ev.Known.Request.URL != srv.URL+"/api/login" || !strings.Contains(ev.Unknown.Request.Body, `"email":"`+ev.Unknown.Identifier+`"`) {
		t.Errorf("finding:\n%s", b.String())
	}
	if !strings.HasSuffix(ev.Unknown.Identifier, "@lab.example") || ev.Unknown.Identifier == lab.Known {
		t.Errorf("unknown identifier %q is not a fresh address on the known one's domain", ev.Unknown.Identifier)
	}
	if fd.Fingerprint != rep.Findings[0].Fingerprint() {
		t.Errorf("fingerprint %q, want %q", fd.Fingerprint, rep.Findings[0].Fingerprint())
	}
	if want, _ := scan.RuleByID(scan.RuleStatusCode); doc.Rules[0] != want {
		t.Errorf("rules = %+v", doc.Rules)
	}
	if !rep.Failed(scan.SeverityHigh) || !rep.Failed(scan.SeverityLow) {
		t.Error("a high finding must fail at every threshold")
	}
	rep.Findings[0].Severity = scan.SeverityMedium
	if rep.Failed(scan.SeverityHigh) || !rep.Failed(scan.SeverityMedium) {
		t.Error("a medium finding fails at medium and below only")
	}
}

func TestFingerprintIsStable(t *testing.T) {
	f, _ := lab.Lookup("cookie")
	a := scanFixture(t, f, 1, 2).Findings[0]
	b := scanFixture(t, f, 2, 3).Findings[0]
	if a.Evidence.Unknown.Identifier == b.Evidence.Unknown.Identifier {
		t.Fatal("the two scans used the same unknown identifier")
	}
	if a.Fingerprint() != b.Fingerprint() || len(a.Fingerprint()) != 32 {
		t.Errorf("fingerprints %s and %s", a.Fingerprint(), b.Fingerprint())
	}
	b.Path = "/other"
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("another path has the same fingerprint")
	}
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]scan.Severity{"high": scan.SeverityHigh, " Medium": scan.SeverityMedium, "LOW": scan.SeverityLow} {
		if got, err := scan.ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := scan.ParseSeverity("critical"); err == nil || err.Error() != `unknown severity "critical"; want low, medium or high` {
		t.Errorf("err = %v", err)
	}
}

package scan_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
	scanreport "github.com/tacitauth/tacit/scan/report"
)

// sarifSchema compiles the official SARIF 2.1.0 schema (testdata; see
// its .source file) with format assertions on, so URIs and times are
// checked too.
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func writeSARIF(t *testing.T, r *scan.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := scanreport.WriteSARIF(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func validate(sch *jsonschema.Schema, doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// TestSARIFIsValid validates logs of real scans of lab fixtures (leaky
// and clean), of a report with every kind of content, and of an empty
// one, against the official schema.
func TestSARIFIsValid(t *testing.T) {
	sch := sarifSchema(t)
	reports := map[string]*scan.Report{
		"sample": sampleReport(),
		"empty":  {Target: "http://app.test", Findings: []scan.Finding{}},
	}
	for _, name := range []string{"message", "register-order", "cookie", "clean-html"} {
		f, _ := lab.Lookup(name)
		reports[name] = scanFixture(t, f, 1, 6)
	}
	for name, rep := range reports {
		t.Run(name, func(t *testing.T) {
			doc := writeSARIF(t, rep)
			if err := validate(sch, doc); err != nil {
				t.Fatalf("not valid SARIF 2.1.0: %v\n%s", err, doc)
			}
		})
	}
}

// TestSARIFSchemaRejects makes sure the validation can fail: a log with a
// level SARIF does not have, or a result without a message, is refused.
func TestSARIFSchemaRejects(t *testing.T) {
	sch := sarifSchema(t)
	good := string(writeSARIF(t, sampleReport()))
	for name, bad := range map[string]string{
		"level":   strings.Replace(good, `"level": "error"`, `"level": "critical"`, 1),
		"message": strings.Replace(good, `"message": {`, `"note": {`, 1),
		"version": strings.Replace(good, `"version": "2.1.0"`, `"version": "2.1"`, 1),
		"uri":     strings.Replace(good, `"uri": "http://app.test/login"`, `"uri": "http://app.test/%zz"`, 1),
	} {
		if bad == good {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if err := validate(sch, []byte(bad)); err == nil {
			t.Errorf("%s: an invalid log passed validation", name)
		}
	}
}

// sarifDoc is the part of a SARIF log the tests read.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name           string `json:"name"`
				InformationURI string `json:"informationUri"`
				Rules          []struct {
					ID               string `json:"id"`
					Name             string `json:"name"`
					ShortDescription struct{ Text string }
					FullDescription  struct{ Text string }
					Help             struct{ Text string }
					Default          struct{ Level string } `json:"defaultConfiguration"`
					Properties       struct {
						Tags             []string `json:"tags"`
						SecuritySeverity string   `json:"security-severity"`
					} `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Invocations []struct {
			ExecutionSuccessful bool   `json:"executionSuccessful"`
			StartTimeUTC        string `json:"startTimeUtc"`
			Notifications       []struct {
				Level   string
				Message struct{ Text string }
			} `json:"toolExecutionNotifications"`
		} `json:"invocations"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct{ Text string }
			Locations []struct {
				Physical struct {
					Artifact struct{ URI string } `json:"artifactLocation"`
				} `json:"physicalLocation"`
				Logical []struct {
					Name               string `json:"name"`
					FullyQualifiedName string `json:"fullyQualifiedName"`
				} `json:"logicalLocations"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
			WebRequest          *struct {
				Target, Method string
				Body           struct{ Text string }
			} `json:"webRequest"`
			WebResponse *struct{ StatusCode int } `json:"webResponse"`
		} `json:"results"`
	} `json:"runs"`
}

func readSARIF(t *testing.T, doc []byte) sarifDoc {
	t.Helper()
	var d sarifDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(d.Runs))
	}
	return d
}

func TestSARIFContent(t *testing.T) {
	rep := sampleReport()
	d := readSARIF(t, writeSARIF(t, rep))
	if d.Version != "2.1.0" || d.Schema != "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json" {
		t.Errorf("version %q, $schema %q", d.Version, d.Schema)
	}
	run := d.Runs[0]
	drv := run.Tool.Driver
	if drv.Name != "tacit" || drv.InformationURI != "https://github.com/tacitauth/tacit" || len(drv.Rules) != len(scan.Rules) {
		t.Fatalf("driver %q at %q with %d rules; want tacit with %d", drv.Name, drv.InformationURI, len(drv.Rules), len(scan.Rules))
	}
	levels := map[scan.Severity]string{scan.SeverityHigh: "error", scan.SeverityMedium: "warning", scan.SeverityLow: "note"}
	for i, rule := range scan.Rules {
		got := drv.Rules[i]
		if got.ID != rule.ID || got.ShortDescription.Text != rule.Title+"." || got.FullDescription.Text != rule.Remediation ||
			got.Help.Text != rule.Remediation || got.Default.Level != levels[rule.Severity] {
			t.Errorf("rule %d = %+v, want %s", i, got, rule.ID)
		}
	}
	status := drv.Rules[1]
	if status.Name != "UserEnumStatusCode" || status.Properties.SecuritySeverity != "7.5" ||
		strings.Join(status.Properties.Tags, ",") != "security,account-enumeration,external/cwe/cwe-204" {
		t.Errorf("status code rule: name %q, security-severity %q, tags %q", status.Name, status.Properties.SecuritySeverity, status.Properties.Tags)
	}
	if tags := drv.Rules[6].Properties.Tags; drv.Rules[6].ID != scan.RuleTiming || tags[2] != "external/cwe/cwe-208" {
		t.Errorf("timing rule %s tags %q", drv.Rules[6].ID, tags)
	}

	inv := run.Invocations[0]
	if inv.ExecutionSuccessful || inv.StartTimeUTC != "2026-03-01T12:00:00Z" || len(inv.Notifications) != 1 ||
		inv.Notifications[0].Level != "error" || !strings.HasPrefix(inv.Notifications[0].Message.Text, "The endpoint resend (POST /verify/resend?flow={{flow}}) could not be scanned: before step 1") {
		t.Errorf("invocation %+v", inv)
	}

	if len(run.Results) != len(rep.Findings) {
		t.Fatalf("%d results, want %d", len(run.Results), len(rep.Findings))
	}
	wantLevel := []string{"error", "error", "warning", "note"}
	wantIndex := []int{1, 7, 6, 5}
	for i, f := range rep.Findings {
		res := run.Results[i]
		loc := res.Locations[0]
		if res.RuleID != f.Rule || res.RuleIndex != wantIndex[i] || res.Level != wantLevel[i] || res.Message.Text != f.Message {
			t.Errorf("result %d: rule %s (index %d), level %s, message %q", i, res.RuleID, res.RuleIndex, res.Level, res.Message.Text)
		}
		if loc.Physical.Artifact.URI != "http://app.test"+f.Path || loc.Logical[0].Name != f.Endpoint || loc.Logical[0].FullyQualifiedName != "POST "+f.Path {
			t.Errorf("result %d: location %+v", i, loc)
		}
		if len(res.PartialFingerprints) != 1 || res.PartialFingerprints["tacitFinding/v1"] != f.Fingerprint() {
			t.Errorf("result %d: partial fingerprints %v, want tacitFinding/v1 %s", i, res.PartialFingerprints, f.Fingerprint())
		}
	}
	first := run.Results[0]
	if first.WebRequest == nil || first.WebRequest.Method != "POST" || first.WebRequest.Target != "http://app.test/login" ||
		first.WebRequest.Body.Text != "email=alice%40app.test&password=Qx7" || first.WebResponse == nil || first.WebResponse.StatusCode != 401 {
		t.Errorf("web request %+v, response %+v", first.WebRequest, first.WebResponse)
	}
	if run.Results[2].WebRequest != nil {
		t.Error("a finding without a request in its evidence has a web request")
	}
}

// TestSARIFEscapesPlaceholderPaths: an endpoint path with a placeholder
// still gives a valid URI.
func TestSARIFEscapesPlaceholderPaths(t *testing.T) {
	ep := &scan.Endpoint{Name: "flow", Kind: scan.KindLogin, RequestTemplate: scan.RequestTemplate{Method: "POST", Path: "/self-service/{{flow}}/login?flow={{flow}}"}}
	rep := &scan.Report{Target: "http://app.test", Findings: []scan.Finding{scan.NewFinding(scan.RuleHeaders, ep, "headers differ", scan.Evidence{Channel: "headers"})}}
	doc := writeSARIF(t, rep)
	if err := validate(sarifSchema(t), doc); err != nil {
		t.Fatal(err)
	}
	d := readSARIF(t, doc)
	if uri := d.Runs[0].Results[0].Locations[0].Physical.Artifact.URI; uri != "http://app.test/self-service/%7B%7Bflow%7D%7D/login?flow=%7B%7Bflow%7D%7D" {
		t.Errorf("uri %q", uri)
	}
}

// TestSARIFLocationKeepsQuery: an application that routes by the query
// (WordPress's wp-login.php?action=lostpassword) is located with it.
func TestSARIFLocationKeepsQuery(t *testing.T) {
	ep := &scan.Endpoint{Name: "lostpassword", Kind: scan.KindReset, RequestTemplate: scan.RequestTemplate{Method: "POST", Path: "/wp-login.php?action=lostpassword"}}
	rep := &scan.Report{Target: "http://app.test", Findings: []scan.Finding{scan.NewFinding(scan.RuleResponseContent, ep, "body differs", scan.Evidence{Channel: "body"})}}
	d := readSARIF(t, writeSARIF(t, rep))
	if uri := d.Runs[0].Results[0].Locations[0].Physical.Artifact.URI; uri != "http://app.test/wp-login.php?action=lostpassword" {
		t.Errorf("uri %q", uri)
	}
}

// TestSARIFFingerprintsAreStable: two scans of one fixture, with other
// random identifiers, give the same results the same fingerprints.
func TestSARIFFingerprintsAreStable(t *testing.T) {
	f, _ := lab.Lookup("header")
	a := readSARIF(t, writeSARIF(t, scanFixture(t, f, 1, 3)))
	b := readSARIF(t, writeSARIF(t, scanFixture(t, f, 2, 3)))
	ra, rb := a.Runs[0].Results, b.Runs[0].Results
	if len(ra) != 1 || len(rb) != 1 {
		t.Fatalf("%d and %d results, want 1 each", len(ra), len(rb))
	}
	if ra[0].PartialFingerprints["tacitFinding/v1"] != rb[0].PartialFingerprints["tacitFinding/v1"] || ra[0].WebRequest.Body.Text == rb[0].WebRequest.Body.Text {
		t.Errorf("fingerprints %v and %v of requests %q and %q", ra[0].PartialFingerprints, rb[0].PartialFingerprints, ra[0].WebRequest.Body.Text, rb[0].WebRequest.Body.Text)
	}
}

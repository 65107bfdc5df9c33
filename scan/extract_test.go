package scan_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tacitauth/tacit/scan"
	scanreport "github.com/tacitauth/tacit/scan/report"
)

// extractServer answers a page with every HTML source of a variable, a
// JSON document, and an echo endpoint that records what it received.
type extractServer struct {
	mu          sync.Mutex
	pageCookies []string // Cookie header of each GET /page
	echoed      []map[string]string
	echoCookie  []string
	echoHeader  []string
}

func (s *extractServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/page":
		s.pageCookies = append(s.pageCookies, r.Header.Get("Cookie"))
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "cookie-value", Path: "/"})
		w.Header().Set("X-Flow", "header-value")
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<html><head><meta content="meta &amp; value" name="csrf-token"></head>
<body><form><input type=hidden value='input-value' name=csrf_token><input name=other value=x></form>
<a data-flow="regex-value">go</a></body></html>`)
	case "/api/flow":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"json-value","ui":{"nodes":[{"attributes":{"value":"nested-value"}},{"n":42}]}}`)
	case "/go":
		w.Header().Set("Location", "/ui/login?flow=redirect-value")
		w.WriteHeader(http.StatusSeeOther)
	case "/echo":
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		s.echoed = append(s.echoed, body)
		s.echoCookie = append(s.echoCookie, r.Header.Get("Cookie"))
		s.echoHeader = append(s.echoHeader, r.Header.Get("X-Token")+" "+r.URL.RawQuery)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

const extractTarget = `base_url: BASE
known: [alice@x.test]
endpoints:
  - name: echo
    kind: other
    path: /echo?flow={{flow}}&who={{identifier}}
    headers: {X-Token: "{{header}}"}
    json:
      input: "{{input}}"
      meta: "{{meta}}"
      cookie: "{{cookie}}"
      header: "{{header}}"
      regex: "{{rx}}"
      flow: "{{flow}}"
      nested: "{{nested}}"
      number: "{{number}}"
      location: "{{loc}}"
      identifier: "{{identifier}}"
      random: "{{random}}"
    before:
      - path: /page
        extract:
          input: {input: csrf_token}
          meta: {meta: csrf-token}
          cookie: {cookie: sid}
          header: {header: x-flow}
          rx: {regex: 'data-flow="([^"]+)"'}
      - path: /api/flow
        extract:
          flow: {json: id}
          nested: {json: "$.ui.nodes[0].attributes.value"}
          number: {json: ui.nodes.1.n}
      - path: /go
        extract: {loc: {regex: 'flow=([a-z-]+)'}}
`

func loadTarget(t *testing.T, yaml, base string) *scan.Target {
	t.Helper()
	tg, err := scan.LoadTarget(strings.NewReader(strings.ReplaceAll(yaml, "BASE", base)))
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestBeforeStepsFillVariables takes a variable from every source, sends
// them back, and checks that each probe has its own cookie jar.
func TestBeforeStepsFillVariables(t *testing.T) {
	es := &extractServer{}
	srv := httptest.NewServer(es)
	defer srv.Close()
	tg := loadTarget(t, extractTarget, srv.URL)
	s := &scan.Scanner{}
	for range 2 {
		resp, err := s.Probe(context.Background(), tg, tg.Endpoints[0], scan.Input{Identifier: "a+b@x.test", Random: "r4nd0m"})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusNoContent {
			t.Fatalf("status %d", resp.Status)
		}
	}
	want := map[string]string{
		"input": "input-value", "meta": "meta & value", "cookie": "cookie-value", "header": "header-value",
		"regex": "regex-value", "flow": "json-value", "nested": "nested-value", "number": "42", "location": "redirect-value",
		"identifier": "a+b@x.test", "random": "r4nd0m",
	}
	if len(es.echoed) != 2 {
		t.Fatalf("the endpoint was called %d times, want 2", len(es.echoed))
	}
	for i, got := range es.echoed {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("probe %d: %s = %q, want %q", i, k, got[k], v)
			}
		}
		if es.echoCookie[i] != "sid=cookie-value" {
			t.Errorf("probe %d: endpoint got Cookie %q, want the before step's cookie", i, es.echoCookie[i])
		}
		// Placeholders in the query are escaped for the query.
		if want := "header-value flow=json-value&who=a%2Bb%40x.test"; es.echoHeader[i] != want {
			t.Errorf("probe %d: header and query = %q, want %q", i, es.echoHeader[i], want)
		}
	}
	if strings.Join(es.pageCookies, "|") != "|" {
		t.Errorf("GET /page cookies = %q: each probe must start with an empty jar", es.pageCookies)
	}
}

func TestBeforeStepErrors(t *testing.T) {
	srv := httptest.NewServer(&extractServer{})
	defer srv.Close()
	tests := []struct{ source, want string }{
		{"{input: nope}", `before step 1 (GET /page): {{v}} from input "nope": no <input name="nope"> in the page (the answer was 200)`},
		{"{meta: nope}", `before step 1 (GET /page): {{v}} from meta "nope": no <meta name="nope"> in the page (the answer was 200)`},
		{"{cookie: nope}", `before step 1 (GET /page): {{v}} from cookie "nope": no cookie nope was set (the answer was 200)`},
		{"{header: x-nope}", `before step 1 (GET /page): {{v}} from header "x-nope": no X-Nope header (the answer was 200)`},
		{"{regex: 'nope=(\\d+)'}", `before step 1 (GET /page): {{v}} from regex "nope=(\\d+)": nothing in the body or headers matches "nope=(\\d+)" (the answer was 200)`},
		{"{json: id}", `before step 1 (GET /page): {{v}} from json "id": the body is not JSON: invalid character '<' looking for beginning of value (the answer was 200)`},
	}
	for _, tt := range tests {
		yaml := `base_url: BASE
known: [alice@x.test]
endpoints:
  - name: e
    kind: login
    path: /echo
    json: {a: "{{identifier}}", b: "{{v}}"}
    before:
      - path: /page
        extract: {v: ` + tt.source + `}
`
		tg := loadTarget(t, yaml, srv.URL)
		_, err := (&scan.Scanner{}).Probe(context.Background(), tg, tg.Endpoints[0], scan.Input{Identifier: "a@x.test"})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: err = %v\nwant      %s", tt.source, err, tt.want)
		}
	}
}

func TestJSONPathErrors(t *testing.T) {
	srv := httptest.NewServer(&extractServer{})
	defer srv.Close()
	for path, want := range map[string]string{
		"ui.nodes.5":        `JSON path ui.nodes.5: no item "5" in a list of 2`,
		"ui.missing":        `JSON path ui.missing: no key "missing"`,
		"id.deeper":         `JSON path id.deeper: "deeper" is past the end of the value`,
		"ui.nodes.1.n.x":    `JSON path ui.nodes.1.n.x: "x" is past the end of the value`,
		"$.ui.nodes[x].a.b": `JSON path $.ui.nodes[x].a.b: no item "x" in a list of 2`,
	} {
		yaml := `base_url: BASE
known: [alice@x.test]
endpoints:
  - name: e
    kind: login
    path: /echo
    json: {a: "{{identifier}}", b: "{{v}}"}
    before:
      - path: /api/flow
        extract: {v: {json: "` + path + `"}}
`
		tg := loadTarget(t, yaml, srv.URL)
		_, err := (&scan.Scanner{}).Probe(context.Background(), tg, tg.Endpoints[0], scan.Input{Identifier: "a@x.test"})
		if err == nil || !strings.HasSuffix(err.Error(), want+" (the answer was 200)") {
			t.Errorf("%s: err = %v, want it to end with %q", path, err, want)
		}
	}
}

// TestScanErrorIsReported: a target that cannot be reached is a scan
// error, named in the report and returned.
func TestScanErrorIsReported(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	tg := loadTarget(t, `base_url: BASE
known: [alice@x.test]
endpoints:
  - {name: e, kind: login, path: /login, json: {email: "{{identifier}}"}}
`, base)
	rep, err := (&scan.Scanner{}).Scan(context.Background(), tg)
	if err == nil || !strings.HasPrefix(err.Error(), "endpoint e: POST "+base+"/login: ") {
		t.Fatalf("err = %v", err)
	}
	if len(rep.Endpoints) != 1 || !strings.Contains(rep.Endpoints[0].Error, "connection refused") || len(rep.Findings) != 0 {
		t.Fatalf("report = %+v", rep)
	}
	var b strings.Builder
	scanreport.WriteText(&b, rep)
	if !strings.Contains(b.String(), "not scanned: POST "+base+"/login: ") || !strings.Contains(b.String(), "No findings, but inconclusive: the scan cannot vouch for 1 of 1 endpoints") {
		t.Errorf("text report:\n%s", b.String())
	}
}

package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
	scanreport "github.com/tacitauth/tacit/scan/report"
)

// received is what a replayed request brought to the server.
type received struct {
	body, note, cookie, userAgent string
}

// TestReplayCurlPair: a finding on a form behind a CSRF cookie and token
// carries both real requests, with the cookie the before step got and the
// real identifiers, the full answers, and a curl pair that, run by sh
// against the lab server, sends the same bytes and gets the same two
// different bodies. The target sends a field and a header full of quotes,
// $( ), backticks and a newline.
func TestReplayCurlPair(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("the replay test needs curl:", err)
	}
	f := lab.CSRFMessage()
	inner := f.New()
	var mu sync.Mutex
	var posts []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			mu.Lock()
			posts = append(posts, received{string(b), r.Header.Get("X-Note"), r.Header.Get("Cookie"), r.UserAgent()})
			mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	target, err := scan.LoadTarget(strings.NewReader(f.Target(srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	s := &scan.Scanner{Client: srv.Client(), Probes: 2, Rand: newRand(9)}
	rep, err := s.Scan(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rep.Findings, func(f scan.Finding) bool { return f.Rule == scan.RuleResponseContent })
	if i < 0 {
		t.Fatalf("no %s:\n%s", scan.RuleResponseContent, report(rep))
	}
	ev := rep.Findings[i].Evidence
	const note = "it's $(echo pwned) `id` \"q\"\nline two \\ $HOME"
	for _, side := range []scan.Sample{ev.Known, ev.Unknown} {
		req := side.Request
		if len(req.Cookies) != 1 || req.Cookies[0].Name != "csrf" || !strings.Contains(req.Body, "csrf_token="+req.Cookies[0].Value+"&") {
			t.Errorf("%s: cookies %+v for body %q", side.Identifier, req.Cookies, req.Body)
		}
		if strings.Contains(req.Body, "{{") || !strings.Contains(req.Body, "email="+strings.ReplaceAll(side.Identifier, "@", "%40")) {
			t.Errorf("%s: body %q lacks the real identifier", side.Identifier, req.Body)
		}
		if !strings.Contains(req.URL, "?next=%2Fhome&x=it%27s") || req.ContentType != "application/x-www-form-urlencoded" {
			t.Errorf("request %+v", req)
		}
	}
	if !strings.Contains(ev.Known.Body, "<p>Wrong password for alice@lab.example.</p>") ||
		!strings.Contains(ev.Unknown.Body, "<p>No account uses "+ev.Unknown.Identifier+".</p>") ||
		!slices.Contains(ev.Known.Headers, scan.Field{Name: "Content-Type", Value: "text/html; charset=utf-8"}) {
		t.Errorf("answers not kept whole:\n%s\n%+v\n%s", ev.Known.Body, ev.Known.Headers, ev.Unknown.Body)
	}

	// Replay both through sh, as a reader would paste them.
	var bodies [2]string
	for j, side := range []scan.Sample{ev.Known, ev.Unknown} {
		mu.Lock()
		posts = nil
		mu.Unlock()
		out, err := exec.Command("sh", "-c", side.Curl).Output()
		if err != nil {
			t.Fatalf("%s: %v", side.Curl, err)
		}
		head, body, ok := strings.Cut(string(out), "\r\n\r\n")
		if !ok || !strings.HasPrefix(head, "HTTP/1.1 401 ") {
			t.Fatalf("replay of %s answered:\n%s", side.Identifier, out)
		}
		bodies[j] = body
		if body != side.Body {
			t.Errorf("replay of %s: body\n%s\nwant the scan's\n%s", side.Identifier, body, side.Body)
		}
		mu.Lock()
		got := posts
		mu.Unlock()
		want := received{side.Request.Body, "it's $(echo pwned) `id` \"q\" \\ $HOME", "csrf=" + side.Request.Cookies[0].Value, "tacit-scan/1"}
		if len(got) != 1 || got[0] != want {
			t.Errorf("replay of %s sent %+v, want %+v", side.Identifier, got, want)
		}
		if !strings.HasSuffix(side.Request.Body, "&note="+url.QueryEscape(note)) {
			t.Errorf("the hostile field is missing from %q", side.Request.Body)
		}
	}
	if bodies[0] == bodies[1] {
		t.Error("the replayed bodies do not differ")
	}

	// Every format carries the replay.
	var js bytes.Buffer
	if err := scanreport.WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Findings []struct{ Evidence scan.Evidence }
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Findings[i].Evidence; got.Known.Curl != ev.Known.Curl || got.Unknown.Body != ev.Unknown.Body || len(got.Known.Request.Cookies) != 1 {
		t.Errorf("JSON evidence %+v", got)
	}
	text := report(rep)
	if !strings.Contains(text, "  replay (known, then unknown):\n    "+ev.Known.Curl+"\n    "+ev.Unknown.Curl+"\n") {
		t.Errorf("text report lacks the replay:\n%s", text)
	}
	var h bytes.Buffer
	if err := scanreport.WriteHTML(&h, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.String(), `<pre class="replay">curl -sS -i -g -X &#39;POST&#39;`) || !strings.Contains(h.String(), "Wrong password for alice@lab.example.") {
		t.Error("HTML report lacks the replay or the answer")
	}
	var sarif bytes.Buffer
	if err := scanreport.WriteSARIF(&sarif, rep); err != nil {
		t.Fatal(err)
	}
	var sd struct {
		Runs []struct {
			Results []struct {
				RuleID     string `json:"ruleId"`
				WebRequest struct {
					Headers map[string]string
				} `json:"webRequest"`
				WebResponse struct {
					StatusCode int
					Body       struct{ Text string }
				} `json:"webResponse"`
				Properties struct {
					Replay struct {
						CurlKnown, CurlUnknown string
					}
				}
			}
		}
	}
	if err := json.Unmarshal(sarif.Bytes(), &sd); err != nil {
		t.Fatal(err)
	}
	for _, r := range sd.Runs[0].Results {
		if r.RuleID != scan.RuleResponseContent {
			continue
		}
		if r.WebResponse.Body.Text != ev.Known.Body || r.WebRequest.Headers["Cookie"] != "csrf="+ev.Known.Request.Cookies[0].Value ||
			r.Properties.Replay.CurlKnown != ev.Known.Curl || r.Properties.Replay.CurlUnknown != ev.Unknown.Curl {
			t.Errorf("SARIF result: %+v", r)
		}
	}
}

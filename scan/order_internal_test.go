package scan

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http2"

	"github.com/tacitauth/tacit/scan/internal/h2race"
	"github.com/tacitauth/tacit/scan/lab"
)

// TestOrderSampleSize: an unbiased server (half the pairs keep their
// order) at a resolution of 0.05 and a level of 1% needs 1,782 pairs for
// 95% power, 2,227 with the margin; a biased one fewer; the budget caps.
func TestOrderSampleSize(t *testing.T) {
	c := &OrderCheck{Resolution: 0.05}
	if got := c.rounds(0.5, 0.01, 1, 50, 2500); got != 2227 {
		t.Errorf("unbiased: %d rounds, want 2227", got)
	}
	if got := c.rounds(0.9, 0.01, 1, 50, 2500); got != 802 {
		t.Errorf("90%% kept: %d rounds, want 802", got)
	}
	if got := c.rounds(0.5, 0.01, 2, 50, 1000); got != 1000 {
		t.Errorf("capped: %d rounds, want 1000", got)
	}
	if got := c.rounds(0.999, 0.01, 1, 50, 2500); got != 50 {
		t.Errorf("at least the pilot: %d rounds", got)
	}
}

// TestOrderVerdict: a preference is reported unless the control pair has
// one too or it is below the minimum effect.
func TestOrderVerdict(t *testing.T) {
	ep := &Endpoint{Name: "login", Kind: KindLogin, RequestTemplate: RequestTemplate{Method: "POST", Path: "/login"}}
	sample := &orderAnswer{in: [2]Input{{Identifier: "k"}, {Identifier: "p"}}, status: [2]int{401, 401}}
	table := func(kept0, flipped0, kept1, flipped1 int) *orderTable {
		return &orderTable{kept: [2]int{kept0, kept1}, flipped: [2]int{flipped0, flipped1}, sample: sample}
	}
	for _, tc := range []struct {
		name           string
		known, control *orderTable
		findings       int
		veto           bool
	}{
		{"leak", table(300, 200, 490, 10), table(450, 50, 450, 50), 1, false},
		{"faster", table(490, 10, 300, 200), table(450, 50, 450, 50), 1, false},
		{"control prefers", table(300, 200, 490, 10), table(300, 200, 490, 10), 0, true},
		{"below the minimum effect", table(4960, 40, 5000, 0), table(4980, 20, 4980, 20), 0, false},
		{"none", table(450, 50, 450, 50), table(450, 50, 450, 50), 0, false},
	} {
		res := &EndpointResult{}
		fs := (&OrderCheck{}).verdict(ep, tc.known, tc.control, 0.01, res)
		veto := slices.ContainsFunc(res.Notes, func(n string) bool {
			return strings.Contains(n, "two unknown identifiers were answered in a preferred order")
		})
		if len(fs) != tc.findings || veto != tc.veto || !strings.HasPrefix(res.Notes[0], "order test: a known identifier was answered last in ") {
			t.Errorf("%s: %d findings, notes %q", tc.name, len(fs), res.Notes)
			continue
		}
		if tc.findings == 1 && (fs[0].Rule != RuleTiming || fs[0].Evidence.Channel != "response order" || fs[0].Evidence.Pairs != 1000 || fs[0].Evidence.Differing != 690) {
			t.Errorf("%s: %+v", tc.name, fs[0])
		}
	}
}

// writeRecorder keeps what each Write sends.
type writeRecorder struct {
	net.Conn
	writes [][]byte
}

func (w *writeRecorder) Write(b []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(b))
	return w.Conn.Write(b)
}

// frameSummary lists the frames of one write: type, stream, and "end"
// for END_STREAM.
func frameSummary(t *testing.T, b []byte) []string {
	fr := http2.NewFramer(nil, bytes.NewReader(b))
	var out []string
	for {
		f, err := fr.ReadFrame()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("write %x: %v", b, err)
		}
		s := f.Header().Type.String() + " " + string(rune('0'+f.Header().StreamID))
		if f.Header().Type != http2.FrameSettings && f.Header().Type != http2.FramePing && f.Header().Flags.Has(http2.FlagDataEndStream) {
			s += " end"
		}
		out = append(out, s)
	}
}

// TestOrderOneWrite: the final bytes of both requests leave in one write,
// after the rest of both and a PING; the server gets the same requests
// (body, headers, cookies) as over HTTP/1.1.
func TestOrderOneWrite(t *testing.T) {
	var mu sync.Mutex
	var got []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/form" {
			http.SetCookie(w, &http.Cookie{Name: "csrf", Value: "c00kie"})
			w.Write([]byte(`<input name="csrf_token" value="t0ken">`))
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, strings.Join([]string{r.Proto, r.Method, r.URL.String(), r.Host, string(body), r.Header.Get("Content-Type"),
			r.Header.Get("Cookie"), r.Header.Get("X-Scanner"), r.Header.Get("User-Agent")}, " | "))
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	})
	srv := lab.ServeHTTP2(lab.Fixture{New: func() http.Handler { return h }}, false)
	defer srv.Close()
	for _, tc := range []struct {
		endpoint string
		final    []string
	}{
		{`{name: a, kind: login, path: "/login?x={{identifier}}", json: {email: "{{identifier}}"}, before: [{path: /form, extract: {csrf: {input: csrf_token}}}], headers: {X-Scanner: "{{csrf}}"}}`,
			[]string{"DATA 1 end", "DATA 3 end"}},
		{`{name: b, kind: other, method: GET, path: "/check?email={{identifier}}"}`,
			[]string{"HEADERS 1 end", "HEADERS 3 end"}},
	} {
		got = nil
		tg, err := LoadTarget(strings.NewReader("base_url: " + srv.URL + "\nknown: [a@b.example]\nendpoints:\n  - " + tc.endpoint + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		s := &Scanner{Client: srv.Client()}
		ep := tg.Endpoints[0]
		ctx := context.Background()
		var ps [2]*prepared
		for i, id := range []string{"a@b.example", "c@b.example"} {
			if ps[i], err = s.prepare(ctx, tg, ep, s.Input(id)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Probe(ctx, tg, ep, ps[0].in); err != nil {
			t.Fatal(err)
		}
		d := s.h2Dialer(tg.BaseURL)
		rec := &writeRecorder{}
		d.Watch = func(c net.Conn) net.Conn { rec.Conn = c; return rec }
		c, err := d.Dial(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kept, status, err := c.Race([2]h2race.Request{ps[0].h2(), ps[1].h2()})
		c.Close()
		if err != nil || status != [2]int{401, 401} {
			t.Fatalf("%s: kept %v, status %v, %v", ep.Name, kept, status, err)
		}
		last := frameSummary(t, rec.writes[len(rec.writes)-1])
		if !slices.Equal(last, tc.final) {
			t.Errorf("%s: last write %q, want %q", ep.Name, last, tc.final)
		}
		for _, w := range rec.writes[:len(rec.writes)-1] {
			if fs := frameSummary(t, w); slices.ContainsFunc(fs, func(f string) bool { return strings.HasSuffix(f, " end") }) {
				t.Errorf("%s: an earlier write ends a stream: %q", ep.Name, fs)
			}
		}
		if len(got) != 3 {
			t.Fatalf("%s: %d requests", ep.Name, len(got))
		}
		if h2 := strings.Replace(got[0], "HTTP/1.1", "HTTP/2.0", 1); !strings.HasPrefix(got[0], "HTTP/1.1 | ") || !slices.Contains(got[1:], h2) {
			t.Errorf("%s: the same request over HTTP/1.1 and HTTP/2:\n%s\n%q", ep.Name, got[0], got[1:])
		}
	}
}

package scan_test

import (
	"context"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
)

// testOrder is an order check small enough for tests: at most 150 pairs
// of each kind (known/unknown, control), at a 0.1% level so that a
// failure on the equal fixture means a bug, not the false-alarm rate
// working as designed.
func testOrder() *scan.OrderCheck {
	return &scan.OrderCheck{MaxRequests: 600, Pilot: 40, Resolution: 0.1, Alpha: 0.001}
}

// orderScan serves f over HTTP/2 (TLS or h2c) and scans it with the
// order check alone.
func orderScan(t *testing.T, f lab.Fixture, encrypted bool, c *scan.OrderCheck, seed uint64) *scan.Report {
	t.Helper()
	srv := lab.ServeHTTP2(f, encrypted)
	defer srv.Close()
	return scanServer(t, srv, f, &scan.Scanner{Probes: 2, Checks: []scan.Check{c}, Rand: rand.New(rand.NewPCG(seed, 17))})
}

func scanServer(t *testing.T, srv *httptest.Server, f lab.Fixture, s *scan.Scanner) *scan.Report {
	t.Helper()
	target, err := scan.LoadTarget(strings.NewReader(f.Target(srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	s.Client = srv.Client()
	rep, err := s.Scan(context.Background(), target)
	if err != nil {
		t.Fatalf("%s: scan: %v", f.Name, err)
	}
	return rep
}

// needsParallelServer skips where the fixture's server cannot work on two
// requests at once: it would answer them in the order sent whatever their
// work, and the order test rightly finds nothing.
func needsParallelServer(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("the order test needs a server that runs two requests at once (GOMAXPROCS ≥ 2)")
	}
}

// TestOrderFindsSlowKnown: a sign-in that works 5ms longer for the known
// address is reported from the order of the answers, over h2c and over
// TLS, within 60 pairs. The difference is large because the machine
// running the tests is shared and the fixture's server is in the test's
// own process: the known address's request must often wait for a core,
// which hides small differences (docs/BENCHMARKS.md measures them).
func TestOrderFindsSlowKnown(t *testing.T) {
	needsParallelServer(t)
	f := lab.SlowKnown(5 * time.Millisecond)
	for _, encrypted := range []bool{false, true} {
		rep := orderScan(t, f, encrypted, &scan.OrderCheck{MaxRequests: 240, Pilot: 30, Resolution: 0.1, Alpha: 0.001}, 1)
		if len(rep.Findings) != 1 || rep.Findings[0].Rule != scan.RuleTiming {
			t.Fatalf("TLS %v: want one %s:\n%s", encrypted, scan.RuleTiming, report(rep))
		}
		fd := rep.Findings[0]
		ev := fd.Evidence
		if ev.Channel != "response order" || ev.Known.Identifier != lab.Known || ev.Known.Status != http.StatusUnauthorized ||
			ev.Pairs < 30 || ev.Pairs > 60 || ev.Differing <= ev.Pairs/2 ||
			!strings.HasPrefix(ev.Known.Observed, "answered last in ") || !strings.Contains(ev.Known.Request.Body, lab.Known) ||
			!strings.Contains(fd.Message, "a known identifier is answered slower than an unknown one, by the HTTP/2 order test") {
			t.Errorf("TLS %v: finding %s\nevidence %+v", encrypted, fd.Message, ev)
		}
		// The plain rounds' 4 probes per round, the positive control,
		// then two requests a pair.
		if e := rep.Endpoints[0]; e.Probes != 2*4+1+2*(ev.Pairs+ev.Pairs) || e.Error != "" {
			t.Errorf("TLS %v: %d probes for %d pairs, error %q", encrypted, e.Probes, ev.Pairs, e.Error)
		}
	}
}

// TestOrderEqualStaysSilent: a server that does the same for every
// address gives no finding, over 5 scans in h2c and a smaller one over
// TLS (whose handshakes are slow under the race detector), and the notes
// say what the test measured.
func TestOrderEqualStaysSilent(t *testing.T) {
	f := lab.SlowKnown(0)
	for _, tc := range []struct {
		encrypted   bool
		runs, pairs int
	}{{false, 5, 150}, {true, 1, 60}} {
		for run := range tc.runs {
			c := testOrder()
			c.MaxRequests = 4 * tc.pairs
			rep := orderScan(t, f, tc.encrypted, c, uint64(100+run))
			notes := rep.Endpoints[0].Notes
			if len(rep.Findings) > 0 || len(notes) != 1 || !strings.HasPrefix(notes[0], "order test: a known identifier was answered last in ") {
				t.Fatalf("TLS %v, run %d: notes %q\n%s", tc.encrypted, run, notes, report(rep))
			}
		}
	}
}

// TestOrderSkipsHTTP1: a target that speaks only HTTP/1.1, in clear text
// or over TLS, is noted and costs no request.
func TestOrderSkipsHTTP1(t *testing.T) {
	f := lab.SlowKnown(time.Millisecond)
	for _, encrypted := range []bool{false, true} {
		srv := httptest.NewUnstartedServer(f.New())
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the scan's client closing its connections is no news
		if encrypted {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		rep := scanServer(t, srv, f, &scan.Scanner{Probes: 2, Checks: []scan.Check{testOrder()}})
		srv.Close()
		e := rep.Endpoints[0]
		want := []string{"order test skipped: target does not speak HTTP/2"}
		if len(rep.Findings) != 0 || e.Error != "" || e.Probes != 8+1 || !slices.Equal(e.Notes, want) {
			t.Errorf("%s: %d probes, error %q, notes %q", srv.URL, e.Probes, e.Error, e.Notes)
		}
	}
}

// TestOrderRunsBeforeSteps: on forms behind a double-submit CSRF token
// (a cookie and a form field or header, fetched by before steps), every
// HTTP/2 request carries both: none is refused.
func TestOrderRunsBeforeSteps(t *testing.T) {
	f, _ := lab.Lookup("clean-html")
	var mu sync.Mutex
	statuses := map[int]int{}
	inner := f.New()
	f.New = func() http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			inner.ServeHTTP(rec, r)
			if r.ProtoMajor == 2 {
				mu.Lock()
				statuses[rec.status]++
				mu.Unlock()
			}
		})
	}
	// A clean target: a finding is a false alarm, which a shared machine
	// makes now and then (the statistics allow one scan in a few hundred
	// and load adds to it), so a second scan with another seed decides.
	var rep *scan.Report
	for seed := uint64(3); seed <= 4; seed++ {
		clear(statuses)
		if rep = orderScan(t, f, false, &scan.OrderCheck{MaxRequests: 120, Pilot: 30}, seed); len(rep.Findings) == 0 {
			break
		}
		t.Logf("seed %d: findings on a clean target:\n%s", seed, report(rep))
	}
	if len(rep.Findings) != 0 {
		t.Errorf("findings in both scans:\n%s", report(rep))
	}
	for _, e := range rep.Endpoints {
		if e.Error != "" || len(e.Notes) != 1 || !strings.HasPrefix(e.Notes[0], "order test: ") {
			t.Errorf("%s: error %q, notes %q", e.Name, e.Error, e.Notes)
		}
	}
	// 3 endpoints, 30 rounds of 4 requests each.
	if statuses[http.StatusForbidden] > 0 || statuses[http.StatusOK]+statuses[http.StatusSeeOther] != 3*30*4 {
		t.Errorf("HTTP/2 answers by status: %v", statuses)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// TestOrderAfterTiming: an endpoint the timing check already reported is
// not tested again.
func TestOrderAfterTiming(t *testing.T) {
	f, _ := lab.Lookup("slow-known")
	srv := lab.ServeHTTP2(f, false)
	defer srv.Close()
	rep := findsTiming(t, func(seed uint64) *scan.Report {
		return scanServer(t, srv, f, &scan.Scanner{Probes: 2, Checks: []scan.Check{testTiming(), testOrder()}, Rand: rand.New(rand.NewPCG(4, seed))})
	})
	e := rep.Endpoints[0]
	if len(rep.Findings) != 1 || rep.Findings[0].Evidence.Channel != "response time" ||
		!slices.Contains(e.Notes, "order test skipped: the timing check already reported this endpoint") {
		t.Errorf("notes %q:\n%s", e.Notes, report(rep))
	}
}

// TestOrderBudget: a budget too small for the pilot is noted, and no
// request is sent for it.
func TestOrderBudget(t *testing.T) {
	rep := orderScan(t, lab.SlowKnown(0), false, &scan.OrderCheck{MaxRequests: 40}, 5)
	want := []string{"order test: a budget of 40 requests is too small to measure"}
	if e := rep.Endpoints[0]; e.Probes != 8+1 || !slices.Equal(e.Notes, want) {
		t.Errorf("%d probes, notes %q", e.Probes, e.Notes)
	}
}

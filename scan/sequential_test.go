package scan_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
)

// TestTimingDecidesLargeLeakEarly: a 10ms leak is decided by an interim
// look within 200 timing requests, with the default check (sized for
// 50µs, up to 10,000 requests), where a fixed-size design ran thousands.
func TestTimingDecidesLargeLeakEarly(t *testing.T) {
	f := lab.SlowKnown(10 * time.Millisecond)
	for seed := uint64(1); ; seed++ {
		s := &scan.Scanner{Probes: 2, Checks: []scan.Check{&scan.TimingCheck{}}, Rand: newRand(seed)}
		rep := scanWith(t, f, s)
		e := rep.Endpoints[0]
		// The plain rounds, and the positive control's malformed
		// address (answered differently, so one request).
		timingRequests := e.Probes - 2*4 - 1
		ok := slices.Equal(rules(rep), []string{scan.RuleTiming}) && e.Timing != nil && e.Timing.Stopped == scan.StoppedDecided && timingRequests <= 200
		if ok {
			if e.Timing.Effect < 9*time.Millisecond || len(e.Timing.Known)*4 != timingRequests {
				t.Errorf("effect %v, %d pairs for %d requests", e.Timing.Effect, len(e.Timing.Known), timingRequests)
			}
			return
		}
		// A burst of load on the shared machine may cost a look;
		// three misses in a row are a bug.
		if seed == 3 {
			t.Fatalf("not decided within 200 requests (%d, stopped %q):\n%s", timingRequests, stopped(e), report(rep))
		}
	}
}

func stopped(e scan.EndpointResult) string {
	if e.Timing == nil {
		return ""
	}
	return e.Timing.Stopped
}

// partialTarget has three sign-in endpoints on one server: "leak" is 10ms
// slower for the known address, "clean" and "later" answer alike.
const partialTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - {name: leak, kind: login, path: /leak, json: {email: "{{identifier}}", password: "{{password}}"}}
  - {name: clean, kind: login, path: /clean, json: {email: "{{identifier}}", password: "{{password}}"}}
  - {name: later, kind: login, path: /later, json: {email: "{{identifier}}", password: "{{password}}"}}
`

// TestTimingInterruptedKeepsDecided: a scan cancelled in the middle of
// the second endpoint's timing measurement (as SIGINT does) keeps the
// first endpoint's finding, keeps the second's samples and marks it
// inconclusive, lists the third as not reached, and says it stopped.
func TestTimingInterruptedKeepsDecided(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var clean atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c struct{ Email string }
		_ = jsonDecode(r, &c)
		if !wellFormed(c.Email) {
			// A real sign-in validates the address: the scan's
			// positive control sees the identifier reach it.
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/leak":
			if c.Email == lab.Known {
				time.Sleep(10 * time.Millisecond)
			}
		case "/clean":
			// 8 plain probes, then 30 timing rounds of 4 (the
			// positive control's malformed address is answered
			// above).
			if clean.Add(1) == 8+30*4 {
				cancel()
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_credentials"}`))
	}))
	defer srv.Close()
	target, err := scan.LoadTarget(strings.NewReader(strings.ReplaceAll(partialTarget, "BASE_URL", srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	s := &scan.Scanner{Client: srv.Client(), Probes: 2, Checks: []scan.Check{&scan.TimingCheck{}}, Rand: newRand(5)}
	rep, err := s.Scan(ctx, target)
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("scan error %v, want the cancellation", err)
	}
	if rep.Stopped != scan.ScanStopped || len(rep.Endpoints) != 3 {
		t.Fatalf("stopped %q, %d endpoints:\n%s", rep.Stopped, len(rep.Endpoints), report(rep))
	}
	leak, mid, later := rep.Endpoints[0], rep.Endpoints[1], rep.Endpoints[2]
	if !slices.Equal(rules(rep), []string{scan.RuleTiming}) || rep.Findings[0].Endpoint != "leak" || stopped(leak) != scan.StoppedDecided {
		t.Errorf("the first endpoint's finding was not kept:\n%s", report(rep))
	}
	if mid.Timing == nil || mid.Timing.Stopped != scan.StoppedInterrupted || len(mid.Timing.Known) < 29 || len(mid.Inconclusive) != 1 ||
		!strings.HasPrefix(mid.Inconclusive[0], "timing: the scan was interrupted after ") || mid.Error != "" || mid.NotReached {
		t.Errorf("the interrupted endpoint: timing %+v, inconclusive %q, error %q", mid.Timing, mid.Inconclusive, mid.Error)
	}
	if !later.NotReached || later.Probes != 0 || later.Verdict != "inconclusive" || !slices.Equal(later.Inconclusive, []string{"not reached: the scan was interrupted"}) {
		t.Errorf("the endpoint never started: %+v", later)
	}
	text := report(rep)
	for _, want := range []string{"later            login          POST   /later                          0 probes  not reached",
		"inconclusive: timing: the scan was interrupted after"} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}
}

// TestTimingBudgetShared: a time budget too small for any measurement
// leaves every timed endpoint inconclusive, and no endpoint takes much
// more than its share.
func TestTimingBudgetShared(t *testing.T) {
	// Each answer takes 2 ms, so 30 ms cannot hold the measurement on any
	// machine (the fixture alone answers in 25 µs on a fast one, and the
	// whole measurement then fitted in the budget).
	h := lab.SlowKnown(0).New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	target, err := scan.LoadTarget(strings.NewReader(strings.ReplaceAll(partialTarget, "BASE_URL", srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	s := &scan.Scanner{Client: srv.Client(), Probes: 2, Checks: []scan.Check{&scan.TimingCheck{Budget: 30 * time.Millisecond}}, Rand: newRand(6)}
	start := time.Now()
	rep, err := s.Scan(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v with a 30ms budget", d)
	}
	for _, e := range rep.Endpoints {
		if len(e.Inconclusive) != 1 || !strings.HasPrefix(e.Inconclusive[0], "timing: the time budget ran out after ") {
			t.Errorf("%s: inconclusive %q", e.Name, e.Inconclusive)
		}
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 17)) }

func jsonDecode(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }

// wellFormed is the address check of the fixtures above: one @ with a
// local part and a domain.
func wellFormed(email string) bool {
	local, domain, ok := strings.Cut(email, "@")
	return ok && local != "" && domain != "" && !strings.Contains(domain, "@")
}

// TestTimingBudgetGivesResolutionReached: a budget that stops the
// measurement after enough pairs for a test, but before the planned size,
// gives a verdict (here clean) at the resolution reached, and says so.
func TestTimingBudgetGivesResolutionReached(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c struct{ Email string }
		if jsonDecode(r, &c) != nil || !wellFormed(c.Email) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		// 3 ms an answer: 500 ms then hold some 80 pairs on any machine,
		// more than the 20 a test needs and fewer than the 200 planned
		// (at 1 ms a fast machine finished the plan within the budget).
		time.Sleep(3 * time.Millisecond)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	target, err := scan.LoadTarget(strings.NewReader(strings.ReplaceAll(partialTarget, "BASE_URL", srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	target.Endpoints = target.Endpoints[:1]
	c := &scan.TimingCheck{Budget: 500 * time.Millisecond, Pilot: 200, Alpha: 0.001}
	s := &scan.Scanner{Client: srv.Client(), Probes: 2, Checks: []scan.Check{c}, Rand: newRand(7)}
	rep, err := s.Scan(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	e := rep.Endpoints[0]
	if e.Timing == nil || e.Timing.Stopped != scan.StoppedBudget || len(e.Timing.Known) < 20 || len(e.Timing.Known) >= 200 ||
		len(e.Inconclusive) != 0 || len(rep.Findings) != 0 ||
		!slices.ContainsFunc(e.Notes, func(n string) bool { return strings.HasPrefix(n, "timing: the time budget allowed ") }) {
		t.Errorf("timing %+v\ninconclusive %q, notes %q", e.Timing, e.Inconclusive, e.Notes)
	}
}

// TestTimingBudgetBoundsProgress: with a time budget, the planned total
// the progress line estimates from shrinks to what the budget allows at
// the rate seen, instead of every endpoint's request cap (which made the
// estimate of the time left read hours), and ends equal to what was sent.
func TestTimingBudgetBoundsProgress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	target, err := scan.LoadTarget(strings.NewReader(strings.ReplaceAll(partialTarget, "BASE_URL", srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	var first, last [2]int
	s := &scan.Scanner{Client: srv.Client(), Probes: 2, Checks: []scan.Check{&scan.TimingCheck{Budget: 600 * time.Millisecond}}, Rand: newRand(8),
		Progress: func(done, total int) {
			if first == [2]int{} && done > 8+8 { // the channel probes, then two timing rounds
				first = [2]int{done, total}
			}
			last = [2]int{done, total}
		}}
	rep, err := s.Scan(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	if first[1] >= 2*scan.DefaultTimingMaxRequests || last[0] != last[1] || last[0] != rep.Requests {
		t.Errorf("planned %d after %d probes (3 caps: %d); last progress %v for %d requests", first[1], first[0], 3*scan.DefaultTimingMaxRequests, last, rep.Requests)
	}
}

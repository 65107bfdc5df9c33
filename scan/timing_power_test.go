package scan_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
	"github.com/tacitauth/tacit/timing"
)

// The timing check's power study (docs/BENCHMARKS.md, "Scanner timing
// power"): many scans of sign-in fixtures that spend a fixed extra time
// on the known address, counting how often the check reports it. With no
// extra time, every report is a false alarm.
var (
	powerStudy      = flag.Bool("scan.power", false, "measure the timing check's power and false-alarm rate (minutes)")
	powerRuns       = flag.Int("scan.power.runs", 100, "scans per added latency")
	powerResolution = flag.Duration("scan.power.resolution", scan.DefaultTimingResolution, "the timing check's resolution")
	powerBudget     = flag.Int("scan.power.budget", scan.DefaultTimingMaxRequests, "the timing check's request budget")
	powerExtra      = flag.String("scan.power.extra", "0,25,50,100", "extra server-side time for the known address, in µs, comma-separated")
	powerJitter     = flag.Duration("scan.power.jitter", 0, "mean of an exponential extra time for every request, as on a busy server")
)

func TestTimingPower(t *testing.T) {
	if !*powerStudy {
		t.Skip("the power study runs with -scan.power")
	}
	fmt.Printf("resolution %v, budget %d requests, jitter %v, %d scans per row, load average %s\n", *powerResolution, *powerBudget, *powerJitter, *powerRuns, loadAverage())
	fmt.Printf("%7s  %9s  %6s  %5s  %8s  %8s  %8s  %8s  %8s  %8s\n", "extra", "detected", "vetoed", "early", "requests", "effect", "CI width", "spread", "reached", "time")
	for _, field := range strings.Split(*powerExtra, ",") {
		us, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			t.Fatalf("-scan.power.extra: %v", err)
		}
		fmt.Println(powerRow(t, us))
	}
	fmt.Printf("load average after: %s\n", loadAverage())
}

// powerRow scans the fixture with extra µs for the known address
// *powerRuns times and summarises: detections (with a 95% Wilson
// interval), control vetoes, measurements decided at an interim look of
// the sequential test (early), and the medians over scans of the timing
// requests sent, the effect, the interval's width, the spread (IQR) of
// the pair differences, the resolution reached and the scan's duration.
func powerRow(t *testing.T, extra int) string {
	f := lab.SlowKnown(time.Duration(extra) * time.Microsecond)
	inner := f.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *powerJitter > 0 {
			busyWait(time.Duration(rand.ExpFloat64() * float64(*powerJitter)))
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	target, err := scan.LoadTarget(strings.NewReader(f.Target(srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	var detected, vetoed, early int
	var requests, effects, widths, spreads, reached, took []time.Duration
	for range *powerRuns {
		s := &scan.Scanner{Client: srv.Client(), Probes: 1,
			Checks: []scan.Check{&scan.TimingCheck{Resolution: *powerResolution, MaxRequests: *powerBudget}}}
		start := time.Now()
		rep, err := s.Scan(context.Background(), target)
		if err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
		e := rep.Endpoints[0]
		if slices.ContainsFunc(rep.Findings, func(f scan.Finding) bool { return f.Rule == scan.RuleTiming }) {
			detected++
		}
		if slices.ContainsFunc(e.Inconclusive, func(n string) bool { return strings.Contains(n, "two unknown identifiers differed") }) {
			vetoed++
		}
		tr := e.Timing
		if tr == nil {
			t.Fatalf("no timing result: %q", e.Notes)
		}
		if tr.Stopped == scan.StoppedDecided {
			early++
		}
		requests = append(requests, time.Duration(e.Probes-4)) // less the plain round
		effects = append(effects, tr.Effect)
		widths = append(widths, tr.EffectHigh-tr.EffectLow)
		reached = append(reached, tr.Resolution)
		d := make([]time.Duration, len(tr.Known))
		for i := range d {
			d[i] = tr.Known[i] - tr.Unknown[i]
		}
		spreads = append(spreads, iqr(d))
	}
	lo, hi := wilson(detected, *powerRuns)
	return fmt.Sprintf("%5dµs  %4d/%-4d  %6d  %5d  %8d  %8s  %8s  %8s  %8s  %8s  (detection 95%% interval %.1f–%.1f%%)",
		extra, detected, *powerRuns, vetoed, early, int64(timing.Median(requests)), us(timing.Median(effects)), us(timing.Median(widths)),
		us(timing.Median(spreads)), us(timing.Median(reached)), timing.Median(took).Round(time.Millisecond), 100*lo, 100*hi)
}

// busyWait spins for d: time.Sleep cannot wait less than about a
// millisecond precisely.
func busyWait(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

func us(d time.Duration) string {
	return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
}

// iqr is the interquartile range of d.
func iqr(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*3/4] - s[len(s)/4]
}

// wilson is the 95% Wilson score interval of k successes in n trials.
func wilson(k, n int) (lo, hi float64) {
	const z = 1.959964
	p, nf := float64(k)/float64(n), float64(n)
	centre := (p + z*z/(2*nf)) / (1 + z*z/nf)
	half := z / (1 + z*z/nf) * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return math.Max(0, centre-half), math.Min(1, centre+half)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

package scan_test

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
	"github.com/tacitauth/tacit/timing"
)

// The order test's power study (docs/BENCHMARKS.md, "HTTP/2 order
// test"): many scans of lab.SlowKnown served in HTTP/2, counting how
// often the order test reports it. With no extra time, every report is a
// false alarm. -scan.order.compare also runs the timing check's rows
// (TestTimingPower's, with its -scan.power.* settings) on the same
// fixture in HTTP/1.1, at the same time, for comparison.
var (
	orderStudy      = flag.Bool("scan.order", false, "measure the order test's power and false-alarm rate (minutes)")
	orderRuns       = flag.Int("scan.order.runs", 100, "scans per added latency")
	orderResolution = flag.Float64("scan.order.resolution", scan.DefaultOrderResolution, "the order test's resolution")
	orderBudget     = flag.Int("scan.order.budget", scan.DefaultOrderMaxRequests, "the order test's request budget")
	orderExtra      = flag.String("scan.order.extra", "0,50,100,200,500", "extra server-side time for the known address, in µs, comma-separated")
	orderTLS        = flag.Bool("scan.order.tls", false, "serve the fixture over TLS (ALPN h2) instead of h2c")
	orderCompare    = flag.Bool("scan.order.compare", false, "also run the timing check's power row for each added latency")
)

func TestOrderPower(t *testing.T) {
	if !*orderStudy {
		t.Skip("the order test's power study runs with -scan.order")
	}
	fmt.Printf("resolution %.3g, budget %d requests, TLS %v, %d scans per row, load average %s\n", *orderResolution, *orderBudget, *orderTLS, *orderRuns, loadAverage())
	fmt.Printf("%7s  %9s  %6s  %6s  %8s  %8s  %8s  %8s\n", "extra", "detected", "vetoed", "pilot", "pairs", "last", "kept", "time")
	for _, field := range strings.Split(*orderExtra, ",") {
		us, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			t.Fatalf("-scan.order.extra: %v", err)
		}
		fmt.Println(orderRow(t, us))
		if *orderCompare {
			fmt.Println("timing: " + powerRow(t, us))
		}
	}
	fmt.Printf("load average after: %s\n", loadAverage())
}

// orderRow scans the fixture with extra µs for the known address
// *orderRuns times and summarises: detections (with a 95% Wilson
// interval), control vetoes, detections made by the pilot alone, and the
// medians over scans of the known/unknown pairs sent, of the share of
// them in which the known address was answered last, of the share whose
// order was kept (the server's bias towards the first request), and of
// the scan's duration.
func orderRow(t *testing.T, extra int) string {
	f := lab.SlowKnown(time.Duration(extra) * time.Microsecond)
	srv := lab.ServeHTTP2(f, *orderTLS)
	defer srv.Close()
	target, err := scan.LoadTarget(strings.NewReader(f.Target(srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	var detected, vetoed, pilotOnly int
	var pairs, last, kept, took []time.Duration // for timing.Median: pairs and shares (in ‰) are counts
	for range *orderRuns {
		c := &scan.OrderCheck{Resolution: *orderResolution, MaxRequests: *orderBudget}
		s := &scan.Scanner{Client: srv.Client(), Probes: 1, Checks: []scan.Check{c}}
		rep, err := s.Scan(context.Background(), target)
		if err != nil {
			t.Fatal(err)
		}
		e := rep.Endpoints[0]
		found := slices.ContainsFunc(rep.Findings, func(f scan.Finding) bool { return f.Rule == scan.RuleTiming })
		if found {
			detected++
		}
		if slices.ContainsFunc(e.Notes, func(n string) bool {
			return strings.Contains(n, "two unknown identifiers were answered in a preferred order")
		}) {
			vetoed++
		}
		var n, l int
		var lastPct, p, keptPct float64
		if _, err := fmt.Sscanf(summaryNote(e.Notes), "order test: a known identifier was answered last in %d of %d HTTP/2 pairs (%f%%, p = %g; sent first answered first in %f%%)",
			&l, &n, &lastPct, &p, &keptPct); err != nil {
			t.Fatalf("notes %q: %v", e.Notes, err)
		}
		if found && n == scan.DefaultOrderPilot {
			pilotOnly++
		}
		pairs = append(pairs, time.Duration(n))
		last = append(last, time.Duration(10*lastPct))
		kept = append(kept, time.Duration(10*keptPct))
		took = append(took, rep.Duration)
	}
	lo, hi := wilson(detected, *orderRuns)
	return fmt.Sprintf("%5dµs  %4d/%-4d  %6d  %6d  %8d  %7.1f%%  %7.1f%%  %8s  (detection 95%% interval %.1f–%.1f%%)",
		extra, detected, *orderRuns, vetoed, pilotOnly, int64(timing.Median(pairs)), float64(timing.Median(last))/10, float64(timing.Median(kept))/10,
		timing.Median(took).Round(time.Millisecond), 100*lo, 100*hi)
}

// summaryNote is the order test's note of what it measured.
func summaryNote(notes []string) string {
	for _, n := range notes {
		if strings.HasPrefix(n, "order test: a known identifier") {
			return n
		}
	}
	return ""
}

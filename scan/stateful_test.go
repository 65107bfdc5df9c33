package scan_test

import (
	"context"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
	scanreport "github.com/tacitauth/tacit/scan/report"
)

// scanWith serves f on a loopback port and scans it with s, checking that
// the progress bar's total came out exact.
func scanWith(t *testing.T, f lab.Fixture, s *scan.Scanner) *scan.Report {
	t.Helper()
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	target, err := scan.LoadTarget(strings.NewReader(f.Target(srv.URL)))
	if err != nil {
		t.Fatalf("%s: target: %v", f.Name, err)
	}
	s.Client = srv.Client()
	var last [2]int
	s.Progress = func(done, total int) { last = [2]int{done, total} }
	rep, err := s.Scan(context.Background(), target)
	if err != nil {
		t.Fatalf("%s: scan: %v", f.Name, err)
	}
	if last[0] != rep.Requests || last[1] != rep.Requests {
		t.Errorf("%s: last progress %d/%d, want %d/%d", f.Name, last[0], last[1], rep.Requests, rep.Requests)
	}
	return rep
}

func stateScanner(seed uint64) *scan.Scanner {
	return &scan.Scanner{Probes: 6, AllowStateChanges: true, Checks: []scan.Check{&scan.StateCheck{}},
		Rand: rand.New(rand.NewPCG(seed, 11))}
}

func report(rep *scan.Report) string {
	var b strings.Builder
	scanreport.WriteText(&b, rep)
	return b.String()
}

// TestRepeatedRequestFixtures: each leak that starts after some requests
// is found once, with its rule and the request at which it started,
// whether the plain rounds show it (lockout-early, register-pending) or
// only the state check's longer run does.
func TestRepeatedRequestFixtures(t *testing.T) {
	// attempt counts requests per identifier on the endpoint: 6 plain
	// rounds, then for the sign-up 6 input classes of 2 rounds each,
	// then the state check's.
	tests := []struct {
		name    string
		attempt int
		channel string
	}{
		{"lockout", 11, "status code, body, headers"},
		{"lockout-early", 4, "status code, body, headers"},
		{"reset-throttle", 9, "status code, body, headers"},
		{"register-throttle", 6 + 12 + 3, "status code, body"},
		{"register-pending", 2, "status code, body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, ok := lab.Lookup(tc.name)
			if !ok || f.Want == "" {
				t.Fatalf("no leaky fixture %s", tc.name)
			}
			rep := scanWith(t, f, stateScanner(1))
			if len(rep.Findings) != 1 || rep.Findings[0].Rule != f.Want {
				t.Fatalf("want exactly one %s:\n%s", f.Want, report(rep))
			}
			ev := rep.Findings[0].Evidence
			if ev.Attempt != tc.attempt || ev.Channel != tc.channel || ev.Known.Identifier != lab.Known {
				t.Errorf("evidence: attempt %d, channel %q, known %s; want attempt %d, channel %q", ev.Attempt, ev.Channel, ev.Known.Identifier, tc.attempt, tc.channel)
			}
			if u := rep.Endpoints[0].Unstable; len(u) > 0 {
				t.Errorf("unstable: %q", u)
			}
		})
	}
}

func TestLockoutMessage(t *testing.T) {
	f, _ := lab.Lookup("lockout")
	rep := scanWith(t, f, stateScanner(2))
	const want = "On the sign-in endpoint login (POST /api/login), repeated failed sign-ins are answered differently for a known identifier " +
		"than for an unknown one sent the same requests, from the 11th request of each on to the last (the 26th), in the status code, body, headers: " +
		"423; Retry-After: 900 for the known one, 401; Retry-After absent for the unknown one. " +
		"The lockout or delay is keyed by account, so only real accounts get it."
	if len(rep.Findings) != 1 || rep.Findings[0].Message != want {
		t.Fatalf("findings: %+v\nwant message %s", rep.Findings, want)
	}
	// 6 plain rounds and 20 repeated ones, four identifiers each, and
	// the positive control's malformed address.
	if rep.Requests != 4*(6+scan.DefaultStateAttempts)+1 || rep.Endpoints[0].Probes != rep.Requests {
		t.Errorf("requests = %d", rep.Requests)
	}
}

// TestStateCheckNeedsPermission: without AllowStateChanges the state
// check sends nothing, and a lockout past the plain rounds stays unseen.
func TestStateCheckNeedsPermission(t *testing.T) {
	f, _ := lab.Lookup("lockout")
	s := stateScanner(3)
	s.AllowStateChanges = false
	rep := scanWith(t, f, s)
	if len(rep.Findings) != 0 || rep.Requests != 4*6+1 {
		t.Fatalf("%d requests, findings:\n%s", rep.Requests, report(rep))
	}
}

// TestCleanRepeatedFixturesStayClean: limits that treat every address
// alike give no finding, over 20 scans each; so does a noisy API with
// four endpoints and CSRF tokens (over fewer scans: its latency makes
// each take a second).
func TestCleanRepeatedFixturesStayClean(t *testing.T) {
	runs := map[string]int{"clean-throttle": 20, "clean-lockout": 20, "clean-reset-throttle": 20, "clean-json": 3}
	for _, f := range lab.CheckFixtures() {
		if f.Needs == lab.NeedsState && f.Want == "" && runs[f.Name] == 0 {
			t.Errorf("clean fixture %s is not tested", f.Name)
		}
	}
	for name, n := range runs {
		f, ok := lab.Lookup(name)
		if !ok {
			t.Fatalf("no fixture %s", name)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for run := range n {
				rep := scanWith(t, f, stateScanner(uint64(100+run)))
				if len(rep.Findings) > 0 {
					t.Fatalf("run %d:\n%s", run, report(rep))
				}
				for _, e := range rep.Endpoints {
					if len(e.Unstable) > 0 {
						t.Fatalf("run %d: endpoint %s unstable %q", run, e.Name, e.Unstable)
					}
				}
			}
		})
	}
}

// TestChannelLeakIsNotAlsoAnOnset: a leak present from the first request
// is the channel comparison's alone; the state check does not report it
// again.
func TestChannelLeakIsNotAlsoAnOnset(t *testing.T) {
	for _, name := range []string{"status", "message", "register-order"} {
		f, _ := lab.Lookup(name)
		rep := scanWith(t, f, stateScanner(4))
		if got := rules(rep); !slices.Equal(got, []string{f.Want}) {
			t.Errorf("%s: rules %q, want %s", name, got, f.Want)
		}
	}
}

// TestTacitStateChecks: the real tacit server, whose limits count per
// address whether or not it has an account, gives the state check nothing
// to report, on every endpoint, in both sign-up modes.
func TestTacitStateChecks(t *testing.T) {
	for _, mode := range []flow.Mode{flow.EmailFirst, flow.FullForm} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			target := knownTacitTarget(t, mode)
			s := stateScanner(5)
			rep, err := s.Scan(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Findings) > 0 {
				t.Fatalf("findings on tacit:\n%s", report(rep))
			}
			// tacit's progressive delays run on the clock, so on a slow
			// machine one address's delay may end within a round while
			// another's has not: once the repeated requests have pushed
			// the counters that far, the status may vary between unknown
			// addresses (and is then not compared), so Unstable is not
			// checked here.
			for _, e := range rep.Endpoints {
				if notes := unexplained(e.Notes); len(notes) > 0 {
					t.Errorf("endpoint %s: notes %q", e.Name, notes)
				}
			}
			if want := 8 * 4 * (6 + scan.DefaultStateAttempts); rep.Requests < want {
				t.Errorf("%d requests, want at least %d", rep.Requests, want)
			}
		})
	}
}

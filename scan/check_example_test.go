package scan_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
)

// onsetCheck is a Check written outside package scan. It sends every
// identifier Attempts more requests, round by round, and reports where a
// known identifier's status begins to differ from its partner's for good:
// a lockout counted per account. What it needs of the scan so far comes
// with the EndpointScan: the findings before it (an endpoint reported
// already is spared), a lock every identifier met before it, and the
// requests each identifier has been sent (the finding names the request
// the lockout began at, history included).
type onsetCheck struct{ Attempts int }

func (c onsetCheck) Planned(_ *scan.Target, _ *scan.Endpoint, ids scan.Identities) int {
	return c.Attempts * (2*len(ids.Known) + 2)
}

func (c onsetCheck) Run(ctx context.Context, s *scan.Scanner, t *scan.Target, ep *scan.Endpoint, ids scan.Identities, e *scan.EndpointScan) ([]scan.Finding, error) {
	if len(e.Findings) > 0 {
		s.Replan(-c.Planned(t, ep, ids))
		e.Result.Notes = append(e.Result.Notes, "onset check skipped: the endpoint is reported already")
		return nil, nil
	}
	if after, status, ok := e.Locked(); ok {
		// What follows would compare that answer with itself.
		e.Inconclusive("onset check: every identifier was answered %d from its request %d on", status, after+1)
		s.Replan(-c.Planned(t, ep, ids))
		return nil, nil
	}
	// Each known identifier beside its partner, and the control pair,
	// get the same requests in the same rounds.
	pairs := [][2]string{ids.Control}
	for i, k := range ids.Known {
		pairs = append(pairs, [2]string{k, ids.Partner[i]})
	}
	answers := make([][][2]*scan.Response, len(pairs))
	for range c.Attempts {
		for i, p := range pairs {
			var round [2]*scan.Response
			for j, id := range p {
				r, err := s.Probe(ctx, t, ep, s.Input(id))
				if err != nil {
					return nil, err
				}
				round[j] = r
			}
			answers[i] = append(answers[i], round)
		}
	}
	earlier := e.Requests
	e.Requests += c.Attempts
	e.Result.Notes = append(e.Result.Notes, fmt.Sprintf("onset check: requests %d to %d of each identifier", earlier+1, e.Requests))
	if onset(answers[0]) >= 0 {
		e.Inconclusive("onset check: two unknown identifiers were answered differently")
		return nil, nil
	}
	var fs []scan.Finding
	for _, rounds := range answers[1:] {
		at := onset(rounds)
		if at < 0 {
			continue
		}
		k, p := rounds[at][0], rounds[at][1]
		ev := scan.Evidence{Channel: "status code", Known: scan.SampleOf(k, ""), Unknown: scan.SampleOf(p, ""),
			Pairs: len(rounds), Differing: len(rounds) - at, Attempt: earlier + at + 1}
		msg := fmt.Sprintf("From request %d on, a known identifier is answered %d and an unknown one %d.", ev.Attempt, k.Status, p.Status)
		fs = append(fs, scan.NewFinding(scan.RuleLockout, ep, msg, ev))
	}
	return fs, nil
}

// onset is the round from which the two sides' statuses differ to the
// end, or -1.
func onset(rounds [][2]*scan.Response) int {
	at := -1
	for i, r := range rounds {
		switch {
		case r[0].Status == r[1].Status:
			at = -1
		case at < 0:
			at = i
		}
	}
	return at
}

// A Check written outside the package: run twice, the second sees the
// first's finding and stands down.
func ExampleCheck() {
	app, _ := lab.Lookup("lockout") // locks a real account after 10 failures
	srv := httptest.NewServer(app.New())
	defer srv.Close()
	target, err := scan.LoadTarget(strings.NewReader(app.Target(srv.URL)))
	if err != nil {
		fmt.Println(err)
		return
	}
	s := &scan.Scanner{Probes: 4, Checks: []scan.Check{onsetCheck{Attempts: 10}, onsetCheck{Attempts: 10}}}
	report, err := s.Scan(context.Background(), target)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range report.Findings {
		fmt.Println(f.Rule, f.Endpoint, f.Evidence.Attempt, f.Message)
	}
	for _, n := range report.Endpoints[0].Notes {
		fmt.Println(n)
	}
	// Output:
	// USER_ENUM_LOCKOUT login 11 From request 11 on, a known identifier is answered 423 and an unknown one 401.
	// onset check: requests 5 to 14 of each identifier
	// onset check skipped: the endpoint is reported already
}

// TestCheckOutsideSeesLock: a Check written outside the package learns
// of a lock every identifier met in the channel comparison, as
// TimingCheck does, and can make the endpoint inconclusive.
func TestCheckOutsideSeesLock(t *testing.T) {
	app, _ := lab.Lookup("lock-any") // locks every address after 4 failures
	srv := httptest.NewServer(app.New())
	defer srv.Close()
	target := loadTarget(t, app.Target(srv.URL), "")
	s := &scan.Scanner{Probes: 6, Checks: []scan.Check{onsetCheck{Attempts: 5}}}
	rep, err := s.Scan(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	e := rep.Endpoints[0]
	want := "onset check: every identifier was answered 401 from its request 5 on"
	if len(rep.Findings) != 0 || e.Verdict != scan.VerdictInconclusive || !slices.Contains(e.Inconclusive, want) || rep.Requests > 6*4+5 {
		t.Errorf("findings %d, verdict %s, inconclusive %q, %d requests", len(rep.Findings), e.Verdict, e.Inconclusive, rep.Requests)
	}
}

package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
	scanreport "github.com/tacitauth/tacit/scan/report"
)

// scanServed scans the fixture f served at srv with s (seeded, default
// probes unless set).
func scanServed(t *testing.T, f lab.Fixture, url string, s *scan.Scanner) *scan.Report {
	t.Helper()
	target, err := scan.LoadTarget(strings.NewReader(f.Target(url)))
	if err != nil {
		t.Fatalf("%s: target: %v", f.Name, err)
	}
	rep, err := s.Scan(context.Background(), target)
	if err != nil {
		t.Fatalf("%s: scan: %v", f.Name, err)
	}
	return rep
}

func stateFixture(t *testing.T, name string) lab.Fixture {
	t.Helper()
	f, ok := lab.Lookup(name)
	if !ok {
		t.Fatalf("no fixture %s", name)
	}
	return f
}

func verdicts(rep *scan.Report) []string {
	var out []string
	for _, e := range rep.Endpoints {
		out = append(out, e.Verdict)
	}
	return out
}

// TestStateFixtureVerdicts: every state fixture, scanned as a user would
// (default probes, no extra checks unless it needs timing), gets its
// verdict on every endpoint and exactly its rule.
func TestStateFixtureVerdicts(t *testing.T) {
	for _, f := range lab.StateFixtures() {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(f.New())
			defer srv.Close()
			s := &scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(11, 7))}
			if f.Needs == lab.NeedsTiming {
				s.Checks = []scan.Check{&scan.TimingCheck{MaxRequests: 400}}
			}
			rep := scanServed(t, f, srv.URL, s)
			var want []string
			if f.Want != "" {
				want = []string{f.Want}
			}
			all := slices.Repeat([]string{f.Verdict}, len(rep.Endpoints))
			if got := rules(rep); !slices.Equal(got, want) || len(all) == 0 || !slices.Equal(verdicts(rep), all) {
				t.Fatalf("rules %q, verdicts %q; want %q, %s\n%s", got, verdicts(rep), want, f.Verdict, report(rep))
			}
		})
	}
}

// TestSignupCreatesAccount: on a sign-up that registers each new address
// at once, the first round used to register the scan's unknown
// identifiers, which then answered like the known one in every later
// round: a leak in one round of six was set aside, and the scan came out
// clean. Every probe now sends an address never sent before, so every
// round shows the leak, in its status and its body; and the scan says
// that an unknown address sent twice answers like the known one.
func TestSignupCreatesAccount(t *testing.T) {
	f := stateFixture(t, "register-taken")
	for _, probes := range []int{3, 6, 12} {
		srv := httptest.NewServer(f.New())
		rep := scanServed(t, f, srv.URL, &scan.Scanner{Probes: probes, Rand: rand.New(rand.NewPCG(uint64(probes), 1))})
		srv.Close()
		var channels []string
		for _, fd := range rep.Findings {
			channels = append(channels, fd.Evidence.Channel)
			if fd.Rule != scan.RuleRegister || fd.Evidence.Differing != probes || fd.Evidence.Pairs != probes || fd.Evidence.Known.Status != 409 || fd.Evidence.Unknown.Status != 202 {
				t.Errorf("probes %d: %s %s: %d of %d pairs, statuses %d and %d", probes, fd.Rule, fd.Evidence.Channel, fd.Evidence.Differing, fd.Evidence.Pairs, fd.Evidence.Known.Status, fd.Evidence.Unknown.Status)
			}
		}
		if !slices.Equal(channels, []string{"status code", "body"}) {
			t.Fatalf("probes %d: channels %q\n%s", probes, channels, report(rep))
		}
		if e := rep.Endpoints[0]; e.Verdict != scan.VerdictLeak || len(e.Notes) != 1 || !strings.Contains(e.Notes[0], "unknown when first sent, was answered as the known identifier when sent again") {
			t.Errorf("probes %d: verdict %s, notes %q", probes, e.Verdict, e.Notes)
		}
		if fp := rep.Findings[0].Fingerprint(); fp == rep.Findings[1].Fingerprint() {
			t.Error("the two channels' findings share a fingerprint")
		}
	}
}

// TestSignupNeverReusesIdentifiers: no unknown identifier is sent twice
// to a sign-up endpoint, but the one second request that looks for it,
// and none is sent to any other endpoint.
func TestSignupNeverReusesIdentifiers(t *testing.T) {
	f := stateFixture(t, "register-taken")
	seen := map[string]int{}
	var order []string
	inner := f.New()
	srv := httptest.NewServer(recordEmails(inner, func(email string) {
		seen[email]++
		order = append(order, email)
	}))
	defer srv.Close()
	rep := scanServed(t, f, srv.URL, &scan.Scanner{Rand: rand.New(rand.NewPCG(3, 3))})
	twice := 0
	for id, n := range seen {
		switch {
		case strings.EqualFold(id, lab.Known) || strings.Contains(id, "@@"):
		case n == 2:
			twice++
		case n != 1:
			t.Errorf("%s sent %d times", id, n)
		}
	}
	if twice != 1 {
		t.Errorf("%d unknown identifiers sent twice, want 1 (the second request)", twice)
	}
	if rep.Requests != len(order) {
		t.Errorf("report counts %d requests, the server saw %d", rep.Requests, len(order))
	}
}

// TestLockForEveryAddress: a sign-in that locks every address after 4
// failures is no leak, and a second scan while the lock lasts, which
// finds the known address locked from its first request while new
// addresses are not, is no content leak either: it is inconclusive, and
// says the lock came from before the scan.
func TestLockForEveryAddress(t *testing.T) {
	f := stateFixture(t, "lock-any")
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	first := scanServed(t, f, srv.URL, &scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(1, 2))})
	if len(first.Findings) != 0 || first.Endpoints[0].Verdict != scan.VerdictClean {
		t.Fatalf("first scan:\n%s", report(first))
	}
	second := scanServed(t, f, srv.URL, &scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(3, 4))})
	e := second.Endpoints[0]
	if len(second.Findings) != 0 || e.Verdict != scan.VerdictInconclusive || len(e.Inconclusive) != 1 ||
		!strings.Contains(e.Inconclusive[0], "alice@lab.example was answered from its first request as unknown identifiers are after 5 requests of their own") {
		t.Fatalf("second scan:\n%s", report(second))
	}
}

// TestTimingBehindLockout: a 40ms timing leak on a sign-in that locks
// every address after 4 failures. The channel comparison's own rounds
// lock every identifier, known included; the timing check would then
// time the lock page alone and call the endpoint clean. It must not.
func TestTimingBehindLockout(t *testing.T) {
	f := stateFixture(t, "lock-any-slow")
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	rep := scanServed(t, f, srv.URL, &scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(5, 6)), Checks: []scan.Check{&scan.TimingCheck{}}})
	e := rep.Endpoints[0]
	if e.Verdict == scan.VerdictClean || (e.Verdict == scan.VerdictInconclusive && !slices.ContainsFunc(e.Inconclusive, func(s string) bool {
		return strings.Contains(s, "timing: every identifier was answered differently from its 5th request on") && strings.Contains(s, "4 of 4 slower") && strings.Contains(s, "to call its timing clean, raise or lift the lock for the scan; to find a leak of milliseconds before it, name at least 5 known identifiers (each is answered 4 times before its lock)")
	})) {
		t.Fatalf("verdict %s:\n%s", e.Verdict, report(rep))
	}
	if rep.Requests > 40 {
		t.Errorf("%d requests: the timing check ran against the lock", rep.Requests)
	}
}

// TestTimingBeforeLockManyKnown: a 40ms timing leak on a sign-in that
// locks every address, known or not, at its 6th attempt, with 4 known
// accounts named. The channel comparison's 6 rounds lock every
// identifier; the 5 rounds before the lock give 20 known/unknown pairs at
// equal history, which decide the leak. The check used to give up as soon
// as it saw the lock. Without the leak the same pairs cannot call the
// endpoint clean: it is inconclusive, and says why.
func TestTimingBeforeLockManyKnown(t *testing.T) {
	for _, name := range []string{"lock-four-slow", "lock-four"} {
		f := stateFixture(t, name)
		srv := httptest.NewServer(f.New())
		rep := scanServed(t, f, srv.URL, &scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(5, 6)), Checks: []scan.Check{&scan.TimingCheck{}}})
		srv.Close()
		e := rep.Endpoints[0]
		if rep.Requests > 80 {
			t.Errorf("%s: %d requests: the timing check ran against the lock", name, rep.Requests)
		}
		if name == "lock-four-slow" {
			if got := rules(rep); e.Verdict != scan.VerdictLeak || !slices.Equal(got, []string{scan.RuleTiming}) || rep.Findings[0].Evidence.Pairs != 20 {
				t.Errorf("%s: verdict %s, rules %q:\n%s", name, e.Verdict, got, report(rep))
			}
			continue
		}
		if len(rep.Findings) != 0 || e.Verdict != scan.VerdictInconclusive || !slices.ContainsFunc(e.Inconclusive, func(s string) bool {
			return strings.Contains(s, "from its 6th request on") && strings.Contains(s, "timing measured on 20 comparable pairs, too few to call the endpoint clean")
		}) {
			t.Errorf("%s: verdict %s:\n%s", name, e.Verdict, report(rep))
		}
	}
}

// TestTimingLockDuringMeasurement: a 40ms timing leak on a sign-in with
// eight known accounts that answers every address with a fast lock page
// from its 6th attempt on. With --probes 2 the channel comparison stops
// short of the lock and the timing check runs into it: its first rounds
// show the leak, every later one compares lock pages with lock pages.
// The check used to measure on to the planned size and call the
// endpoint clean; then to stop at the lock and call it inconclusive, its
// 3 control pairs too few to test. It stops at the lock and, comparing
// every unknown identifier with the next as the control, finds the leak.
// Without the leak (lock-four) it must not call the endpoint clean.
func TestTimingLockDuringMeasurement(t *testing.T) {
	f := stateFixture(t, "lock-many-slow")
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	rep := scanServed(t, f, srv.URL, &scan.Scanner{Client: srv.Client(), Probes: 2, Rand: rand.New(rand.NewPCG(5, 6)), Checks: []scan.Check{&scan.TimingCheck{}}})
	e := rep.Endpoints[0]
	if got := rules(rep); e.Verdict != scan.VerdictLeak || !slices.Equal(got, []string{scan.RuleTiming}) {
		t.Fatalf("verdict %s, rules %q:\n%s", e.Verdict, got, report(rep))
	}
	if rep.Requests > 200 {
		t.Errorf("%d requests: the timing check measured on past the lock", rep.Requests)
	}

	f = stateFixture(t, "lock-four")
	clean := httptest.NewServer(f.New())
	defer clean.Close()
	rep = scanServed(t, f, clean.URL, &scan.Scanner{Client: clean.Client(), Probes: 2, Rand: rand.New(rand.NewPCG(5, 6)), Checks: []scan.Check{&scan.TimingCheck{}}})
	e = rep.Endpoints[0]
	if len(rep.Findings) != 0 || e.Verdict != scan.VerdictInconclusive || !slices.ContainsFunc(e.Inconclusive, func(s string) bool {
		return strings.Contains(s, "from pair 13 on the answers changed to status 200, <title>Too many failed attempts</title> for every identifier") &&
			strings.Contains(s, "timing measured on 12 comparable pairs, too few to call the endpoint clean")
	}) {
		t.Fatalf("lock-four: verdict %s:\n%s", e.Verdict, report(rep))
	}
}

// TestServerErrorsAreInconclusive: answers of 500, to some probes or to
// all, leave an endpoint inconclusive with the count, never clean.
func TestServerErrorsAreInconclusive(t *testing.T) {
	for name, want := range map[string]string{"errors-some": "answers were server errors: 500 Internal Server Error", "errors-all": "24 of 24 answers were server errors"} {
		f := stateFixture(t, name)
		srv := httptest.NewServer(f.New())
		rep := scanServed(t, f, srv.URL, &scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(7, 8))})
		srv.Close()
		e := rep.Endpoints[0]
		if len(rep.Findings) != 0 || e.Verdict != scan.VerdictInconclusive || !slices.ContainsFunc(e.Inconclusive, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("%s:\n%s", name, report(rep))
		}
	}
}

// TestIgnoredIdentifier: a target file that misspells the identifier's
// field gives an application that never sees it; every probe is answered
// alike, which used to be an all-clear.
func TestIgnoredIdentifier(t *testing.T) {
	f := stateFixture(t, "ignored-field")
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	rep := scanServed(t, f, srv.URL, &scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(9, 9))})
	e := rep.Endpoints[0]
	if e.Verdict != scan.VerdictInconclusive || len(e.Inconclusive) != 1 || !strings.HasPrefix(e.Inconclusive[0], "the identifier seems to be ignored") {
		t.Fatalf("%s", report(rep))
	}
	// Spelt right, the same application is clean.
	good := f
	good.Name = "strict"
	target := strings.Replace(f.Target(srv.URL), "emial", "email", 1)
	tg, err := scan.LoadTarget(strings.NewReader(target))
	if err != nil {
		t.Fatal(err)
	}
	rep, err = (&scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(9, 10))}).Scan(context.Background(), tg)
	if err != nil || rep.Endpoints[0].Verdict != scan.VerdictClean {
		t.Fatalf("%v\n%s", err, report(rep))
	}
}

// TestRateLimitIsPaced: a target that lets a client make 12 requests a
// second and answers 429 with Retry-After: 1 beyond is paced, and the
// scan ends clean; with waits longer than MaxWait it ends inconclusive,
// saying how long a paced scan would wait.
func TestRateLimitIsPaced(t *testing.T) {
	f := stateFixture(t, "rate-limited")
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	var log []string
	rep := scanServed(t, f, srv.URL, &scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(1, 1)), Log: func(l string) { log = append(log, l) }})
	if rep.Endpoints[0].Verdict != scan.VerdictClean || len(log) == 0 || !strings.HasPrefix(log[0], "pacing: login (POST /api/login) answered 429 with Retry-After 1s; waiting it out") {
		t.Fatalf("log %q\n%s", log, report(rep))
	}
	rep = scanServed(t, f, srv.URL, &scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(1, 2)), MaxWait: 500 * time.Millisecond})
	e := rep.Endpoints[0]
	if e.Verdict != scan.VerdictInconclusive || !slices.ContainsFunc(e.Inconclusive, func(s string) bool {
		return strings.Contains(s, "answers were throttled") && strings.Contains(s, "re-run with --max-wait 1s")
	}) {
		t.Fatalf("%s", report(rep))
	}
}

// TestNoControlCharacterReachesTheTerminal: a target's ESC, BEL, OSC 52
// and C1 sequences, in bodies and headers, come out of every report
// format escaped.
func TestNoControlCharacterReachesTheTerminal(t *testing.T) {
	f := stateFixture(t, "hostile")
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	rep := scanServed(t, f, srv.URL, &scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(2, 2))})
	// The replayable evidence keeps the answers as they came (body and
	// headers, escapes and all): the formats below must escape them.
	if len(rep.Findings) == 0 {
		t.Fatalf("no finding:\n%s", report(rep))
	}
	ev := rep.Findings[0].Evidence
	if !strings.Contains(ev.Known.Body, "\x1b]52;c;") || !slices.ContainsFunc(ev.Known.Headers, func(h scan.Field) bool { return strings.ContainsRune(h.Value, 0x9b) }) || ev.Known.Curl == "" {
		t.Fatalf("the evidence does not hold the hostile answer: %+v", ev.Known)
	}
	for name, write := range map[string]func(*strings.Builder, *scan.Report) error{
		"text":  func(b *strings.Builder, r *scan.Report) error { return scanreport.WriteText(b, r) },
		"json":  func(b *strings.Builder, r *scan.Report) error { return scanreport.WriteJSON(b, r) },
		"sarif": func(b *strings.Builder, r *scan.Report) error { return scanreport.WriteSARIF(b, r) },
		"html":  func(b *strings.Builder, r *scan.Report) error { return scanreport.WriteHTML(b, r) },
	} {
		var b strings.Builder
		if err := write(&b, rep); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for i, r := range out {
			if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) {
				t.Errorf("%s: raw control character %U at byte %d: %q", name, r, i, out[max(i-40, 0):min(i+40, len(out))])
				break
			}
		}
		if name == "text" && !strings.Contains(out, `\x1b]52;c;`) {
			t.Errorf("text: the OSC 52 sequence is not shown escaped:\n%s", out)
		}
		if name == "json" && !json.Valid([]byte(out)) {
			t.Error("json: not valid after escaping")
		}
	}
}

// recordEmails calls seen with the email of every JSON request before
// inner answers it.
func recordEmails(inner http.Handler, seen func(string)) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var c struct{ Email string }
		_ = json.Unmarshal(body, &c)
		mu.Lock()
		seen(c.Email)
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		inner.ServeHTTP(w, r)
	})
}

// TestSecondSignupThrottledByClient: a client limit that throttles the
// first unknown identifier's second sign-up, and every identifier of the
// last round too, is the client's, not a difference of accounts (the
// README's scan of a default tacit serve reported it as
// USER_ENUM_REGISTER); a limit that throttles only a new address's second
// sign-up is a leak.
func TestSecondSignupThrottledByClient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client bool
		want   []string
	}{
		{"client limit", true, nil},
		{"pending sign-up limit", false, []string{scan.RuleRegister}},
	} {
		var mu sync.Mutex
		seen := map[string]int{}
		n := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var c struct{ Email string }
			_ = json.NewDecoder(r.Body).Decode(&c)
			mu.Lock()
			n++
			seen[c.Email]++
			count, total := seen[c.Email], n
			mu.Unlock()
			switch {
			case strings.Count(c.Email, "@") != 1:
				w.WriteHeader(http.StatusUnprocessableEntity)
			case (tc.client && total > 20 && total <= 25) || (!tc.client && count == 2 && c.Email != lab.Known):
				w.Header().Set("Retry-After", "60")
				w.WriteHeader(http.StatusTooManyRequests)
			default:
				w.WriteHeader(http.StatusAccepted)
			}
		}))
		tg := loadTarget(t, `base_url: BASE
known: [alice@lab.example]
endpoints:
  - {name: register, kind: register, path: /register, json: {email: "{{identifier}}"}}
`, srv.URL)
		rep, err := (&scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(4, 4))}).Scan(context.Background(), tg)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := rules(rep); !slices.Equal(got, tc.want) {
			t.Errorf("%s: rules %q, want %q\n%s", tc.name, got, tc.want, report(rep))
		}
	}
}

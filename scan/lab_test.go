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

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
	scanreport "github.com/tacitauth/tacit/scan/report"
)

// scanFixture serves f on a loopback port and scans it.
func scanFixture(t *testing.T, f lab.Fixture, seed uint64, probes int) *scan.Report {
	t.Helper()
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	target, err := scan.LoadTarget(strings.NewReader(f.Target(srv.URL)))
	if err != nil {
		t.Fatalf("%s: target: %v", f.Name, err)
	}
	s := &scan.Scanner{Client: srv.Client(), Probes: probes, Rand: rand.New(rand.NewPCG(seed, 7))}
	rep, err := s.Scan(context.Background(), target)
	if err != nil {
		t.Fatalf("%s: scan: %v", f.Name, err)
	}
	for _, e := range rep.Endpoints {
		if len(e.Notes) > 0 || len(e.Unstable) > 0 {
			t.Errorf("%s: endpoint %s: notes %q, unstable %q", f.Name, e.Name, e.Notes, e.Unstable)
		}
	}
	return rep
}

func rules(rep *scan.Report) []string {
	var out []string
	for _, f := range rep.Findings {
		if !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	slices.Sort(out)
	return out
}

// wantChannels are the evidence channels of each leaky fixture's
// findings, in report order: one finding per channel.
var wantChannels = map[string][]string{
	"message": {"body"}, "status": {"status code"}, "redirect": {"redirect target"}, "header": {"headers"},
	"cookie": {"cookies"}, "length": {"body length"}, "title": {"page title"}, "register-order": {"status code, body"},
	"reset-message": {"body"}, "reset-laravel": {"status code", "body"},
}

func TestLeakyFixturesAreFound(t *testing.T) {
	for _, f := range lab.Fixtures() {
		if f.Want == "" {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			rep := scanFixture(t, f, 1, 6)
			if got := rules(rep); !slices.Equal(got, []string{f.Want}) {
				var b strings.Builder
				scanreport.WriteText(&b, rep)
				t.Fatalf("rules = %q, want exactly %s\n%s", got, f.Want, b.String())
			}
			pairs := 6
			if f.Want == scan.RuleRegister {
				pairs = scan.DefaultMatrixProbes
			}
			var channels []string
			for _, fd := range rep.Findings {
				ev := fd.Evidence
				channels = append(channels, ev.Channel)
				if ev.Differing != pairs || ev.Pairs != pairs {
					t.Errorf("%s: %d of %d pairs differ, want all of %d", ev.Channel, ev.Differing, ev.Pairs, pairs)
				}
				if ev.Known.Identifier != lab.Known || ev.Unknown.Identifier == lab.Known {
					t.Errorf("%s: evidence identifiers %q and %q", ev.Channel, ev.Known.Identifier, ev.Unknown.Identifier)
				}
			}
			if !slices.Equal(channels, wantChannels[f.Name]) {
				t.Errorf("evidence channels %q, want %q", channels, wantChannels[f.Name])
			}
		})
	}
}

func TestCleanFixturesStayClean(t *testing.T) {
	const runs = 20
	for _, f := range lab.Fixtures() {
		if f.Want != "" {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			for run := range runs {
				rep := scanFixture(t, f, uint64(run)+100, 6)
				for _, e := range rep.Endpoints {
					if e.Verdict != scan.VerdictClean {
						t.Fatalf("run %d: endpoint %s is %s: %q", run, e.Name, e.Verdict, e.Inconclusive)
					}
				}
				if len(rep.Findings) > 0 {
					var b strings.Builder
					scanreport.WriteText(&b, rep)
					t.Fatalf("run %d: %d findings on a clean fixture:\n%s", run, len(rep.Findings), b.String())
				}
			}
		})
	}
}

// TestResetFindingNamesTheKind: on a password reset endpoint a channel
// difference is USER_ENUM_PASSWORD_RESET, and the message says which kind
// of endpoint leaked and through which channel.
func TestResetFindingNamesTheKind(t *testing.T) {
	f, _ := lab.Lookup("reset-message")
	rep := scanFixture(t, f, 2, 3)
	const want = "On the password reset endpoint forgot (POST /password/forgot), the body differs between a known and an unknown identifier (3 of 3 pairs)."
	if len(rep.Findings) != 1 || rep.Findings[0].Rule != scan.RulePasswordReset || rep.Findings[0].Message != want || rep.Findings[0].Kind != scan.KindReset {
		t.Fatalf("findings = %+v", rep.Findings)
	}
	if !strings.Contains(rep.Findings[0].Evidence.Diff, "- <p>We have sent you a link to reset your password.</p>\n+ <p>No account uses that address.</p>") {
		t.Errorf("diff:\n%s", rep.Findings[0].Evidence.Diff)
	}
}

// TestResetFindingPerChannel: a reset endpoint that leaks through its
// status and its message has one USER_ENUM_PASSWORD_RESET finding for
// each, high like the rule, each naming its channel, with fingerprints of
// their own so that SARIF consumers keep both.
func TestResetFindingPerChannel(t *testing.T) {
	f, _ := lab.Lookup("reset-laravel")
	rep := scanFixture(t, f, 4, 3)
	want := []struct{ channel, message string }{
		{"status code", "On the password reset endpoint forgot (POST /forgot-password), the status code differs between a known and an unknown identifier: " +
			"200 for the known one, 422 for the unknown one (3 of 3 pairs)."},
		{"body", "On the password reset endpoint forgot (POST /forgot-password), the body differs between a known and an unknown identifier (3 of 3 pairs)."},
	}
	if len(rep.Findings) != len(want) {
		t.Fatalf("%d findings, want %d:\n%s", len(rep.Findings), len(want), report(rep))
	}
	for i, w := range want {
		fd := rep.Findings[i]
		if fd.Rule != scan.RulePasswordReset || fd.Severity != scan.SeverityHigh || fd.Evidence.Channel != w.channel || fd.Message != w.message {
			t.Errorf("finding %d: %s %s, channel %q, message %q; want %s high, channel %q, message %q",
				i, fd.Rule, fd.Severity, fd.Evidence.Channel, fd.Message, scan.RulePasswordReset, w.channel, w.message)
		}
	}
	if !strings.Contains(rep.Findings[1].Evidence.Diff, `We can't find a user with that email address.`) {
		t.Errorf("diff:\n%s", rep.Findings[1].Evidence.Diff)
	}
	if rep.Findings[0].Fingerprint() == rep.Findings[1].Fingerprint() {
		t.Error("the status and the body finding have the same fingerprint")
	}
}

// TestResetOnsetStaysRateLimit: a reset endpoint that starts throttling a
// real account's requests within the plain rounds (the 9th of 12) has an
// onset, and that is the rate limit's finding, not the reset rule's.
func TestResetOnsetStaysRateLimit(t *testing.T) {
	f, _ := lab.Lookup("reset-throttle")
	rep := scanFixture(t, f, 5, 12)
	if len(rep.Findings) != 1 || rep.Findings[0].Rule != scan.RuleRateLimit || rep.Findings[0].Evidence.Attempt != 9 {
		t.Fatalf("want one %s from the 9th request:\n%s", scan.RuleRateLimit, report(rep))
	}
}

// TestCSRFNeedsBeforeSteps: without its before step the CSRF-protected
// fixture refuses every probe, and the report says so instead of calling
// the endpoint clean without comment.
func TestCSRFNeedsBeforeSteps(t *testing.T) {
	f, _ := lab.Lookup("clean-html")
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	tg := loadTarget(t, `base_url: BASE
known: [alice@lab.example]
endpoints:
  - {name: login, kind: login, path: /login, form: {email: "{{identifier}}", password: "{{password}}"}}
`, srv.URL)
	rep, err := (&scan.Scanner{Probes: 2}).Scan(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"every answer was 403 Forbidden: check the path, method, body and before steps (a CSRF token?)"}
	if len(rep.Findings) != 0 || !slices.Equal(rep.Endpoints[0].Notes, want) {
		t.Fatalf("findings %+v, notes %q", rep.Findings, rep.Endpoints[0].Notes)
	}
}

// TestRegisterMatrixNamesTheClasses: the sign-up that looks the address
// up before reporting password errors differs in every password class and
// not in the malformed address, which it rejects first.
func TestRegisterMatrixNamesTheClasses(t *testing.T) {
	f, _ := lab.Lookup("register-order")
	rep := scanFixture(t, f, 3, 3)
	const want = "On the sign-up endpoint register (POST /api/register), invalid input is answered differently for a known identifier than for an unknown one: " +
		"missing password (status code, body); too short password (status code, body); password missing character classes (status code, body); " +
		"mismatched confirmation (status code, body); common password (status code, body). Validation must not depend on whether the address has an account."
	if len(rep.Findings) != 1 || rep.Findings[0].Message != want {
		t.Fatalf("findings = %+v", rep.Findings)
	}
	ev := rep.Findings[0].Evidence
	if ev.Input != "missing password" || ev.Known.Status != 409 || ev.Unknown.Status != 422 ||
		ev.Known.Request.Body != `{"email":"alice@lab.example","password":"","password_confirm":""}` {
		t.Errorf("evidence = %+v", ev)
	}
	// 3 rounds of the plain probes, then 2 of each of the six classes,
	// for four identifiers, and the second request of the first
	// unknown identifier.
	if rep.Requests != 4*(3+6*scan.DefaultMatrixProbes)+1 {
		t.Errorf("requests = %d", rep.Requests)
	}
}

// TestEveryIdentifierEquallyOften: with two known identifiers (one of
// which the fixture does not know), every identifier of the scan — known,
// partner, control — is probed exactly once per round, and only the real
// account's pairs differ.
func TestEveryIdentifierEquallyOften(t *testing.T) {
	f, _ := lab.Lookup("status")
	var mu sync.Mutex
	uses := map[string]int{}
	inner := f.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var c struct{ Email string }
		json.Unmarshal(body, &c)
		mu.Lock()
		uses[c.Email]++
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	tg := loadTarget(t, strings.Replace(f.Target(srv.URL), "known: [alice@lab.example]", "known: [alice@lab.example, carol@lab.example]", 1), "")
	const probes = 4
	rep, err := (&scan.Scanner{Probes: probes, Rand: rand.New(rand.NewPCG(5, 5))}).Scan(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) != 6 {
		t.Fatalf("%d identifiers used, want 2 known + 2 partners + 2 controls: %v", len(uses), uses)
	}
	for id, n := range uses {
		if n != probes {
			t.Errorf("%s used %d times, want %d", id, n, probes)
		}
	}
	if got := rules(rep); !slices.Equal(got, []string{scan.RuleStatusCode}) {
		t.Fatalf("rules = %q", got)
	}
	ev := rep.Findings[0].Evidence
	if ev.Pairs != 2*probes || ev.Differing != probes || ev.Known.Identifier != lab.Known {
		t.Errorf("evidence: %d of %d pairs, known %s", ev.Differing, ev.Pairs, ev.Known.Identifier)
	}
}

// TestForbiddenSignInWithRightPassword: a sign-in that answers every
// failed attempt 403, as DokuWiki does ("Login failed"), and the right
// password 302 has reached its account logic: the scan must not send the
// tester after a CSRF token, since the known account's right password,
// given in the target file, was answered otherwise.
func TestForbiddenSignInWithRightPassword(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("u") == "alice" && r.PostFormValue("p") == "Right-Passw0rd!" {
			http.Redirect(w, r, "/start", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "<p>Login failed</p>")
	}))
	defer srv.Close()
	const file = `base_url: BASE
known: [KNOWN]
endpoints:
  - {name: login, kind: login, path: /login, form: {u: "{{identifier}}", p: "{{password}}"}}
`
	for _, tc := range []struct {
		known string
		notes int
	}{
		{`{identifier: alice, password: "Right-Passw0rd!"}`, 0},
		{`alice`, 1}, // without the password nothing shows the 403 is the app's own
	} {
		tg := loadTarget(t, strings.Replace(file, "KNOWN", tc.known, 1), srv.URL)
		rep, err := (&scan.Scanner{Probes: 2}).Scan(context.Background(), tg)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Findings) != 0 || len(rep.Endpoints[0].Notes) != tc.notes {
			t.Errorf("known %s: findings %+v, notes %q; want %d notes", tc.known, rep.Findings, rep.Endpoints[0].Notes, tc.notes)
		}
	}
}

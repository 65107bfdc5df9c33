package scan_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tacitauth/tacit/scan"
)

// glitchServer answers every sign-in 401, except that the known address
// gets 429 on the requests counted in glitches (1-based): a throttle
// whose wait ran out, mid-round, for one side of the pair and not the
// other.
func glitchServer(t *testing.T, glitches ...int) *httptest.Server {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		status := http.StatusUnauthorized
		if strings.Count(r.Form.Get("email"), "@") != 1 {
			status = http.StatusUnprocessableEntity // the address is read
		}
		if r.Form.Get("email") == "alice@lab.example" {
			mu.Lock()
			n++
			for _, g := range glitches {
				if n == g {
					status = http.StatusTooManyRequests
				}
			}
			mu.Unlock()
		}
		w.WriteHeader(status)
		w.Write([]byte("Email or password is incorrect.\n"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func scanGlitch(t *testing.T, srv *httptest.Server) *scan.Report {
	t.Helper()
	tg := loadTarget(t, `base_url: BASE
known: [alice@lab.example]
endpoints:
  - {name: login, kind: login, path: /login, form: {email: "{{identifier}}", password: "{{password}}"}}
`, srv.URL)
	rep, err := (&scan.Scanner{Probes: 6, Rand: rand.New(rand.NewPCG(8, 8))}).Scan(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestSingleRoundIsInconclusive: a difference in one round of six,
// whether in the middle or in the last round (where it would look like an
// onset), is not a finding, and not clean either: the endpoint is
// inconclusive (it used to be a note, and the scan exited 0).
func TestSingleRoundIsInconclusive(t *testing.T) {
	for _, glitch := range []int{3, 6} {
		rep := scanGlitch(t, glitchServer(t, glitch))
		notes := rep.Endpoints[0].Inconclusive
		if len(rep.Findings) != 0 || len(notes) != 1 || rep.Endpoints[0].Verdict != scan.VerdictInconclusive ||
			!strings.HasPrefix(notes[0], "alice@lab.example differed from an unknown identifier in one round of 6 only (round ") {
			t.Errorf("known answered 429 on request %d only: findings %v, notes %q", glitch, rules(rep), notes)
		}
	}
}

// TestTwoRoundsAreAFinding: the same difference in two rounds is
// reported.
func TestTwoRoundsAreAFinding(t *testing.T) {
	rep := scanGlitch(t, glitchServer(t, 2, 5))
	if got := rules(rep); len(got) != 1 || got[0] != scan.RuleStatusCode {
		t.Fatalf("known answered 429 on requests 2 and 5: findings %v, notes %q", got, rep.Endpoints[0].Notes)
	}
}

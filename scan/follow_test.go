package scan_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
)

// TestFlashMessageFound: a reset form that answers every POST with the
// same redirect and says on the next page, from the session, whether the
// address has an account (Laravel's default) is a leak, found on the page
// after the redirect; the evidence names that channel and shows the
// message.
func TestFlashMessageFound(t *testing.T) {
	f := stateFixture(t, "reset-flash")
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	rep := scanServed(t, f, srv.URL, &scan.Scanner{Client: srv.Client(), Rand: rand.New(rand.NewPCG(3, 7))})
	if len(rep.Findings) != 1 {
		t.Fatalf("findings %d, want 1\n%s", len(rep.Findings), report(rep))
	}
	fd := rep.Findings[0]
	ev := fd.Evidence
	if fd.Rule != scan.RulePasswordReset || ev.Channel != "page after redirect" || ev.Known.Status != http.StatusFound || ev.Differing != ev.Pairs {
		t.Errorf("%s %q: statuses %d/%d, %d of %d pairs", fd.Rule, ev.Channel, ev.Known.Status, ev.Unknown.Status, ev.Differing, ev.Pairs)
	}
	if !strings.Contains(ev.Diff, "We can&#39;t find a user with that email address.") || !strings.Contains(ev.Diff, "We have emailed your password reset link.") {
		t.Errorf("diff does not show the flash messages:\n%s", ev.Diff)
	}
	changed := 0
	for _, line := range strings.Split(ev.Diff, "\n") {
		if strings.HasPrefix(line, "- ") || strings.HasPrefix(line, "+ ") {
			changed++
		}
	}
	if changed != 2 || !strings.Contains(ev.Diff, `nonce="{{varies}}"`) {
		t.Errorf("the landing page's random values (nonce, CSRF token) were not masked:\n%s", ev.Diff)
	}
}

// followTarget posts to /start on a server that redirects.
const followTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - {name: reset, kind: reset, path: /start, form: {email: "{{identifier}}"}}
`

func probeOnce(t *testing.T, h http.Handler) *scan.Response {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	tg, err := scan.LoadTarget(strings.NewReader(strings.ReplaceAll(followTarget, "BASE_URL", srv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	s := &scan.Scanner{Client: srv.Client()}
	r, err := s.Probe(context.Background(), tg, tg.Endpoints[0], s.Input(lab.Known))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFollowStaysOnOrigin: a redirect to another host is never followed,
// and a chain of redirects is followed for three hops at most.
func TestFollowStaysOnOrigin(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	r := probeOnce(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
	}))
	if r.After != nil || elsewhere.Load() != 0 {
		t.Errorf("followed a redirect to another origin: %+v, %d requests there", r.After, elsewhere.Load())
	}

	var gets atomic.Int32
	r = probeOnce(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			gets.Add(1)
		}
		http.Redirect(w, r, "/loop", http.StatusSeeOther)
	}))
	if r.Status != http.StatusSeeOther || r.After == nil || r.After.Hops != 3 || gets.Load() != 3 || !strings.HasSuffix(r.After.URL, "/loop") {
		t.Errorf("loop: status %d, after %+v, %d GETs; want 3 hops", r.Status, r.After, gets.Load())
	}

	r = probeOnce(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			http.Redirect(w, r, "/done#top", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte("done at " + r.URL.Path))
	}))
	if r.After == nil || r.After.Hops != 1 || r.After.Status != http.StatusOK || string(r.After.Body) != "done at /done" {
		t.Errorf("one hop: %+v", r.After)
	}
}

package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/mail"
	"github.com/tacitauth/tacit/scan"
	scanreport "github.com/tacitauth/tacit/scan/report"
	"github.com/tacitauth/tacit/web"
)

// tacitServer is a real tacit instance on a loopback port: a SQLite file,
// fast hashing, no envelope and the dev mailbox.
type tacitServer struct {
	url  string
	inst *web.Instance
	// skew moves the flows' clock, to let throttling windows pass. The
	// clock otherwise stands still: a throttle's wait never runs out in
	// the middle of a scan, however slowly a loaded machine sends a
	// round, so every identifier of a round meets the same throttle.
	skew atomic.Int64
}

func startTacit(t *testing.T, mode flow.Mode) *tacitServer {
	t.Helper()
	return startTacitWith(t, mode, testenv.RoomyLimits())
}

// startTacitWith starts the server with limits.
func startTacitWith(t *testing.T, mode flow.Mode, limits *flow.Limits) *tacitServer {
	t.Helper()
	db := testenv.SQLite(t)
	srv := httptest.NewUnstartedServer(nil)
	base, _ := url.Parse("http://" + srv.Listener.Addr().String())
	links := tacit.Links{Base: base}
	ts := &tacitServer{url: base.String()}
	start := time.Now()

	// Every probe comes from 127.0.0.1: the per-client limits are raised
	// out of the way; the per-address ones, which the scan must find
	// uniform, stay at their defaults.
	inst, err := web.NewInstance(web.Options{
		Store: db, Hasher: testenv.Hasher(t), Sender: mail.DevSender{Box: db},
		Flow: flow.Config{
			Mode: mode, Links: links, Limits: limits, Envelope: 0,
			Now: func() time.Time { return start.Add(time.Duration(ts.skew.Load())) },
		},
		Config: web.Config{DevMailbox: db},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Sign-up mail is delivered when signUp asks; nothing else is read.
	ts.inst = inst
	srv.Config.Handler = inst
	srv.Start()
	t.Cleanup(srv.Close)
	return ts
}

// tokenLink is the link of a sign-up mail: /register/complete (choose a
// password) in email-first mode, /verify in full-form mode.
var tokenLink = regexp.MustCompile(`(/register/complete|/verify)\?token=([A-Za-z0-9_-]+)`)

// signUp registers email through the JSON API and the mailed link, then
// moves the clock past the throttling window, so the address starts the
// scan with no recent sign-up attempt, like its unknown partners.
func (ts *tacitServer) signUp(t *testing.T, mode flow.Mode, email, password string) {
	t.Helper()
	post := func(path string, body any) (int, string) {
		b, _ := json.Marshal(body)
		resp, err := http.Post(ts.url+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	fields := map[string]string{"email": email}
	if mode == flow.FullForm {
		fields["password"], fields["password_confirm"] = password, password
	}
	if status, body := post("/api/register", fields); status != http.StatusAccepted {
		t.Fatalf("register: %d %s", status, body)
	}
	for {
		n, err := ts.inst.DeliverMail(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	resp, err := http.Get(ts.url + "/_dev/mailbox")
	if err != nil {
		t.Fatal(err)
	}
	box, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := tokenLink.FindSubmatch(box)
	if m == nil {
		t.Fatalf("no sign-up link in the mailbox: %s", box)
	}
	token := string(m[2])
	if string(m[1]) == "/verify" {
		if status, body := post("/api/verify", map[string]string{"token": token, "password": password}); status != http.StatusOK {
			t.Fatalf("verify: %d %s", status, body)
		}
	} else if status, body := post("/api/register/complete", map[string]string{"token": token, "password": password, "password_confirm": password}); status != http.StatusCreated {
		t.Fatalf("complete sign-up: %d %s", status, body)
	}
	ts.skew.Add(int64(2 * time.Hour))
}

// tacitTarget scans tacit's JSON API and its HTML forms, each form with a
// before step that fetches the page and takes its CSRF token.
func tacitTarget(base, known string, mode flow.Mode) string {
	register := `{email: "{{identifier}}"}`
	if mode == flow.FullForm {
		register = `{email: "{{identifier}}", password: "{{password}}", password_confirm: "{{password}}"}`
	}
	form := func(name string, kind scan.Kind, path, fields string) string {
		return `  - name: ` + name + `
    kind: ` + string(kind) + `
    path: ` + path + `
    form: {csrf_token: "{{csrf}}", ` + strings.Trim(fields, "{}") + `}
    before:
      - path: ` + path + `
        extract: {csrf: {input: csrf_token}}
`
	}
	return `base_url: ` + base + `
known: [` + known + `]
endpoints:
  - {name: api-login, kind: login, path: /api/login, json: {email: "{{identifier}}", password: "{{password}}"}}
  - {name: api-register, kind: register, path: /api/register, json: ` + register + `}
  - {name: api-forgot, kind: reset, path: /api/password/forgot, json: {email: "{{identifier}}"}}
  - {name: api-resend, kind: resend, path: /api/verify/resend, json: {email: "{{identifier}}"}}
` + form("login", scan.KindLogin, "/login", `{email: "{{identifier}}", password: "{{password}}"}`) +
		form("register", scan.KindRegister, "/register", register) +
		form("forgot", scan.KindReset, "/password/forgot", `{email: "{{identifier}}"}`) +
		form("resend", scan.KindResend, "/verify/resend", `{email: "{{identifier}}"}`)
}

// knownTacitTarget starts the real tacit server in mode with one account,
// signed up as a user would, and returns the target that scans it with
// that account's address as the known one.
func knownTacitTarget(t *testing.T, mode flow.Mode) *scan.Target {
	t.Helper()
	return knownTacitTargetWith(t, mode, testenv.RoomyLimits())
}

func knownTacitTargetWith(t *testing.T, mode flow.Mode, limits *flow.Limits) *scan.Target {
	t.Helper()
	ts := startTacitWith(t, mode, limits)
	const known = "owner@tacit.example"
	ts.signUp(t, mode, known, "a long and known password")
	target, err := scan.LoadTarget(strings.NewReader(tacitTarget(ts.url, known, mode)))
	if err != nil {
		t.Fatal(err)
	}
	return target
}

// TestTacitHasNoFindings scans the real tacit server, in both sign-up
// modes: docs/DESIGN.md §5 says it must report nothing.
func TestTacitHasNoFindings(t *testing.T) {
	for _, mode := range []flow.Mode{flow.EmailFirst, flow.FullForm} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			target := knownTacitTarget(t, mode)
			s := &scan.Scanner{Probes: 6, Rand: rand.New(rand.NewPCG(3, 4))}
			rep, err := s.Scan(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			scanreport.WriteText(&b, rep)
			if len(rep.Findings) > 0 {
				t.Fatalf("findings on tacit:\n%s", b.String())
			}
			for _, e := range rep.Endpoints {
				if notes := unexplained(e.Notes); len(notes) > 0 || len(e.Unstable) > 0 || e.Error != "" {
					t.Errorf("endpoint %s: notes %q, unstable %q, error %q", e.Name, notes, e.Unstable, e.Error)
				}
				// With its default per-address limits, the second
				// endpoint of a kind finds every identifier throttled
				// by the first: inconclusive, never clean over 429s.
				if e.Verdict == scan.VerdictInconclusive && !slices.ContainsFunc(e.Inconclusive, func(s string) bool { return strings.Contains(s, "throttled") }) {
					t.Errorf("endpoint %s: inconclusive %q", e.Name, e.Inconclusive)
				}
			}
			t.Logf("\n%s", b.String())
		})
	}
}

// unexplained leaves out of notes those in which the scan says what its
// own requests did to the target's state: a throttle counted per address,
// which the known identifier of a sign-up meets and its new partners
// cannot.
func unexplained(notes []string) []string {
	var out []string
	for _, n := range notes {
		if !strings.Contains(n, "throttled") {
			out = append(out, n)
		}
	}
	return out
}

// TestTacitEveryChannelCompared: with per-address limits above what a
// scan sends, every endpoint of tacit is clean: every channel compared in
// every round, and the identifier shown to reach the application.
func TestTacitEveryChannelCompared(t *testing.T) {
	for _, mode := range []flow.Mode{flow.EmailFirst, flow.FullForm} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			limits := testenv.RoomyLimits()
			roomy := flow.Limit{Free: 1 << 20, Delay: time.Second, Window: time.Hour}
			limits.Login, limits.Signup, limits.Reset, limits.Resend = roomy, roomy, roomy, roomy
			target := knownTacitTargetWith(t, mode, limits)
			rep, err := (&scan.Scanner{Rand: rand.New(rand.NewPCG(3, 5))}).Scan(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range rep.Endpoints {
				if e.Verdict != scan.VerdictClean || len(e.Notes) > 0 {
					t.Errorf("endpoint %s: %s, notes %q\n%s", e.Name, e.Verdict, e.Notes, report(rep))
				}
			}
		})
	}
}

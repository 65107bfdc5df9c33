package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
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

// scanPasskeyFixture serves f and scans it, returning the report.
func scanPasskeyFixture(t *testing.T, f lab.Fixture, seed uint64) *scan.Report {
	t.Helper()
	srv := httptest.NewServer(f.New())
	defer srv.Close()
	target, err := scan.LoadTarget(strings.NewReader(f.Target(srv.URL)))
	if err != nil {
		t.Fatalf("%s: target: %v", f.Name, err)
	}
	s := &scan.Scanner{Client: srv.Client(), Probes: 4, Rand: rand.New(rand.NewPCG(seed, 7)), MaxWait: 1}
	rep, _ := s.Scan(context.Background(), target)
	return rep
}

// wantPasskeyChannel is the evidence channel of each leaky passkey
// fixture's one finding.
var wantPasskeyChannel = map[string]string{
	"passkey-empty":      "allowCredentials count",
	"passkey-missing":    "allowCredentials count",
	"passkey-length":     "credential id length",
	"passkey-random":     "credential id stability",
	"passkey-constant":   "credential id constancy",
	"passkey-error":      "status code",
	"passkey-transports": "credential descriptor",
}

// TestPasskeyLeaksAreFound: each way of listing credential ids that tells
// a known address from an unknown one is one USER_ENUM_PASSKEY finding on
// its own channel, whose message says what differs and whose rule says how
// to fix it (discoverable credentials, or imaginary ids from an HMAC of the
// identifier, §14.6.2–14.6.3).
func TestPasskeyLeaksAreFound(t *testing.T) {
	for _, f := range lab.PasskeyFixtures() {
		if f.Want == "" {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(3) {
				rep := scanPasskeyFixture(t, f, seed)
				if len(rep.Findings) == 0 || rules(rep)[0] != scan.RulePasskey || len(rules(rep)) != 1 || rep.Endpoints[0].Verdict != scan.VerdictLeak {
					t.Fatalf("seed %d: rules %q, want only %s:\n%s", seed, rules(rep), scan.RulePasskey, report(rep))
				}
				fd := rep.Findings[0]
				if fd.Evidence.Channel != wantPasskeyChannel[f.Name] || fd.Kind != scan.KindWebAuthnOptions || fd.Severity != scan.SeverityHigh {
					t.Errorf("seed %d: channel %q kind %s severity %s, want %q:\n%s", seed, fd.Evidence.Channel, fd.Kind, fd.Severity, wantPasskeyChannel[f.Name], report(rep))
				}
				if fd.Evidence.Known.Identifier != lab.Known || fd.Evidence.Unknown.Identifier == lab.Known || fd.Evidence.Unknown.Identifier == "" {
					t.Errorf("seed %d: evidence identifiers %q and %q", seed, fd.Evidence.Known.Identifier, fd.Evidence.Unknown.Identifier)
				}
				if f.Name != "passkey-error" && len(rep.Findings) != 1 {
					t.Errorf("seed %d: %d findings, want one:\n%s", seed, len(rep.Findings), report(rep))
				}
			}
		})
	}
}

// TestPasskeyMessages: the findings say what an attacker compares.
func TestPasskeyMessages(t *testing.T) {
	for name, want := range map[string]string{
		"passkey-empty":    "On the passkey options endpoint passkey (POST /webauthn/options), allowCredentials tells whether an account exists: 2 credential ids for a known identifier, an empty allowCredentials for every one of 13 unknown identifiers.",
		"passkey-missing":  "On the passkey options endpoint passkey (POST /webauthn/options), allowCredentials tells whether an account exists: 2 credential ids for a known identifier, no allowCredentials for every one of 13 unknown identifiers.",
		"passkey-length":   "the credential ids are 64 bytes long for a known identifier and 16 bytes for every one of the unknown identifiers",
		"passkey-random":   "a known identifier gets the same ids on every request and each of 13 unknown identifiers different ids on every request",
		"passkey-constant": "every one of 13 unknown identifiers gets the same credential ids (",
	} {
		f, _ := lab.Lookup(name)
		rep := scanPasskeyFixture(t, f, 9)
		if len(rep.Findings) != 1 || !strings.Contains(rep.Findings[0].Message, want) {
			t.Errorf("%s: want a finding saying %q:\n%s", name, want, report(rep))
		}
	}
}

// TestPasskeyCleanStaysClean: imaginary ids from an HMAC of the address
// (stable per address, varied across addresses, of the real count and
// lengths) and discoverable-only options, with or without an identifier,
// are clean, over many scans.
func TestPasskeyCleanStaysClean(t *testing.T) {
	for _, f := range lab.PasskeyFixtures() {
		if f.Want != "" || f.Verdict != "" {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(10) {
				rep := scanPasskeyFixture(t, f, 100+seed)
				e := rep.Endpoints[0]
				if len(rep.Findings) > 0 || e.Verdict != scan.VerdictClean || len(e.Notes) > 0 || e.Error != "" {
					t.Fatalf("seed %d: %s, inconclusive %q, notes %q:\n%s", seed, e.Verdict, e.Inconclusive, e.Notes, report(rep))
				}
			}
		})
	}
}

// TestPasskeyUncomparableIsInconclusive: an options endpoint that answers
// only errors, throttling or something else than request options is
// inconclusive, never clean, and has no finding.
func TestPasskeyUncomparableIsInconclusive(t *testing.T) {
	for _, f := range lab.PasskeyFixtures() {
		if f.Verdict != "inconclusive" {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			rep := scanPasskeyFixture(t, f, 1)
			e := rep.Endpoints[0]
			if len(rep.Findings) > 0 || e.Verdict != scan.VerdictInconclusive || len(e.Inconclusive) == 0 {
				t.Fatalf("%s, inconclusive %q:\n%s", e.Verdict, e.Inconclusive, report(rep))
			}
		})
	}
}

// TestPasskeyNoIdentifierShape: an endpoint that takes no identifier
// (discoverable credentials) whose options sometimes list ids and
// sometimes not cannot be vouched for.
func TestPasskeyNoIdentifierShape(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		opts := map[string]any{"challenge": strings.Repeat("c", 20+n%3), "rpId": "lab.example"}
		if n%2 == 0 {
			opts["allowCredentials"] = []map[string]string{{"type": "public-key", "id": "AAAA"}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(opts)
	}))
	defer srv.Close()
	tg := loadTarget(t, `base_url: BASE
known: [alice@lab.example]
endpoints:
  - {name: passkey, kind: webauthn_options, method: POST, path: /options}
`, srv.URL)
	rep, _ := (&scan.Scanner{Client: srv.Client(), Probes: 4, Rand: rand.New(rand.NewPCG(1, 2))}).Scan(context.Background(), tg)
	e := rep.Endpoints[0]
	if e.Verdict != scan.VerdictInconclusive || !strings.Contains(strings.Join(e.Inconclusive, " "), "varied in shape between identical requests") {
		t.Fatalf("%s, inconclusive %q:\n%s", e.Verdict, e.Inconclusive, report(rep))
	}
}

// TestPasskeyHostileIDs: credential ids with terminal escapes are printed
// escaped in the text and HTML reports, and stay intact in JSON.
func TestPasskeyHostileIDs(t *testing.T) {
	const evil = "\x1b]0;pwned\x07\x1b[2J<script>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Email string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		id := evil
		if in.Email == lab.Known {
			id = "real-credential-id-" + strings.Repeat("A", 40)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"challenge": "c" + strings.Repeat("x", 10),
			"allowCredentials": []map[string]string{{"type": "public-key", "id": id}}})
	}))
	defer srv.Close()
	tg := loadTarget(t, `base_url: BASE
known: [alice@lab.example]
endpoints:
  - {name: passkey, kind: webauthn_options, path: /options, json: {email: "{{identifier}}"}}
`, srv.URL)
	rep, _ := (&scan.Scanner{Client: srv.Client(), Probes: 3, Rand: rand.New(rand.NewPCG(1, 2))}).Scan(context.Background(), tg)
	if len(rep.Findings) == 0 || rules(rep)[0] != scan.RulePasskey {
		t.Fatalf("no finding:\n%s", report(rep))
	}
	for name, write := range map[string]func(*bytes.Buffer, *scan.Report) error{
		"text": func(b *bytes.Buffer, r *scan.Report) error { return scanreport.WriteText(b, r) },
		"html": func(b *bytes.Buffer, r *scan.Report) error { return scanreport.WriteHTML(b, r) },
	} {
		var b bytes.Buffer
		if err := write(&b, rep); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(b.String(), "\x1b\x07") || (name == "html" && strings.Contains(b.String(), "<script>")) {
			t.Errorf("%s report prints the target's escapes as they came", name)
		}
	}
}

// TestPasskeyInEveryFormat: a USER_ENUM_PASSKEY finding shows in the text,
// JSON, SARIF and HTML reports, with its rule's remediation.
func TestPasskeyInEveryFormat(t *testing.T) {
	f, _ := lab.Lookup("passkey-random")
	rep := scanPasskeyFixture(t, f, 4)
	r, _ := scan.RuleByID(scan.RulePasskey)
	for name, write := range map[string]func(*bytes.Buffer, *scan.Report) error{
		"text":  func(b *bytes.Buffer, r *scan.Report) error { return scanreport.WriteText(b, r) },
		"json":  func(b *bytes.Buffer, r *scan.Report) error { return scanreport.WriteJSON(b, r) },
		"sarif": func(b *bytes.Buffer, r *scan.Report) error { return scanreport.WriteSARIF(b, r) },
		"html":  func(b *bytes.Buffer, r *scan.Report) error { return scanreport.WriteHTML(b, r) },
	} {
		var b bytes.Buffer
		if err := write(&b, rep); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !strings.Contains(out, scan.RulePasskey) || !strings.Contains(out, "different ids on every request") {
			t.Errorf("%s report lacks the finding:\n%s", name, out)
		}
		if name == "text" && !strings.Contains(out, "\n  passkey          webauthn_options POST   /webauthn/options              44 probes  leak: 1 finding\n") {
			t.Errorf("the text report's endpoint table is not aligned:\n%s", out)
		}
		if name != "json" && !strings.Contains(out, "HMAC") {
			t.Errorf("%s report lacks the remediation %q", name, r.Remediation)
		}
	}
	for _, want := range []string{"§14.6.2 and §14.6.3", "discoverable credentials", "HMAC", "normalised identifier", "Re-run the scan"} {
		if !strings.Contains(r.Remediation, want) {
			t.Errorf("the remediation lacks %q", want)
		}
	}
}

// TestPasskeyTargetNeedsNoIdentifier: a webauthn_options endpoint may
// take no identifier; any other kind still must.
func TestPasskeyTargetNeedsNoIdentifier(t *testing.T) {
	for kind, ok := range map[string]bool{"webauthn_options": true, "login": false} {
		_, err := scan.LoadTarget(strings.NewReader("base_url: http://127.0.0.1:1\nknown: [a@b.example]\nendpoints:\n  - {name: x, kind: " + kind + ", method: POST, path: /o}\n"))
		if (err == nil) != ok {
			t.Errorf("kind %s: err %v", kind, err)
		}
	}
	if !slices.Contains(strings.Split(strings.TrimSpace(mustErr(t)), ", "), "webauthn_options") {
		t.Error("the kinds listed on a mistake lack webauthn_options")
	}
}

func mustErr(t *testing.T) string {
	_, err := scan.LoadTarget(strings.NewReader("base_url: http://127.0.0.1:1\nknown: [a@b.example]\nendpoints:\n  - {name: x, kind: nope, path: /o}\n"))
	if err == nil {
		t.Fatal("kind nope accepted")
	}
	_, list, _ := strings.Cut(err.Error(), "want one of ")
	return list
}

// TestDiscoverHARPasskeyOptions: a recorded POST answered with WebAuthn
// request options is a webauthn_options endpoint, with its identifier
// field ({"username": …}) or with none (a POST with no body); the target
// written from the recording finds the lab's leak, and the discoverable
// endpoint scans clean.
func TestDiscoverHARPasskeyOptions(t *testing.T) {
	leaky, _ := lab.Lookup("passkey-random")
	open, _ := lab.Lookup("passkey-discoverable")
	mux := http.NewServeMux()
	mux.Handle("/webauthn/options", leaky.New())
	discoverable := open.New()
	mux.Handle("/discoverable/webauthn/options", http.StripPrefix("/discoverable", discoverable))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	type entry = map[string]any
	var entries []entry
	record := func(path, body string) {
		resp, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		req := entry{"method": "POST", "url": srv.URL + path, "headers": []any{}}
		if body != "" {
			req["postData"] = entry{"mimeType": "application/json", "text": body}
		}
		entries = append(entries, entry{"request": req, "response": entry{"status": resp.StatusCode, "headers": []any{},
			"content": entry{"mimeType": "application/json", "text": b.String()}}})
	}
	record("/webauthn/options", `{"username":"alice@lab.example"}`)
	record("/discoverable/webauthn/options", "")
	har, _ := json.Marshal(entry{"log": entry{"entries": entries}})
	disc, err := scan.DiscoverHAR(bytes.NewReader(har))
	if err != nil {
		t.Fatal(err)
	}
	if got := formSummary(disc); !slices.Equal(got, []string{"webauthn_options /webauthn/options", "webauthn_options /discoverable/webauthn/options"}) {
		t.Fatalf("forms %q", got)
	}
	text := disc.TargetFile("passkey.har", []string{lab.Known})
	rep := scanText(t, text, 4)
	if len(rep.Findings) != 1 || rep.Findings[0].Rule != scan.RulePasskey || rep.Findings[0].Endpoint != "webauthn_options" ||
		rep.Endpoints[1].Verdict != scan.VerdictClean {
		t.Fatalf("target:\n%s\nreport:\n%s", text, report(rep))
	}
}

// TestPasskeyKeepsHistoryEven: the passkey analysis's extra probes go to
// every identifier of the scan alike, so the known address and its
// partner and controls have been sent the same number of requests when
// the checks that follow (lockout and rate-limit onsets) count them; the
// ten extra unknown addresses get two each.
func TestPasskeyKeepsHistoryEven(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Email string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		counts[in.Email]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"publicKey": map[string]any{"challenge": strings.Repeat("x", 10), "allowCredentials": []any{}}})
	}))
	defer srv.Close()
	tg := loadTarget(t, `base_url: BASE
known: [alice@lab.example]
endpoints:
  - {name: passkey, kind: webauthn_options, path: /options, json: {email: "{{identifier}}"}}
`, srv.URL)
	rep, _ := (&scan.Scanner{Client: srv.Client(), Probes: 4, Rand: rand.New(rand.NewPCG(3, 4))}).Scan(context.Background(), tg)
	byCount := map[int]int{}
	for _, n := range counts {
		byCount[n]++
	}
	if counts[lab.Known] != 6 || byCount[6] != 4 || byCount[2] != 10 || len(byCount) != 2 || rep.Endpoints[0].Verdict != scan.VerdictClean {
		t.Fatalf("requests per address %v (known %d), verdict %s; want 6 for the known address, its partner and the controls, 2 for ten more",
			byCount, counts[lab.Known], rep.Endpoints[0].Verdict)
	}
}

// TestPasskeyFrameworkAdvice: a framework's general advice (Devise's
// config.paranoid) is no fix for a passkey library's allowCredentials, so
// a USER_ENUM_PASSKEY finding gets none; tacit's own says what tacit does.
func TestPasskeyFrameworkAdvice(t *testing.T) {
	if a := scan.FrameworkAdvice("Rails (Devise)", scan.RulePasskey, scan.KindWebAuthnOptions); a != "" {
		t.Errorf("Devise advice on a passkey finding: %q", a)
	}
	if a := scan.FrameworkAdvice("Rails (Devise)", scan.RulePasswordReset, scan.KindReset); !strings.Contains(a, "paranoid") {
		t.Errorf("Devise advice on a reset finding: %q", a)
	}
	if a := scan.FrameworkAdvice("tacit", scan.RulePasskey, scan.KindWebAuthnOptions); !strings.Contains(a, "empty allowCredentials") {
		t.Errorf("tacit advice on a passkey finding: %q", a)
	}
}

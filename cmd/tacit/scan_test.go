package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
)

// scanFixtures are the lab applications the scan scripts scan, by the
// name of the target file the setup writes for each.
var scanFixtures = map[string]string{
	"leaky.yaml":  "message",    // USER_ENUM_RESPONSE_CONTENT, high
	"medium.yaml": "header",     // USER_ENUM_HEADERS, medium
	"clean.yaml":  "clean-json", // nothing to find
	"slow.yaml":   "slow-known", // USER_ENUM_TIMING, with --timing only
	"lock.yaml":   "lockout",    // USER_ENUM_LOCKOUT, with --state only
	// The state fixtures: an account made by the first sign-up, an
	// identifier the application never sees, escapes for the terminal,
	// and a server that fails now and then.
	"taken.yaml":   "register-taken", // USER_ENUM_REGISTER
	"ignored.yaml": "ignored-field",  // inconclusive
	"hostile.yaml": "hostile",        // USER_ENUM_RESPONSE_CONTENT, in escapes
	"errors.yaml":  "errors-some",    // inconclusive
	// Passkey sign-in options: ids drawn anew for unknown addresses, and
	// imaginary ids from an HMAC of the address.
	"passkey.yaml":      "passkey-random", // USER_ENUM_PASSKEY
	"passkey-hmac.yaml": "passkey-hmac",   // nothing to find
}

// TestScanScripts runs the scan scenarios in testdata/script/scan. Each
// script gets lab applications on loopback ports, their target files in
// $WORK, their URLs as LEAKY_URL, MEDIUM_URL, CLEAN_URL, SLOW_URL,
// LOCK_URL and ORDER_URL (an HTTP/2 server), and DEAD_URL, where nothing
// listens.
func TestScanScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script/scan",
		RequireExplicitExec: true,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"exits": cmdExits},
		Setup:               setupLab,
	})
}

func setupLab(env *testscript.Env) error {
	for file, name := range scanFixtures {
		f, ok := lab.Lookup(name)
		if !ok {
			return errors.New("no lab fixture " + name)
		}
		srv := httptest.NewServer(f.New())
		env.Defer(srv.Close)
		env.Setenv(strings.ToUpper(strings.TrimSuffix(file, ".yaml"))+"_URL", srv.URL)
		if err := os.WriteFile(filepath.Join(env.WorkDir, file), []byte(f.Target(srv.URL)), 0o644); err != nil {
			return err
		}
	}
	// The framework imitations, for discovery: SITE_ALLAUTH_URL,
	// SITE_DEVISE_URL, SITE_WORDPRESS_URL.
	for _, site := range lab.Sites() {
		srv := httptest.NewServer(site.New())
		env.Defer(srv.Close)
		env.Setenv(strings.ToUpper(strings.ReplaceAll(site.Name, "-", "_"))+"_URL", srv.URL)
	}
	// The order test needs HTTP/2: the sign-in 5ms slower for the known
	// address, in clear-text HTTP/2 (h2c).
	slow := lab.SlowKnown(5 * time.Millisecond)
	order := lab.ServeHTTP2(slow, false)
	env.Defer(order.Close)
	env.Setenv("ORDER_URL", order.URL)
	if err := os.WriteFile(filepath.Join(env.WorkDir, "order.yaml"), []byte(slow.Target(order.URL)), 0o644); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	env.Setenv("DEAD_URL", dead)
	for file, target := range map[string]string{
		// Nothing listens at the base URL.
		"dead.yaml": `base_url: ` + dead + `
known: [alice@lab.example]
endpoints:
  - {name: login, kind: login, path: /api/login, json: {email: "{{identifier}}", password: "{{password}}"}}
`,
		// The second endpoint's before step looks for a CSRF token the
		// page does not have, so that endpoint cannot be scanned.
		"partial.yaml": `base_url: ` + env.Getenv("LEAKY_URL") + `
known: [alice@lab.example]
endpoints:
  - {name: login, kind: login, path: /api/login, json: {email: "{{identifier}}", password: "{{password}}"}}
  - name: form-login
    kind: login
    path: /api/login
    form: {csrf_token: "{{csrf}}", email: "{{identifier}}"}
    before:
      - {path: /api/login, extract: {csrf: {input: csrf_token}}}
`,
	} {
		if err := os.WriteFile(filepath.Join(env.WorkDir, file), []byte(target), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// tacitServe runs "tacit serve" in this process with fast hashing and the
// per-client throttle rules off (every probe comes from 127.0.0.1; the
// per-address rules, which must treat every address alike, stay on), and
// returns its URL. The per-address rules let each address through more
// often than the scan sends it (ciLimits): a throttled answer never reached
// the account logic, so an endpoint whose every identifier is throttled
// (the second endpoint of a kind, after the first used up the budget)
// cannot be called clean.
func tacitServe(t *testing.T, more ...string) string {
	t.Helper()
	return tacitServeAt(t, freeAddr(t), more...)
}

// tacitServePasskeys is tacitServe with passkeys on: a base URL whose host
// is a name (localhost), which WebAuthn needs; the URL returned uses it.
func tacitServePasskeys(t *testing.T, more ...string) string {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	base := "http://localhost:" + port
	tacitServeAt(t, addr, append([]string{"TACIT_BASE_URL", base}, more...)...)
	return base
}

// tacitServeAt is tacitServe on addr.
func tacitServeAt(t *testing.T, addr string, more ...string) string {
	t.Helper()
	var stderr lockedBuffer
	getenv := fastEnv(filepath.Join(t.TempDir(), "data"), append(append([]string{
		"TACIT_LIMIT_LOGIN_IP", "off", "TACIT_LIMIT_REQUESTS_IP", "off", "TACIT_LIMIT_RESET_SUBMIT_IP", "off",
	}, ciLimits...), more...)...)
	stop := startServe(t, addr, getenv, &stderr)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v\n%s", err, stderr.String())
		}
	})
	return "http://" + addr
}

// ciLimits are the per-address throttle rules of CI's scan of tacit
// (.ci/run sets the same): above the 12 or so requests a scan sends each
// address on the two endpoints of a kind, with the waits and locks of the
// defaults past that.
var ciLimits = []string{
	"TACIT_LIMIT_LOGIN", "free=50 delay=1m max_delay=1m lock=100 lock_for=15m window=1h",
	"TACIT_LIMIT_SIGNUP", "free=50 delay=30s max_delay=15m lock=100 lock_for=1h window=1h",
	"TACIT_LIMIT_RESET", "free=50 delay=30s max_delay=15m lock=100 lock_for=1h window=1h",
	"TACIT_LIMIT_RESEND", "free=50 delay=30s max_delay=15m lock=100 lock_for=1h window=1h",
}

// TestScanPresetTacit is CI's scan of tacit, in process: "tacit scan
// --preset tacit" against "tacit serve" in both sign-up modes, with
// passkeys on (a base URL on localhost), must sign up its own account,
// scan every endpoint, the passkey sign-in's options included, and find
// nothing.
func TestScanPresetTacit(t *testing.T) {
	for _, mode := range []string{"email_first", "full_form"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			base := tacitServePasskeys(t, "TACIT_REGISTRATION_MODE", mode)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"scan", "--preset", "tacit", "--format", "json", base}, env(), &stdout, &stderr)
			if code := exitCode(err, &stderr); code != 0 {
				t.Fatalf("exit status %d\nstderr: %s\nstdout: %s", code, stderr.String(), stdout.String())
			}
			var rep struct {
				Target    string
				Endpoints []scan.EndpointResult
				Findings  []scan.Finding
			}
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range rep.Endpoints {
				names = append(names, e.Name)
				if e.Error != "" || len(e.Notes) > 0 || len(e.Unstable) > 0 || e.Probes < 24 || e.Verdict != scan.VerdictClean {
					t.Errorf("endpoint %s: %s, %d probes, error %q, notes %q, unstable %q, inconclusive %q", e.Name, e.Verdict, e.Probes, e.Error, e.Notes, e.Unstable, e.Inconclusive)
				}
			}
			if got := strings.Join(names, " "); rep.Target != base || got != "api-login api-register api-forgot api-resend login register forgot api-passkey-options" || len(rep.Findings) != 0 {
				t.Errorf("scanned %s: endpoints %s, %d findings", rep.Target, got, len(rep.Findings))
			}
			// Off a terminal, stderr gets only a progress line every few
			// seconds.
			if other := progressLine.ReplaceAllString(stderr.String(), ""); other != "" {
				t.Errorf("stderr not quiet off a terminal: %q", other)
			}
		})
	}
}

// TestScanPresetDefaultLimits is the README's scan of a "tacit serve" with
// its default limits: they throttle one machine's scan, so some endpoints
// cannot be compared. The scan must say so (exit 2), name the settings to
// change while scanning, and report nothing as a leak: a known address
// throttled by its own count and a new one throttled by the client's
// differ in Retry-After, which is not the account's doing.
func TestScanPresetDefaultLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("paces a scan by Retry-After")
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	base := "http://localhost:" + port // passkeys on: their options are scanned too
	var serveErr lockedBuffer
	stop := startServe(t, addr, fastEnv(filepath.Join(t.TempDir(), "data"), "TACIT_BASE_URL", base), &serveErr)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v\n%s", err, serveErr.String())
		}
	}()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"scan", "--preset", "tacit", "--format", "json", base}, env(), &stdout, &stderr)
	var rep struct {
		Endpoints []scan.EndpointResult
		Findings  []scan.Finding
	}
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
		t.Fatalf("%v\n%s", jerr, stdout.String())
	}
	if code := exitCode(err, &stderr); code != 2 || !strings.Contains(stderr.String(), "tacit's limits throttled") ||
		!strings.Contains(stderr.String(), "serve while scanning with TACIT_LIMIT_LOGIN_IP=off") {
		t.Errorf("exit status %d, stderr:\n%s", code, stderr.String())
	}
	for _, f := range rep.Findings {
		t.Errorf("finding on tacit: %s on %s: %s", f.Rule, f.Endpoint, f.Message)
	}
	if n := len(rep.Endpoints); n != 8 || rep.Endpoints[n-1].Name != "api-passkey-options" {
		t.Errorf("%d endpoints; the passkey options endpoint was not scanned", n)
	}
}

// progressLine matches the progress lines "tacit scan" writes to stderr
// off a terminal.
var progressLine = regexp.MustCompile(`(?m)^tacit scan: \d+/\d+ probes \(\d+%\), [^\n]* elapsed(, about [^\n]* left at most)?\n`)

// TestScanPresetPrintTarget: --print-target shows the target with the
// address the scan would sign up, in the server's sign-up mode, and
// changes nothing on the server.
func TestScanPresetPrintTarget(t *testing.T) {
	base := tacitServe(t, "TACIT_REGISTRATION_MODE", "full_form")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"scan", "--preset", "tacit", "--print-target", base + "/"}, env(), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	text := stdout.String()
	m := regexp.MustCompile(`(?m)^known: \["(scan-[a-z2-7]{12}@tacit-scan\.example)"\]$`).FindStringSubmatch(text)
	if m == nil || !strings.HasPrefix(text, "# tacit scan --preset tacit: a tacit server (registration_mode full_form).\nbase_url: \""+base+"\"\n") {
		t.Fatalf("target:\n%s", text)
	}
	target, err := scan.LoadTarget(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(target.Endpoints) != 7 || target.Endpoints[1].JSON == nil || target.Endpoints[5].Form[3].Name != "password_confirm" {
		t.Errorf("endpoints %d; the sign-up endpoints do not send the full form:\n%s", len(target.Endpoints), text)
	}
	resp, err := http.Get(base + "/_dev/mailbox")
	if err != nil {
		t.Fatal(err)
	}
	box, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(box)) != "[]" {
		t.Errorf("--print-target signed up an account; mailbox: %s", box)
	}
}

// TestScanPresetWithoutMailbox: a tacit server that sends mail by SMTP
// has no dev mailbox, so the scan cannot make its account and says how to
// name one.
func TestScanPresetWithoutMailbox(t *testing.T) {
	smtpAddr := startSMTP(t, &smtpInbox{})
	base := tacitServe(t, "TACIT_MAIL", "smtp", "TACIT_SMTP_URL", "smtp://"+smtpAddr)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"scan", "--preset", "tacit", base}, env(), &stdout, &stderr)
	want := "tacit: " + base + ": the dev mailbox is off (GET /_dev/mailbox answered 404), so the scan cannot sign up an account of its own; name one with --known ADDRESS\n"
	if code := exitCode(err, &stderr); code != 2 || stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("exit %d, stderr %q, stdout %q; want 2, %q", code, stderr.String(), stdout.String(), want)
	}
}

// TestIsTerminal: the progress bar goes to a terminal only, never into a
// file, a pipe or a CI log.
func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(f) || isTerminal(w) || isTerminal(&bytes.Buffer{}) {
		t.Error("a file, a pipe or a buffer taken for a terminal")
	}
}

// TestPresetTargetPassword: the preset's target gives the password of the
// account it signed up (or of --known ADDRESS:PASSWORD), so the scan
// checks that the sign-in endpoints sign it in; without one, the plain
// form.
func TestPresetTargetPassword(t *testing.T) {
	for _, k := range []knownAccount{{id: "a@x.example", password: `p"w: \x`}, {id: "a@x.example"}} {
		target, err := scan.LoadTarget(strings.NewReader(tacitTarget("http://127.0.0.1:1", k, true, false)))
		if err != nil {
			t.Fatal(err)
		}
		if len(target.Known) != 1 || target.Known[0] != k.id || target.Passwords[k.id] != k.password {
			t.Errorf("known %q, passwords %q; want %s with %q", target.Known, target.Passwords, k.id, k.password)
		}
	}
}

// TestPresetTargetPasskeys: with passkeys on, the preset's target scans the
// passkey sign-in's options too, with no body and no identifier; with them
// off it says so and leaves the endpoint out.
func TestPresetTargetPasskeys(t *testing.T) {
	for _, on := range []bool{true, false} {
		text := tacitTarget("http://localhost:1", knownAccount{id: "a@x.example"}, false, on)
		target, err := scan.LoadTarget(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		last := target.Endpoints[len(target.Endpoints)-1]
		got := last.Kind == scan.KindWebAuthnOptions && last.Method == "POST" && last.Path == passkeyOptionsPath && last.JSON == nil && last.Form == nil
		if got != on || len(target.Endpoints) != map[bool]int{true: 8, false: 7}[on] || on == strings.Contains(text, "passkeys are off") {
			t.Errorf("passkeys %v: target\n%s", on, text)
		}
	}
}

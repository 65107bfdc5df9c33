package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// guardedApp is what every documented proxy configuration must do, run
// through the proxy at front, which guards the application of startApp
// with the real tacit behind it: a signed-out browser is sent to sign in on
// the proxy's host and back, and the sign-in page it lands on is tacit's;
// an API call gets 401 and never reaches the application; a session made by
// signing in through the proxy passes, and the application learns who it
// is from X-Tacit-Email and X-Tacit-Account-Id, which a client cannot forge;
// a session ended from another device, or signed out, stops passing.
func guardedApp(t *testing.T, proxy, front string, tacit *server) {
	t.Helper()
	email, password := proxy+"@example.com", proxy+" password 1"
	signUp(t, tacit, email, password)
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	do := func(method, path, accept string, cookie *http.Cookie, header map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, front+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	get := func(path, accept string, cookie *http.Cookie) (*http.Response, string) {
		t.Helper()
		return do(http.MethodGet, path, accept, cookie, nil)
	}
	const page = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

	// Signed out: a browser is sent to sign in, on the proxy's host, and
	// back.
	resp, _ := get("/reports?year=2026", page, nil)
	want := front + "/login?next=" + url.QueryEscape(front+"/reports?year=2026")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Fatalf("%s, signed-out browser: %d to %q, want 302 to %q", proxy, resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// The sign-in page it is sent to is tacit's, served through the
	// proxy, and keeps the way back.
	resp, body := get(strings.TrimPrefix(want, front), page, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="next" value="`+front+`/reports?year=2026"`) {
		t.Fatalf("%s, sign-in page: %d, next kept: %v", proxy, resp.StatusCode, strings.Contains(body, `name="next"`))
	}
	// Signed out: an API call gets 401, and the application never sees it.
	if resp, body := get("/api-of-the-app/orders", "application/json", nil); resp.StatusCode != http.StatusUnauthorized ||
		resp.Header.Get("Location") != "" || strings.HasPrefix(body, "app:") {
		t.Fatalf("%s, signed-out API call: %d Location %q %q, want 401 without one", proxy, resp.StatusCode, resp.Header.Get("Location"), body)
	}

	// Signing in through the proxy gives a session that passes.
	signIn := func() *http.Cookie {
		t.Helper()
		lr, err := c.Post(front+"/api/login", "application/json",
			strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)))
		if err != nil {
			t.Fatal(err)
		}
		lr.Body.Close()
		for _, ck := range lr.Cookies() {
			if ck.Name == "tacit_session" {
				return ck
			}
		}
		t.Fatalf("%s, sign-in: %d without a session cookie", proxy, lr.StatusCode)
		return nil
	}
	thief, owner := signIn(), signIn()
	_, sess := get("/api/session", "application/json", owner)
	var who struct {
		Account struct{ ID int64 } `json:"account"`
	}
	if err := json.Unmarshal([]byte(sess), &who); err != nil || who.Account.ID == 0 {
		t.Fatalf("%s, GET /api/session: %q %v", proxy, sess, err)
	}
	identity := fmt.Sprintf(" for %s #%d", email, who.Account.ID)
	for _, ck := range []*http.Cookie{owner, thief} {
		resp, body = get("/reports?year=2026", page, ck)
		if resp.StatusCode != http.StatusOK || body != "app: /reports?year=2026"+identity {
			t.Fatalf("%s, signed-in browser: %d %q, want 200 from the application%s", proxy, resp.StatusCode, body, identity)
		}
	}
	// A client cannot name itself to the application: the proxy replaces
	// the identity headers with tacit's.
	forged := map[string]string{"X-Tacit-Email": "boss@example.com", "X-Tacit-Account-Id": "1"}
	if _, body := do(http.MethodGet, "/x", "", owner, forged); body != "app: /x"+identity {
		t.Fatalf("%s, with forged identity headers: %q", proxy, body)
	}
	// Nor without a session: it is refused before the application.
	if resp, body := do(http.MethodGet, "/x", "", nil, forged); resp.StatusCode != http.StatusUnauthorized || strings.HasPrefix(body, "app:") {
		t.Fatalf("%s, forged identity headers without a session: %d %q", proxy, resp.StatusCode, body)
	}
	// On a public host (the proxy's, named localhost: tacitEnv's rule)
	// the application gets no identity, and none a client sends either.
	u, _ := url.Parse(front)
	req, _ := http.NewRequest(http.MethodGet, front+"/x", nil)
	req.Host = "localhost:" + u.Port()
	for k, v := range forged {
		req.Header.Set(k, v)
	}
	if resp, err := c.Do(req); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "app: /x for  #" {
			t.Fatalf("%s, public host with forged identity headers: %d %q", proxy, resp.StatusCode, body)
		}
	}

	// The owner ends every other session: the thief's stops passing at
	// once (through this instance), and the owner's still passes.
	if resp, _ := do(http.MethodDelete, "/api/sessions", "", owner, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("%s, ending the other sessions: %d", proxy, resp.StatusCode)
	}
	if resp, _ := get("/reports", "application/json", thief); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("%s, an ended session: %d, want 401", proxy, resp.StatusCode)
	}
	if resp, _ := get("/reports", page, thief); resp.StatusCode != http.StatusFound {
		t.Fatalf("%s, an ended session in a browser: %d, want 302", proxy, resp.StatusCode)
	}
	if resp, body := get("/reports", page, owner); resp.StatusCode != http.StatusOK || body != "app: /reports"+identity {
		t.Fatalf("%s, the owner's session after ending the others: %d %q", proxy, resp.StatusCode, body)
	}
	// Signed out: the owner's session no longer passes either.
	if resp, _ := do(http.MethodPost, "/api/logout", "", owner, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("%s, sign-out: %d", proxy, resp.StatusCode)
	}
	if resp, _ := get("/reports", "application/json", owner); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("%s, after sign-out: %d, want 401", proxy, resp.StatusCode)
	}
}

// tacitEnv is the settings of the tacit behind a proxy test: a cheap hash,
// no envelope, and the rules guardedApp expects: the proxy's host,
// 127.0.0.1, needs a session; named localhost it is public.
var tacitEnv = []string{"TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s",
	"TACIT_FORWARD_AUTH_HOSTS=127.0.0.1=session,localhost=public"}

// freeAddr returns a loopback address with a port free at the time.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// documented reads a configuration of docs/forward-auth and puts the
// test's addresses in place of the documented ones, each of which must be
// there.
func documented(t *testing.T, name string, repl map[string]string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "docs", "forward-auth", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	for old, new := range repl {
		if !strings.Contains(s, old) {
			t.Fatalf("docs/forward-auth/%s no longer has %q", name, old)
		}
		s = strings.ReplaceAll(s, old, new)
	}
	return s
}

// runProxy starts a proxy and waits until GET front+"/login" is answered
// by tacit through it (the proxy listens and has loaded its routes).
func runProxy(t *testing.T, name, front string, cmd *exec.Cmd, logs func() string) {
	t.Helper()
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s:\n%s%s", name, out, logs())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(front + "/login")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `name="password"`) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not serve tacit's sign-in page at %s: %v\n%s%s", name, front, err, out, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCaddyForwardAuth runs Debian's Caddy with the documented
// configuration, docs/forward-auth/Caddyfile, on loopback ports in front of
// a tiny application and a real tacit (guardedApp).
func TestCaddyForwardAuth(t *testing.T) {
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy is not installed (apt-get install caddy): skipping the Caddy forward-auth test")
	}
	tacit := startServer(t, tacitEnv...)
	logOnFailure(t, tacit)
	app := startApp(t)
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	site := documented(t, "Caddyfile", map[string]string{
		"app.example.com {": "http://" + addr + ", http://localhost:" + port + " {",
		"127.0.0.1:4455":    strings.TrimPrefix(tacit.URL, "http://"),
		"127.0.0.1:3000":    app,
	})
	dir := t.TempDir()
	// No admin endpoint (its default port is shared by every Caddy on the
	// machine), no automatic HTTPS, and Caddy's state in the test's
	// directory.
	conf := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s\n}\n\n%s", filepath.Join(dir, "data"), site)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, caddy, "run", "--adapter", "caddyfile", "--config", path)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	front := "http://" + addr
	runProxy(t, "caddy", front, cmd, func() string { return "" })

	guardedApp(t, "caddy", front, tacit)
}

// traefikInstall is how to get the traefik binary TestTraefikForwardAuth
// runs (Traefik is not packaged by Debian).
const traefikInstall = "see docs/FORWARD-AUTH.md, Traefik"

// TestTraefikForwardAuth runs Traefik with the documented dynamic
// configuration, docs/forward-auth/traefik.yml, on loopback ports in front
// of a tiny application and a real tacit (guardedApp). It needs a traefik
// binary on PATH; without one it skips, saying so.
func TestTraefikForwardAuth(t *testing.T) {
	traefik, err := exec.LookPath("traefik")
	if err != nil {
		t.Skip("traefik is not installed (" + traefikInstall + "): skipping the Traefik forward-auth test")
	}
	tacit := startServer(t, tacitEnv...)
	logOnFailure(t, tacit)
	app := startApp(t)
	addr := freeAddr(t)
	dynamic := documented(t, "traefik.yml", map[string]string{
		"Host(`app.example.com`)": "(Host(`127.0.0.1`) || Host(`localhost`))",
		"127.0.0.1:4455":          strings.TrimPrefix(tacit.URL, "http://"),
		"127.0.0.1:3000":          app,
	})
	dir := t.TempDir()
	dynPath := filepath.Join(dir, "dynamic.yml")
	if err := os.WriteFile(dynPath, []byte(dynamic), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "traefik.log")
	static := fmt.Sprintf(`entryPoints:
  web:
    address: %q
providers:
  file:
    filename: %q
    watch: false
log:
  level: INFO
  filePath: %q
global:
  checkNewVersion: false
  sendAnonymousUsage: false
`, addr, dynPath, logPath)
	staticPath := filepath.Join(dir, "traefik.yml")
	if err := os.WriteFile(staticPath, []byte(static), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, traefik, "--configFile="+staticPath)
	cmd.Dir = dir
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	front := "http://" + addr
	runProxy(t, "traefik", front, cmd, func() string { b, _ := os.ReadFile(logPath); return string(b) })

	guardedApp(t, "traefik", front, tacit)
}

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNginxForwardAuth runs Debian's nginx with the documented
// configuration, docs/forward-auth/nginx.conf, on loopback ports in front
// of a tiny application and a real tacit: a signed-in browser reaches the
// application, which learns who it is; a signed-out browser is sent to
// sign in on the application's host and back; an API call gets 401.
func TestNginxForwardAuth(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/sbin/nginx"} {
			if _, err := os.Stat(p); err == nil {
				nginx = p
			}
		}
	}
	if nginx == "" {
		t.Skip("nginx is not installed (apt-get install nginx-light): skipping the nginx forward-auth test")
	}
	tacit := startServer(t, "TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s")
	logOnFailure(t, tacit)
	app := startApp(t)
	front := startNginx(t, nginx, strings.TrimPrefix(tacit.URL, "http://"), app)

	const email, password = "nginx@example.com", "nginx password 1"
	signUp(t, tacit, email, password)
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	get := func(path, accept string, cookie *http.Cookie) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, front+path, nil)
		req.Header.Set("Accept", accept)
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

	// Signed out: a browser is sent to sign in, on nginx's host, and back.
	resp, _ := get("/reports?year=2026", "text/html", nil)
	want := front + "/login?next=" + url.QueryEscape(front+"/reports?year=2026")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Fatalf("signed-out browser: %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// The sign-in page it is sent to is tacit's, served through nginx,
	// and keeps the way back.
	resp, body := get(strings.TrimPrefix(want, front), "text/html", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="next" value="`+front+`/reports?year=2026"`) {
		t.Fatalf("sign-in page through nginx: %d, next kept: %v", resp.StatusCode, strings.Contains(body, `name="next"`))
	}
	// Signed out: an API call gets 401, and the application never sees it.
	if resp, _ := get("/api-of-the-app/orders", "application/json", nil); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
		t.Fatalf("signed-out API call: %d Location %q, want 401 without one", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Signing in through nginx gives a session that passes.
	loginBody := strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password))
	lr, err := c.Post(front+"/api/login", "application/json", loginBody)
	if err != nil {
		t.Fatal(err)
	}
	lr.Body.Close()
	var cookie *http.Cookie
	for _, ck := range lr.Cookies() {
		if ck.Name == "tacit_session" {
			cookie = ck
		}
	}
	if lr.StatusCode != http.StatusOK || cookie == nil {
		t.Fatalf("sign-in through nginx: %d, session cookie %v", lr.StatusCode, cookie)
	}
	resp, body = get("/reports?year=2026", "text/html", cookie)
	if resp.StatusCode != http.StatusOK || body != "app: /reports?year=2026 for "+email {
		t.Fatalf("signed-in browser: %d %q, want 200 from the application, for %s", resp.StatusCode, body, email)
	}
	// A client cannot name itself to the application: nginx replaces
	// the identity header with tacit's.
	req, _ := http.NewRequest(http.MethodGet, front+"/x", nil)
	req.AddCookie(cookie)
	req.Header.Set("X-Tacit-Email", "boss@example.com")
	if r, err := c.Do(req); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if string(b) != "app: /x for "+email {
			t.Fatalf("with a forged X-Tacit-Email: %q", b)
		}
	}

	// Signed out again: the session no longer passes.
	req, _ = http.NewRequest(http.MethodPost, front+"/api/logout", nil)
	req.AddCookie(cookie)
	if r, err := c.Do(req); err != nil || r.StatusCode != http.StatusNoContent {
		t.Fatalf("sign-out through nginx: %v %v", r, err)
	}
	if resp, _ := get("/reports", "application/json", cookie); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after sign-out: %d, want 401", resp.StatusCode)
	}
}

// startApp serves the tiny application nginx guards: it says which path
// it was asked for and for whom (X-Tacit-Email, from nginx).
func startApp(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "app: %s for %s", r.URL.RequestURI(), r.Header.Get("X-Tacit-Email"))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// startNginx runs nginx in the foreground with the documented server block,
// its addresses replaced by the test's, and returns its base URL.
func startNginx(t *testing.T, nginx, tacitAddr, appAddr string) string {
	doc, err := os.ReadFile("../docs/forward-auth/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	server := string(doc)
	for old, repl := range map[string]string{
		"listen 80;":     "listen " + addr + ";",
		"127.0.0.1:4455": tacitAddr,
		"127.0.0.1:3000": appAddr,
	} {
		if !strings.Contains(server, old) {
			t.Fatalf("docs/forward-auth/nginx.conf no longer has %q", old)
		}
		server = strings.ReplaceAll(server, old, repl)
	}
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, who cannot use the
		// test's private directory.
		user = "user root;"
	}
	conf := fmt.Sprintf(`daemon off;
%[3]s
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[2]s
}
`, dir, server, user)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, nginx, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// SIGTERM makes the master stop its workers too; a killed master
	// would leave them holding the output pipe.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx:\n%s%s", out, log)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not listen on %s: %v\n%s%s", addr, err, out, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
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
	tacit := startServer(t, tacitEnv...)
	logOnFailure(t, tacit)
	app := startApp(t)
	front := startNginx(t, nginx, strings.TrimPrefix(tacit.URL, "http://"), app)

	guardedApp(t, "nginx", front, tacit)
}

// startApp serves the tiny application a proxy guards: it says which path
// it was asked for and for whom (X-Tacit-Email and X-Tacit-Account-Id,
// from the proxy).
func startApp(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "app: %s for %s #%s", r.URL.RequestURI(), r.Header.Get("X-Tacit-Email"), r.Header.Get("X-Tacit-Account-Id"))
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

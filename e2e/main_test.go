// Package e2e tests and benchmarks the real tacit binary: it is built once,
// started as a separate process on a free loopback port, and spoken to over
// HTTP, exactly as a user or a browser would.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var binary string // path of the built tacit binary

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tacit-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tacit")
	build := exec.Command("go", "build", "-o", binary, "../cmd/tacit")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tacit:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `tacit serve` process.
type server struct {
	URL     string // base URL, e.g. http://127.0.0.1:PORT
	DataDir string
	log     *syncBuffer
}

// startServer runs `tacit serve` with a fresh data directory on a free port,
// waits until /readyz says it is ready, and stops it when the test ends. env adds or
// overrides TACIT_* settings (KEY=VALUE).
func startServer(t testing.TB, env ...string) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &server{URL: "http://" + addr, DataDir: t.TempDir(), log: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, "serve")
	cmd.Env = append(os.Environ(), "TACIT_ADDR="+addr, "TACIT_DATA_DIR="+s.DataDir)
	env = sharedKey(env)
	// "{port}" in a setting stands for the port chosen here, for a base
	// URL that names the host as localhost (passkeys need a host name).
	_, port, _ := net.SplitHostPort(addr)
	for _, e := range env {
		cmd.Env = append(cmd.Env, strings.ReplaceAll(e, "{port}", port))
	}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		// A clean exit after the interrupt is reported as the cancelled
		// context; anything else is the server failing.
		if err := cmd.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("tacit serve exited: %v\n%s", err, s.log)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// Another process may have taken the port this test let go:
			// only our server's own line says the answer came from it.
			if resp.StatusCode == http.StatusOK && strings.Contains(s.log.String(), "tacit listening on "+s.URL+" ") {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tacit serve did not answer within 30s: %v\n%s", err, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// sharedKey adds to the environment of a server on PostgreSQL the one
// sealing key that every instance on a database must share (each would
// otherwise make its own in its data directory, and the second to start
// would be refused). A SQLite server keeps the key file beside its
// database.
func sharedKey(env []string) []string {
	postgres, keyed := false, false
	for _, e := range env {
		postgres = postgres || strings.HasPrefix(e, "TACIT_DATABASE_URL=postgres")
		keyed = keyed || strings.HasPrefix(e, "TACIT_SECRET_KEY")
	}
	if !postgres || keyed {
		return env
	}
	// base64 of "e2e test key: shared by servers.", 32 bytes.
	return append(slices.Clip(env), "TACIT_SECRET_KEY=ZTJlIHRlc3Qga2V5OiBzaGFyZWQgYnkgc2VydmVycy4=")
}

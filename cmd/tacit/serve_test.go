package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines to write
// while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// fastEnv is the environment of a test server: a fresh data directory and
// hashing cheap enough for tests.
func fastEnv(dataDir string, more ...string) func(string) string {
	return env(append([]string{
		"TACIT_DATA_DIR", dataDir,
		"TACIT_HASH_MEMORY_KIB", "64",
		"TACIT_HASH_TIME", "1",
		"TACIT_ENVELOPE", "0s",
	}, more...)...)
}

// startServe runs "tacit serve" on addr until the test ends and waits
// until it accepts connections. The returned stop cancels it and returns
// what run returned.
func startServe(t *testing.T, addr string, getenv func(string) string, stderr io.Writer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// Ready means this server says it listens on addr: a connection alone
	// could reach another process that took the port freeAddr let go.
	var seen lockedBuffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr}, getenv, io.Discard, io.MultiWriter(stderr, &seen))
	}()
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("serve did not return within 5s of cancellation")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })

	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("serve stopped before it was ready: %v\nstderr:\n%s", err, stderr)
		default:
		}
		if strings.Contains(seen.String(), "tacit listening on http://"+addr+" ") {
			return stop
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not listening on %s after 10s\nstderr:\n%s", addr, stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeEndToEnd runs the real server, signs up through the JSON API,
// finds the mail in the dev mailbox and shuts the server down.
func TestServeEndToEnd(t *testing.T) {
	addr := freeAddr(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	var stderr lockedBuffer
	stop := startServe(t, addr, fastEnv(dataDir, "TACIT_LIMIT_LOGIN_IP", "off"), &stderr)
	base := "http://" + addr

	resp, err := http.Post(base+"/api/register", "application/json", strings.NewReader(`{"email":"New@Example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || strings.TrimSpace(string(body)) != `{"status":"check_inbox"}` {
		t.Fatalf("POST /api/register: %d %s, want 202 {\"status\":\"check_inbox\"}", resp.StatusCode, body)
	}

	m := waitForMail(t, base, "new@example.com")
	if m.Subject == "" || m.SentAt.IsZero() {
		t.Errorf("captured mail lacks a subject or time: %+v", m)
	}
	if want := base + "/register/complete?token="; !strings.Contains(m.Text, want) {
		t.Errorf("mail text lacks a link starting %s:\n%s", want, m.Text)
	}

	if err := stop(); err != nil {
		t.Fatalf("serve returned %v after cancellation, want nil", err)
	}
	log := stderr.String()
	for _, want := range []string{
		"tacit listening on http://" + addr + " (base URL http://" + addr + ", mail dev, registration email_first, database sqlite " + filepath.Join(dataDir, "tacit.db") + ")",
		"mail is captured at /_dev/mail, not sent",
		`level=WARN msg="throttle rules are off: limit_login_ip"`,
		"shutting down",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data directory mode %o, want 700", perm)
	}
	if _, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

// waitForMail polls the dev mailbox until a mail to addr arrives.
func waitForMail(t *testing.T, base, addr string) tacit.DevMail {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(base + "/_dev/mailbox")
		if err != nil {
			t.Fatal(err)
		}
		var mails []tacit.DevMail
		err = json.NewDecoder(resp.Body).Decode(&mails)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET /_dev/mailbox: status %d, decode error %v", resp.StatusCode, err)
		}
		for _, m := range mails {
			if m.To == addr {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s in the dev mailbox after 5s; mailbox: %+v", addr, mails)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServePortInUse checks that a busy port stops start-up with one error
// naming the setting.
func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	err = run(context.Background(), []string{"serve", "--addr", addr}, fastEnv(t.TempDir()), io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), "--addr: listen tcp "+addr+": bind: address already in use") {
		t.Errorf("serve on a busy port: %v", err)
	}
	var ue usageError
	if errors.As(err, &ue) {
		t.Error("a busy port is not a usage error")
	}
}

// TestServeRefusesPublicDevMail checks that the dev mailbox, which shows
// every mailed token, is never served beyond this machine.
func TestServeRefusesPublicDevMail(t *testing.T) {
	args := []string{"serve", "--addr", "127.0.0.1:0", "--base-url", "https://auth.example.com"}
	err := run(context.Background(), args, fastEnv(t.TempDir()), io.Discard, io.Discard)
	want := `TACIT_MAIL: dev shows every mailed link at /_dev/mail, so it serves only a loopback base URL, but the base URL host is "auth.example.com"; use smtp`
	if err == nil || err.Error() != want {
		t.Errorf("serve with dev mail on a public URL: %v\nwant %s", err, want)
	}
}

// testLogger returns a logger at debug level whose lines, without times,
// go to buf.
func testLogger(buf io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// TestWarnThrottling checks the start-up warnings about weakened
// throttling.
func TestWarnThrottling(t *testing.T) {
	c, err := Load("serve", nil, env(
		"TACIT_LIMIT_LOGIN", "off",
		"TACIT_LIMIT_MAIL", "free=0",
		"TACIT_TRUSTED_PROXIES", "10.0.0.1,0.0.0.0/0",
	))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	warnThrottling(c, testLogger(&log))
	want := "level=WARN msg=\"throttle rules are off: limit_login, limit_mail\"\n" +
		"level=WARN msg=\"trusted_proxies covers every address, so any client can set its own X-Forwarded-For and evade per-client-address limits\" trusted_proxies=10.0.0.1,0.0.0.0/0\n"
	if log.String() != want {
		t.Errorf("log:\n%s\nwant:\n%s", log.String(), want)
	}

	log.Reset()
	c, err = Load("serve", nil, env("TACIT_TRUSTED_PROXIES", "10.0.0.0/8"))
	if err != nil {
		t.Fatal(err)
	}
	warnThrottling(c, testLogger(&log))
	if log.Len() != 0 {
		t.Errorf("default limits and a narrow proxy range logged:\n%s", log.String())
	}
}

// TestServeTrustedProxies checks that trusted_proxies and the throttle
// settings reach the running server: behind a trusted proxy, the
// per-client limit counts the address in X-Forwarded-For, not the proxy's.
func TestServeTrustedProxies(t *testing.T) {
	addr := freeAddr(t)
	var stderr lockedBuffer
	stop := startServe(t, addr, fastEnv(t.TempDir(),
		"TACIT_TRUSTED_PROXIES", "127.0.0.1",
		"TACIT_LIMIT_REQUESTS_IP", "free=1 delay=1h",
		"TACIT_POW", "off", // the throttle's own 429, not the browser check's 428
	), &stderr)
	defer stop()

	for _, tt := range []struct {
		client, email string
		want          int
	}{
		{"192.0.2.1", "a@example.com", http.StatusAccepted},
		{"192.0.2.1", "b@example.com", http.StatusTooManyRequests}, // same client, over its limit
		{"192.0.2.2", "c@example.com", http.StatusAccepted},        // another client behind the same proxy
	} {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/register",
			strings.NewReader(`{"email":"`+tt.email+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "203.0.113.9, "+tt.client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("register %s from %s: %d %s, want %d", tt.email, tt.client, resp.StatusCode, body, tt.want)
		}
	}
}

// TestFlowConfig checks that the account and throttle settings reach the
// flows, and that the flows get their own copy of the limits.
func TestFlowConfig(t *testing.T) {
	c, err := Load("serve", nil, env(
		"TACIT_RESET_TTL", "10m",
		"TACIT_EMAIL_CHANGE_TTL", "3h",
		"TACIT_NOTIFY_UNKNOWN", "true",
		"TACIT_LIMIT_RESET", "free=7",
		"TACIT_SIGNUP_TTL", "2h",
	))
	if err != nil {
		t.Fatal(err)
	}
	fc := c.flowConfig(tacit.PasswordPolicy{Min: 3}, tacit.Links{Base: c.BaseURL}, 5*time.Millisecond, nil)
	want := flow.DefaultLimits()
	want.Reset.Free = 7
	checks := []struct {
		name      string
		got, want any
	}{
		{"ResetTTL", fc.ResetTTL, 10 * time.Minute},
		{"EmailChangeTTL", fc.EmailChangeTTL, 3 * time.Hour},
		{"NotifyUnknown", fc.NotifyUnknown, true},
		{"Limits", *fc.Limits, want},
		{"SignupTTL", fc.SignupTTL, 2 * time.Hour},
		{"Envelope", fc.Envelope, 5 * time.Millisecond},
		{"Policy.Min", fc.Policy.Min, 3},
		{"Mode", fc.Mode, flow.EmailFirst},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	fc.Limits.Reset.Free = 1
	if c.Limits.Reset.Free != 7 {
		t.Error("the flows' limits alias the configuration's")
	}
}

// TestReady checks the readiness the server reports at /readyz: ready once
// migrated, not before.
func TestReady(t *testing.T) {
	ctx := context.Background()
	c, err := Load("serve", nil, fastEnv(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	db, err := openStore(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := ready(ctx, db); err == nil {
		t.Fatal("ready before migrating")
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ready(ctx, db); err != nil {
		t.Fatalf("not ready after migrating: %v", err)
	}
}

// TestServeRefusesPublicListen checks that the dev mailbox and cookies
// without Secure, both for local development only, are never served on
// a listen address beyond this machine, whatever the base URL says.
func TestServeRefusesPublicListen(t *testing.T) {
	const (
		devMail = `TACIT_ADDR: mail is dev (TACIT_MAIL), which shows every mailed link at /_dev/mail to anyone who reaches it, so the server listens only on a loopback address (127.0.0.1, ::1 or localhost), got %q; listen on one, or use smtp`
		cookies = `TACIT_ADDR: cookies without the Secure attribute (TACIT_COOKIE_SECURE %s with base URL %s) are for local development only, so the server listens only on a loopback address (127.0.0.1, ::1 or localhost), got %q; listen on one, or serve an https base URL`
	)
	smtp := []string{"TACIT_MAIL", "smtp", "TACIT_SMTP_URL", "smtp://127.0.0.1:1", "TACIT_MAIL_FROM", "no-reply@example.com"}
	for _, tt := range []struct {
		addr string
		env  []string
		want string
	}{
		// The default mail driver is dev.
		{"0.0.0.0:0", []string{"TACIT_BASE_URL", "http://localhost:4455"}, devMail},
		{":0", []string{"TACIT_BASE_URL", "http://localhost:4455"}, devMail},
		{"[::]:0", []string{"TACIT_BASE_URL", "http://localhost:4455"}, devMail},
		{"192.0.2.1:0", []string{"TACIT_BASE_URL", "http://localhost:4455"}, devMail},
		{"[2001:db8::1]:0", []string{"TACIT_BASE_URL", "http://127.0.0.1:4455"}, devMail},
		// Secure cookies do not make the dev mailbox safe.
		{"0.0.0.0:0", []string{"TACIT_BASE_URL", "http://localhost:4455", "TACIT_COOKIE_SECURE", "true"}, devMail},
		// SMTP mail, but session cookies sent over plain HTTP.
		{"0.0.0.0:0", append([]string{"TACIT_BASE_URL", "http://localhost:4455"}, smtp...), cookies},
		{":0", append([]string{"TACIT_BASE_URL", "http://[::1]:4455", "TACIT_COOKIE_SECURE", "false"}, smtp...), cookies},
	} {
		getenv := fastEnv(t.TempDir(), append([]string{"TACIT_ADDR", tt.addr}, tt.env...)...)
		// Before the fix these served; the timeout ends them.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := run(ctx, []string{"serve"}, getenv, io.Discard, io.Discard)
		cancel()
		want := fmt.Sprintf(tt.want, tt.addr)
		if tt.want == cookies {
			want = fmt.Sprintf(tt.want, cmp.Or(getenv("TACIT_COOKIE_SECURE"), "auto"), getenv("TACIT_BASE_URL"), tt.addr)
		}
		if err == nil || err.Error() != want {
			t.Errorf("serve on %s with %q: %v\nwant %s", tt.addr, tt.env, err, want)
		}
	}

	// Loopback listen addresses are accepted with either; so is any
	// address with SMTP and Secure cookies.
	for _, tt := range []struct {
		addr string
		env  []string
	}{
		{"127.0.0.1:4455", nil},
		{"127.1.2.3:4455", []string{"TACIT_BASE_URL", "http://localhost:4455"}},
		{"[::1]:4455", []string{"TACIT_BASE_URL", "http://localhost:4455"}},
		{"localhost:4455", []string{"TACIT_BASE_URL", "http://localhost:4455"}},
		{"0.0.0.0:4455", append([]string{"TACIT_BASE_URL", "https://auth.example.com"}, smtp...)},
		{":4455", append([]string{"TACIT_BASE_URL", "http://localhost:4455", "TACIT_COOKIE_SECURE", "true"}, smtp...)},
	} {
		c, err := Load("serve", []string{"--addr", tt.addr}, fastEnv(t.TempDir(), tt.env...))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.checkLocalOnly(); err != nil {
			t.Errorf("serve on %s with %q refused: %v", tt.addr, tt.env, err)
		}
	}
}

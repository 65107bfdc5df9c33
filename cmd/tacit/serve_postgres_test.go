package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// TestServePostgres runs the real server on PostgreSQL: sign up through
// the dev mailbox, finish with a password, sign out, sign in again.
func TestServePostgres(t *testing.T) {
	dbURL := postgresURL(t)
	addr := freeAddr(t)
	var log lockedBuffer
	stop := startServe(t, addr, fastEnv(t.TempDir(), "TACIT_DATABASE_URL", dbURL), &log)
	base := "http://" + addr

	if status, body := apiCall(t, http.MethodPost, base+"/api/register", `{"email":"pg@example.com"}`, ""); status != http.StatusAccepted {
		t.Fatalf("POST /api/register: %d %s, want 202", status, body)
	}
	m := waitForMail(t, base, "pg@example.com")
	token := mailToken(t, m.Text, base+"/register/complete?token=")
	complete, _ := json.Marshal(map[string]string{
		"token": token, "password": "postgres password 1", "password_confirm": "postgres password 1",
	})
	if status, body := apiCall(t, http.MethodPost, base+"/api/register/complete", string(complete), ""); status != http.StatusCreated {
		t.Fatalf("POST /api/register/complete: %d %s, want 201", status, body)
	}
	if status, body := login(t, base, "pg@example.com", "postgres password 1"); status != http.StatusOK || body != `{"status":"signed_in"}` {
		t.Errorf("sign in: %d %s, want 200 signed_in", status, body)
	}
	if status, body := login(t, base, "pg@example.com", "postgres password 2"); status != http.StatusUnauthorized {
		t.Errorf("sign in with a wrong password: %d %s, want 401", status, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v after cancellation, want nil", err)
	}

	u, err := url.Parse(os.Getenv("TACIT_TEST_POSTGRES"))
	if err != nil {
		t.Fatal(err)
	}
	want := "database postgres " + u.Host + u.Path + ")"
	if !strings.Contains(log.String(), want) {
		t.Errorf("listening line lacks %q:\n%s", want, log.String())
	}
}

// mailToken returns the token of the first link in text that starts with
// prefix.
func mailToken(t *testing.T, text, prefix string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, prefix)
	if !ok {
		t.Fatalf("mail lacks a link starting %s:\n%s", prefix, text)
	}
	token, _, _ := strings.Cut(rest, "\n")
	token = strings.TrimSpace(token)
	if token == "" {
		t.Fatalf("empty token in mail:\n%s", text)
	}
	return token
}

package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestHealthAndReadiness(t *testing.T) {
	var down atomic.Bool
	h := newHarness(t, options{ready: func(ctx context.Context) error {
		if down.Load() {
			return errors.New("database 10.0.0.5:5432 unreachable")
		}
		return nil
	}})
	if r := h.get("/healthz"); r.StatusCode != http.StatusOK || r.text() != `{"status":"ok"}`+"\n" {
		t.Fatalf("healthz: %d %q", r.StatusCode, r.text())
	}
	if r := h.get("/readyz"); r.StatusCode != http.StatusOK || r.text() != `{"status":"ready"}`+"\n" {
		t.Fatalf("readyz while ready: %d %q", r.StatusCode, r.text())
	}
	down.Store(true)
	r := h.get("/readyz")
	if r.StatusCode != http.StatusServiceUnavailable || r.text() != `{"status":"unavailable"}`+"\n" {
		t.Fatalf("readyz while down: %d %q", r.StatusCode, r.text())
	}
	// The reason is logged for the operator, never shown.
	if !strings.Contains(h.logs.String(), "unreachable") {
		t.Error("the readiness failure was not logged")
	}
	if r := h.get("/healthz"); r.StatusCode != http.StatusOK {
		t.Fatalf("healthz while not ready: %d", r.StatusCode)
	}
}

package web

import (
	"context"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/metrics"
)

// TestMetrics: requests are counted by route pattern and status (never
// by path, which may hold an ID), throttle decisions by rule, sessions
// started, mail sent by kind, and the outbox's depth is read at each
// scrape. No label holds an address.
func TestMetrics(t *testing.T) {
	var h *harness
	m := metrics.New(metrics.Gauges{OutboxPending: func(ctx context.Context) (int64, error) { return h.store.OutboxPending(ctx) }})
	h = newHarness(t, options{metrics: m})
	email := h.arranged(accountstate.Verified)
	b := h.browser()
	b.signIn(email, arrangedPassword)
	h.browser().postJSON("/api/password/forgot", jsonBody(map[string]string{"email": email}))
	b.delete("/api/sessions/12345")
	h.get("/no/such/page")

	scrape := func() string {
		t.Helper()
		r := h.get("/metrics")
		if r.StatusCode != 200 {
			t.Fatalf("GET /metrics: %d", r.StatusCode)
		}
		return r.text()
	}
	text := scrape()
	for _, want := range []string{
		`tacit_http_requests_total{route="POST /api/login",status="200"} 1`,
		`tacit_http_requests_total{route="POST /api/password/forgot",status="202"} 1`,
		`tacit_http_requests_total{route="DELETE /api/sessions/{id}",status="204"} 1`,
		`tacit_http_requests_total{route="/",status="404"} 1`,
		`tacit_throttle_decisions_total{decision="allowed",rule="login"} 1`,
		`tacit_throttle_decisions_total{decision="allowed",rule="reset"} 1`,
		`tacit_sessions_started_total 1`,
		`tacit_outbox_pending 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	h.deliver()
	text = scrape()
	for _, want := range []string{`tacit_mail_sent_total{kind="reset_password"} 1`, `tacit_outbox_pending 0`} {
		if !strings.Contains(text, want) {
			t.Errorf("after delivery, metrics lack %s", want)
		}
	}
	if strings.Contains(text, email) || strings.Contains(text, "12345") {
		t.Error("metrics hold an address or a path's ID")
	}
}

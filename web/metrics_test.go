package web

import (
	"context"
	"strings"
	"testing"
	"time"

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

// TestMetricsForwardAuth: forward-auth checks count in the request
// metrics by their path and status, on both endpoints, cached or not;
// the live sessions gauge counts the sessions that still sign in, read
// from the store at a scrape (then reused for a while: metrics tests it).
func TestMetricsForwardAuth(t *testing.T) {
	var h *harness
	m := metrics.New(metrics.Gauges{LiveSessions: func(ctx context.Context) (int64, error) {
		now := time.Now()
		return h.store.LiveSessions(ctx, now, now.Add(-24*time.Hour))
	}})
	h = newHarness(t, options{metrics: m})
	email := h.arranged(accountstate.Verified)
	scrape := func() string {
		t.Helper()
		r := h.get("/metrics")
		if r.StatusCode != 200 {
			t.Fatalf("GET /metrics: %d", r.StatusCode)
		}
		return r.text()
	}
	b := h.browser()
	b.signIn(email, arrangedPassword)
	for range 3 {
		wantCheck(t, "signed in", h.check("/auth/check", proxyPeer, b.session(), forwarded("app.example.com", "/", htmlAccept)), 200, "")
	}
	wantCheck(t, "browser", h.check("/auth/check", proxyPeer, "", forwarded("app.example.com", "/", htmlAccept)), 302,
		"https://app.example.com/login?next=https%3A%2F%2Fapp.example.com%2F")
	wantCheck(t, "API", h.check("/auth/check", proxyPeer, "", forwarded("app.example.com", "/", "application/json")), 401, "")
	wantCheck(t, "nginx", h.check("/auth/request", proxyPeer, "", map[string]string{"X-Original-URL": "https://app.example.com/"}), 401, "")
	wantCheck(t, "nginx, signed in", h.check("/auth/request", proxyPeer, b.session(), map[string]string{"X-Original-URL": "https://app.example.com/"}), 200, "")

	text := scrape()
	for _, want := range []string{
		`tacit_http_requests_total{route="/auth/check",status="200"} 3`,
		`tacit_http_requests_total{route="/auth/check",status="302"} 1`,
		`tacit_http_requests_total{route="/auth/check",status="401"} 1`,
		`tacit_http_requests_total{route="/auth/request",status="401"} 1`,
		`tacit_http_requests_total{route="/auth/request",status="200"} 1`,
		`tacit_http_requests_total{route="POST /api/login",status="200"} 1`,
		"tacit_sessions_live 1\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "unrouted") {
		t.Error("a check was counted as unrouted")
	}
}

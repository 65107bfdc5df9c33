package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(w.Result().Body)
	return string(b)
}

// TestRouteRequests: a route's counter adds to the same series Request
// does, makes a series only for a status answered, and takes a status
// outside 100-599 too.
func TestRouteRequests(t *testing.T) {
	m := New(Gauges{})
	r := m.Route("/auth/check")
	for range 3 {
		r.Count(200)
	}
	r.Count(401)
	r.Count(999)
	m.Request("/auth/check", 200)
	text := scrape(t, m)
	for _, want := range []string{
		`tacit_http_requests_total{route="/auth/check",status="200"} 4`,
		`tacit_http_requests_total{route="/auth/check",status="401"} 1`,
		`tacit_http_requests_total{route="/auth/check",status="999"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, `status="302"`) {
		t.Error("a status never answered has a series")
	}
}

// TestLiveSessionsGauge: the count is read at a scrape, reused for
// LiveSessionsEvery, and -1 when it cannot be read.
func TestLiveSessionsGauge(t *testing.T) {
	n, reads := int64(7), 0
	m := New(Gauges{LiveSessions: func(context.Context) (int64, error) {
		reads++
		return n, nil
	}})
	if text := scrape(t, m); !strings.Contains(text, "tacit_sessions_live 7\n") {
		t.Errorf("first scrape lacks tacit_sessions_live 7:\n%s", text)
	}
	n = 8
	if text := scrape(t, m); !strings.Contains(text, "tacit_sessions_live 7\n") || reads != 1 {
		t.Errorf("a scrape right after read the count again (%d reads)", reads)
	}

	m = New(Gauges{LiveSessions: func(context.Context) (int64, error) { return 0, errors.New("database down") }})
	if text := scrape(t, m); !strings.Contains(text, "tacit_sessions_live -1\n") {
		t.Errorf("unreadable count is not -1")
	}
}

// TestReuse: a result is reused until every has passed; a failed read is
// not kept, so the next call reads again.
func TestReuse(t *testing.T) {
	clock := time.Unix(1000, 0)
	reads, fail := 0, false
	read := reuse(func(context.Context) (int64, error) {
		reads++
		if fail {
			return 0, errors.New("down")
		}
		return int64(reads), nil
	}, 15*time.Second, func() time.Time { return clock })
	ctx := context.Background()
	want := func(what string, n int64, wantErr bool) {
		t.Helper()
		got, err := read(ctx)
		if got != n || (err != nil) != wantErr {
			t.Errorf("%s: %d, %v; want %d, error %v", what, got, err, n, wantErr)
		}
	}
	want("first read", 1, false)
	clock = clock.Add(14 * time.Second)
	want("within the period", 1, false)
	clock = clock.Add(time.Second)
	want("after the period", 2, false)
	clock = clock.Add(20 * time.Second)
	fail = true
	want("failed read", 0, true)
	fail = false
	want("after a failed read", 4, false)
}

package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestLimitTime checks that limitTime puts a deadline d from arrival on the
// request's context, and none when d is 0.
func TestLimitTime(t *testing.T) {
	for _, d := range []time.Duration{0, time.Minute} {
		type seen struct {
			deadline time.Time
			has      bool
		}
		got := make(chan seen, 1)
		srv := httptest.NewServer(limitTime(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			deadline, has := r.Context().Deadline()
			got <- seen{deadline, has}
		}), d))
		sent := time.Now()
		resp, err := http.Get(srv.URL)
		answered := time.Now()
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		s := <-got
		deadline, has := s.deadline, s.has
		if d == 0 {
			if has {
				t.Errorf("d=0: request has a deadline %v from now, want none", time.Until(deadline))
			}
			continue
		}
		if !has {
			t.Fatalf("d=%v: request has no deadline", d)
		}
		if deadline.Before(sent.Add(d)) || deadline.After(answered.Add(d)) {
			t.Errorf("d=%v: deadline %v after sending, want %v after arrival", d, deadline.Sub(sent), d)
		}
	}
}

// TestRequestTimeout checks that Config.RequestTimeout ends a request
// stuck on a dependency that never answers: a readiness check blocked
// until its context ends is answered 503 at the request timeout, well
// before the check's own limit (readyTimeout), with the reason logged.
func TestRequestTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	h := newHarness(t, options{})
	reasons := make(chan error, 1)
	srv := httptest.NewServer(NewServer(h.svc, Config{
		RequestTimeout: timeout,
		Ready: func(ctx context.Context) error {
			<-ctx.Done()
			reasons <- ctx.Err()
			return ctx.Err()
		},
	}))
	defer srv.Close()

	start := time.Now()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusServiceUnavailable || string(body) != `{"status":"unavailable"}`+"\n" {
		t.Errorf("blocked /readyz: %d %q, want 503 unavailable", resp.StatusCode, body)
	}
	if took < timeout || took > readyTimeout-500*time.Millisecond {
		t.Errorf("blocked /readyz answered after %v, want just after %v", took, timeout)
	}
	if reason := <-reasons; !errors.Is(reason, context.DeadlineExceeded) {
		t.Errorf("the check ended with %v, want the request's deadline", reason)
	}

	// Requests that finish in time are untouched.
	resp, err = http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", resp.StatusCode)
	}
}

package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// TestClientGoneLogged checks how a request that fails because its client
// hung up is logged: at INFO as "client went away", counted as 499 in the
// request line, while one that ran out of time stays an ERROR and a 500.
// Before, both were level=ERROR … context canceled and status=500.
func TestClientGoneLogged(t *testing.T) {
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	started := make(chan struct{}, 1)
	// The handler stands for a flow whose database call takes the
	// request's context: it fails once that context is done, and is
	// answered through respond, as the API answers a flow error.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
		err := fmt.Errorf("get account: %w", r.Context().Err())
		respond(w, r, sessions{log: log}, tacit.Outcome{}, err)
	})
	srv := httptest.NewServer(logRequests(limitTime(h, 300*time.Millisecond), log))
	defer srv.Close()

	// The client gives up first.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/login", nil)
	go func() { <-started; cancel() }()
	if _, err := srv.Client().Do(req); err == nil {
		t.Fatal("request answered after the client cancelled it")
	}
	got := waitLog(t, logs, "msg=request")
	if strings.Contains(got, "level=ERROR") || !strings.Contains(got, `level=INFO msg="client went away: flow failed"`) ||
		!strings.Contains(got, "context canceled") {
		t.Errorf("client abort logged as:\n%s\nwant INFO \"client went away: flow failed\" with the error, and no ERROR", got)
	}
	if !strings.Contains(got, "status=499") || strings.Contains(got, "status=500") {
		t.Errorf("client abort counted as:\n%s\nwant status=499", got)
	}

	// The server gives up first (request timeout): still an error.
	before := len(logs.String())
	resp, err := srv.Client().Post(srv.URL+"/api/login", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("timed-out request answered %d, want 500", resp.StatusCode)
	}
	got = waitLog(t, logs, "status=500")[before:]
	if !strings.Contains(got, `level=ERROR msg="flow failed"`) || !strings.Contains(got, "context deadline exceeded") ||
		!strings.Contains(got, "status=500") {
		t.Errorf("timed-out request logged as:\n%s\nwant ERROR \"flow failed\" and status=500", got)
	}
}

// waitLog waits for the log to contain want (the request line comes
// after the handler returns, which the client does not wait for).
func waitLog(t *testing.T, logs *lockedBuffer, want string) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if got := logs.String(); strings.Contains(got, want) || time.Now().After(deadline) {
			return got
		}
	}
}

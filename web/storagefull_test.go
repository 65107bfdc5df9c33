package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tacitauth/tacit"
)

// TestStorageFull: a flow that failed because the disk is full is
// answered 503 with Retry-After, on the API and the pages alike, logged as
// such, and takes /readyz out of rotation for fullHold.
func TestStorageFull(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	sw := &storageWatch{}
	full := fmt.Errorf("register: commit: %w: database or disk is full (13)", tacit.ErrStorageFull)
	withWatch := func(path string) *http.Request {
		r := httptest.NewRequest("POST", path, nil)
		return r.WithContext(context.WithValue(r.Context(), storageWatchKey{}, sw))
	}

	ready := handleReady(nil, sw, log)
	rec := httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Fatalf("readyz before: %d", rec.Code)
	}

	s := sessions{ck: newCookies(true), log: log}
	rec = httptest.NewRecorder()
	respond(rec, withWatch("/api/register"), s, tacit.Outcome{}, full)
	if rec.Code != 503 || rec.Body.String() != `{"error":"unavailable"}`+"\n" || rec.Header().Get("Retry-After") != "30" {
		t.Errorf("JSON: %d %q Retry-After %q; want 503 unavailable, 30", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	v := newViews("tacit", newCookies(true), log, false)
	rec = httptest.NewRecorder()
	v.internalError(rec, withWatch("/register"), full)
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "30" || strings.Contains(rec.Body.String(), "disk") {
		t.Errorf("page: %d Retry-After %q; want 503, 30, and nothing of the cause", rec.Code, rec.Header().Get("Retry-After"))
	}
	if n := strings.Count(logs.String(), "request refused: the disk is full"); n != 2 {
		t.Errorf("logged %d times, want 2:\n%s", n, logs.String())
	}

	rec = httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 {
		t.Errorf("readyz after a full disk: %d, want 503", rec.Code)
	}
	sw.fullAt.Store(sw.fullAt.Load() - int64(fullHold)) // the hold is over
	rec = httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Errorf("readyz %v after the last full-disk failure: %d, want 200", fullHold, rec.Code)
	}

	// Any other error stays a 500.
	rec = httptest.NewRecorder()
	respond(rec, withWatch("/api/register"), s, tacit.Outcome{}, errSecret)
	if rec.Code != 500 {
		t.Errorf("other error: %d, want 500", rec.Code)
	}
}

// TestStorageReplaced: a flow refused because the database file was
// replaced while serving is answered 503 on the API, the pages and the
// forward-auth check, without Retry-After (only a restart ends it), and
// logged as an error that says what to do; it does not take /readyz out
// of rotation for fullHold (readiness finds the replacement itself).
func TestStorageReplaced(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	sw := &storageWatch{}
	replaced := fmt.Errorf("register: %w: /data/tacit.db is not the file opened at start", tacit.ErrStorageReplaced)
	req := func(path string) *http.Request {
		r := httptest.NewRequest("POST", path, nil)
		return r.WithContext(context.WithValue(r.Context(), storageWatchKey{}, sw))
	}
	s := sessions{ck: newCookies(true), log: log}
	rec := httptest.NewRecorder()
	respond(rec, req("/api/register"), s, tacit.Outcome{}, replaced)
	if rec.Code != 503 || rec.Body.String() != `{"error":"unavailable"}`+"\n" || rec.Header().Get("Retry-After") != "" {
		t.Errorf("JSON: %d %q Retry-After %q; want 503 unavailable, none", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	v := newViews("tacit", newCookies(true), log, false)
	rec = httptest.NewRecorder()
	v.internalError(rec, req("/register"), replaced)
	if rec.Code != 503 || strings.Contains(rec.Body.String(), "tacit.db") {
		t.Errorf("page: %d; want 503, and nothing of the cause", rec.Code)
	}
	if n := strings.Count(logs.String(), "level=ERROR msg=\"request refused: the database file was replaced while in use; restart tacit"); n != 2 {
		t.Errorf("logged %d times at ERROR, want 2:\n%s", n, logs.String())
	}
	if sw.recentlyFull() {
		t.Error("a replaced file was taken for a full disk")
	}
}

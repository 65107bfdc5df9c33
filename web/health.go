package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/tacitauth/tacit"
)

// readyTimeout bounds a readiness check, so a hanging database answers 503
// in time for the load balancer instead of timing out its probe.
const readyTimeout = 2 * time.Second

// fullHold is how long after a write failed for want of disk space
// /readyz says not ready. Readiness itself only reads, which a full disk
// allows; the hold takes the instance out of rotation while its writes
// fail, and then lets the next requests find out whether space has come
// back (see storageWatch).
const fullHold = 5 * time.Second

// fullRetryAfter is the Retry-After of a request refused for a full disk.
const fullRetryAfter = 30 * time.Second

// storageWatch remembers when a write last failed because the disk is
// full. One is shared by every handler of a server.
type storageWatch struct {
	fullAt atomic.Int64 // Unix nanoseconds; 0 for never
}

// full records a full-disk failure now.
func (s *storageWatch) full() { s.fullAt.Store(time.Now().UnixNano()) }

// recentlyFull reports whether a write failed for want of space within
// fullHold.
func (s *storageWatch) recentlyFull() bool {
	at := s.fullAt.Load()
	return at != 0 && time.Since(time.Unix(0, at)) < fullHold
}

type storageWatchKey struct{}

// withStorageWatch lets the handlers below report a full disk to sw.
func withStorageWatch(h http.Handler, sw *storageWatch) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), storageWatchKey{}, sw)))
	})
}

// storageRefused reports whether err is the database refusing for a
// reason that is not a fault of the server's code, which the caller
// answers 503, having logged it:
//   - its disk is full: it also says so to the server's storageWatch and
//     sets Retry-After; the request did nothing and can be repeated once
//     space returns;
//   - its file was replaced while serving (tacit.ErrStorageReplaced):
//     nothing was read or written, and nothing will be until a restart,
//     so no Retry-After.
func storageRefused(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) bool {
	if errors.Is(err, tacit.ErrStorageReplaced) {
		logError(log, r, "request refused: the database file was replaced while in use; restart tacit to open the new one", err)
		return true
	}
	if !errors.Is(err, tacit.ErrStorageFull) {
		return false
	}
	if sw, ok := r.Context().Value(storageWatchKey{}).(*storageWatch); ok {
		sw.full()
	}
	logError(log, r, "request refused: the disk is full", err)
	setRetryAfter(w, fullRetryAfter)
	return true
}

// handleHealth answers that the process is up and serving HTTP.
func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, statusBody{Status: "ok"})
	})
}

// handleReady answers whether this instance can serve requests: 200 when
// ready returns nil and no write has failed for want of disk space within
// fullHold, else 503. The reason is logged, not shown: it may name hosts
// and databases.
func handleReady(ready func(context.Context) error, sw *storageWatch, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sw != nil && sw.recentlyFull() {
			logError(log, r, "not ready", errors.New("a write failed in the last "+fullHold.String()+": the disk is full"))
			encode(w, http.StatusServiceUnavailable, statusBody{Status: "unavailable"})
			return
		}
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				logError(log, r, "not ready", err)
				encode(w, http.StatusServiceUnavailable, statusBody{Status: "unavailable"})
				return
			}
		}
		encode(w, http.StatusOK, statusBody{Status: "ready"})
	})
}

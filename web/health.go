package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// readyTimeout bounds a readiness check, so a hanging database answers 503
// in time for the load balancer instead of timing out its probe.
const readyTimeout = 2 * time.Second

// handleHealth answers that the process is up and serving HTTP.
func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, statusBody{Status: "ok"})
	})
}

// handleReady answers whether this instance can serve requests: 200 when
// ready returns nil, else 503. The reason is logged, not shown: it may name
// hosts and databases.
func handleReady(ready func(context.Context) error, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

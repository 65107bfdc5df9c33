package web

import (
	"context"
	"net/http"

	"github.com/tacitauth/tacit/metrics"
)

// routeKey is the context key of the slot where notePattern leaves the
// route pattern for countRequests.
type routeKey struct{}

// countRequests counts every request by the route pattern that served it
// and its status, refused ones included (it is the outermost handler).
// The pattern, not the path: paths hold session IDs and arbitrary text.
func countRequests(next http.Handler, m *metrics.Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := new(string)
		rec := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, route)))
		m.Request(*route, rec.code())
	})
}

// notePattern runs innermost, around the mux, which sets the request's
// Pattern; the request countRequests sees is an earlier copy, so the
// pattern is passed back through the slot in the context.
func notePattern(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if slot, ok := r.Context().Value(routeKey{}).(*string); ok {
			*slot = r.Pattern
		}
	})
}

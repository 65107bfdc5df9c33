package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"github.com/tacitauth/tacit/openid"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// contentSecurityPolicy allows nothing but our own stylesheet, script and
// images, requests to ourselves (the passkey ceremonies' fetch) and forms
// that post back to us. The one script is a file of this
// origin (no inline script, no eval): the pages work without it, and a
// page that can run only that file cannot leak a token from the address
// bar.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every response carries. Handlers may
// override Cache-Control (only the static stylesheet does).
func securityHeaders(next http.Handler, hsts string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		// Mail links carry tokens in the query string; no page may pass
		// its URL on to another site.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		// Answers are personal (sessions, CSRF tokens): no cache keeps them.
		h.Set("Cache-Control", "no-store")
		if hsts != "" {
			h.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody caps every request body, forms included, so no handler can be
// made to read without bound. It must wrap the server's own ResponseWriter:
// http.MaxBytesReader then also closes the connection after an oversize body.
func limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// limitTime gives each request's context a deadline d after it arrives (none
// when d is 0). Every database call takes the request's context, so a request
// stuck on a database that stopped answering (a partition, a frozen host)
// gives up at the deadline and is answered 500, instead of holding its
// client and a server goroutine until the database comes back, however long
// that is. http.TimeoutHandler is not used: it answers 503 with its own body
// rather than the route's error, buffers every response, and lets the
// handler run on after answering.
func limitTime(next http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// crossOriginProtection refuses state-changing requests that a browser
// marks as cross-origin (Sec-Fetch-Site, or Origin against Host). It backs
// up the CSRF token of the forms and is the only CSRF defence the JSON API
// needs. /auth/check changes nothing and is called by proxies with the
// headers of the request they guard, so it is exempt.
func crossOriginProtection(next http.Handler, v *views) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.AddInsecureBypassPattern("/auth/check")
	// The OpenID Connect endpoints that clients call with their own
	// credentials (a client secret, a code verifier, a bearer token),
	// never with the browser's cookies: a single-page app calls them
	// from its own origin.
	for _, p := range []string{openid.PathToken, openid.PathIntrospect, openid.PathRevoke, openid.PathUserinfo} {
		cop.AddInsecureBypassPattern(p)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPI(r) {
			encodeError(w, http.StatusForbidden, "forbidden", "Cross-origin requests are refused.")
			return
		}
		v.errorPage(w, r, http.StatusForbidden, "Request refused",
			"This form was sent from another site, so it was refused. Open the page on this site and try again.")
	}))
	return cop.Handler(next)
}

// isAPI reports whether r is for the JSON API, whose errors are JSON.
func isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/_dev/mailbox")
}

type requestIDKey struct{}

// logRequests gives each request a random id, returned as X-Request-Id and
// attached to every log line about it, and logs one line per request. It
// logs the path and never the query string, which carries mail tokens.
func logRequests(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		status := sw.code()
		// A request whose client hung up before its answer ends in an
		// error answered to no one. It is counted as 499 (nginx's "client
		// closed request"), not as a 500: the server did nothing wrong.
		if status >= 500 && r.Context().Err() != nil {
			status = statusClientGone
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)))
	})
}

func newRequestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// requestID returns the id logRequests gave r, or "".
func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

// statusClientGone is the status the request log gives a request whose
// client went away before its answer.
const statusClientGone = 499

// logError logs an internal error with the request's id. Only the id ever
// reaches the client, never the error text. An error that is the client
// hanging up (the request's context cancelled, not timed out) is no fault
// of the server's: it is logged at INFO as "client went away".
func logError(log *slog.Logger, r *http.Request, msg string, err error) {
	level := slog.LevelError
	if errors.Is(err, context.Canceled) && errors.Is(context.Cause(r.Context()), context.Canceled) {
		level, msg = slog.LevelInfo, "client went away: "+msg
	}
	log.LogAttrs(r.Context(), level, msg,
		slog.String("request_id", requestID(r)),
		slog.String("path", r.URL.Path),
		slog.String("error", err.Error()))
}

// statusWriter remembers the status code for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tacitauth/tacit/internal/accountstate"
)

// BenchmarkCheckHandler measures a cached forward-auth check through the
// whole handler, in process: what the server does per check besides HTTP.
func BenchmarkCheckHandler(b *testing.B) {
	h := newHarness(b, options{})
	if err := accountstate.Arrange(context.Background(), h.store, h.hasher, accountstate.Verified, "bee@example.com", arrangedPassword); err != nil {
		b.Fatal(err)
	}
	br := h.browser()
	br.signIn("bee@example.com", arrangedPassword)
	cookie := &http.Cookie{Name: h.ck.sessionName, Value: br.session()}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/auth/check", nil)
			req.RemoteAddr = "127.0.0.1:5000"
			req.AddCookie(cookie)
			w := httptest.NewRecorder()
			h.handler.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("check: %d", w.Code)
			}
		}
	})
}

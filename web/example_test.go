package web_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/mail"
	"github.com/tacitauth/tacit/sqlite"
	"github.com/tacitauth/tacit/web"
)

// Embedding tacit in a Go application: tacit's pages and API on one mux
// with the application's own handlers, which RequireSession protects.
func ExampleRequireSession() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "tacit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Storage, password hashing and the flows.
	db, err := sqlite.Open(ctx, filepath.Join(dir, "tacit.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	hasher, err := argon2id.New(argon2id.DefaultParams(), 0)
	if err != nil {
		log.Fatal(err)
	}
	base, _ := url.Parse("https://app.example.com")
	links := tacit.Links{Base: base}
	svc, err := flow.New(db, hasher, flow.Config{Links: links, Envelope: flow.MeasureEnvelope(hasher)})
	if err != nil {
		log.Fatal(err)
	}

	// Mail leaves through the outbox; a real application sends it with
	// mail.SMTPSender and runs the worker for as long as it serves.
	worker := mail.NewWorker(db, mail.Renderer{Product: "Example", Links: links}, mail.DevSender{Box: db}, nil)
	go worker.Run(ctx)

	cfg := web.Config{Product: "Example", BaseURL: base, SecureCookies: true}
	mux := http.NewServeMux()
	mux.Handle("GET /dashboard", web.RequireSession(svc, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := web.IdentityFrom(r.Context())
		fmt.Fprintf(w, "Hello, %s\n", id.Account.Email)
	})))
	mux.Handle("/", web.NewServer(svc, cfg)) // /login, /register, /api/…

	// Without a session, a browser is sent to sign in.
	req := httptest.NewRequest("GET", "https://app.example.com/dashboard", nil)
	req.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output: 303 /login?next=%2Fdashboard
}

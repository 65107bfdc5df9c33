package web_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

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

	// Storage and password hashing.
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

	// tacit itself. A real application sends mail with
	// mail.SMTPSender, and runs the instance for as long as it serves.
	base, _ := url.Parse("https://app.example.com")
	auth, err := web.NewInstance(web.Options{
		Store:  db,
		Hasher: hasher,
		Sender: mail.DevSender{Box: db},
		Flow:   flow.Config{Links: tacit.Links{Base: base}, Envelope: flow.MeasureEnvelope(hasher), RecalibrateEnvelope: true},
		Config: web.Config{Product: "Example", SecureCookies: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	ran := make(chan struct{})
	go func() { auth.Run(ctx); close(ran) }()
	defer func() { cancel(); <-ran }()

	mux := http.NewServeMux()
	mux.Handle("GET /dashboard", web.RequireSession(auth.Service(), auth.Config(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := web.IdentityFrom(r.Context())
		fmt.Fprintf(w, "Hello, %s\n", id.Account.Email)
	})))
	mux.Handle("/", auth) // /login, /register, /api/…

	// Without a session, a browser is sent to sign in.
	req := httptest.NewRequest("GET", "https://app.example.com/dashboard", nil)
	req.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Location"))
	// Output: 303 /login?next=%2Fdashboard
}

// tacit inside another net/http application: its pages and API mounted
// next to the application's own routes, one of them protected by
// RequireSession, and the instance running its mail worker and storage
// housekeeping for as long as the application serves.
func ExampleInstance() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "tacit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
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

	// The application's server; here a test server, whose address is
	// the base URL of mailed links.
	srv := httptest.NewUnstartedServer(nil)
	base, _ := url.Parse("http://" + srv.Listener.Addr().String())

	auth, err := web.NewInstance(web.Options{
		Store:  db,
		Hasher: hasher,
		Sender: mail.DevSender{Box: db}, // mail.SMTPSender in production
		Flow:   flow.Config{Links: tacit.Links{Base: base}, Envelope: flow.MeasureEnvelope(hasher)},
		Config: web.Config{Product: "Example", DevMailbox: db},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Run until the application stops serving, then let it deliver
	// what the last requests queued.
	ran := make(chan struct{})
	go func() { auth.Run(ctx); close(ran) }()
	defer func() { cancel(); <-ran }()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "Welcome") })
	mux.Handle("GET /account", web.RequireSession(auth.Service(), auth.Config(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := web.IdentityFrom(r.Context())
		fmt.Fprintf(w, "Signed in as %s\n", id.Account.Email)
	})))
	mux.Handle("/", auth) // /login, /register, /api/…
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	post := func(path, body string) int {
		resp, err := client.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	get := func(path string) string {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}

	fmt.Println("/account:", get("/account"))
	fmt.Println("sign up:", post("/api/register", `{"email":"ada@example.com"}`))

	// The instance's worker delivers the sign-up link by itself.
	var link []string
	for deadline := time.Now().Add(10 * time.Second); link == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ms, _ := db.DevMails(ctx); len(ms) > 0 {
			link = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`).FindStringSubmatch(ms[0].Text)
		}
	}
	if link == nil {
		log.Fatal("no sign-up mail")
	}
	fmt.Println("choose a password:", post("/api/register/complete",
		`{"token":"`+link[1]+`","password":"a long enough password","password_confirm":"a long enough password"}`))
	fmt.Println("/account:", get("/account"))
	fmt.Println("/:", get("/"))
	// Output:
	// /account: 401 {"error":"unauthenticated"}
	// sign up: 202
	// choose a password: 201
	// /account: 200 Signed in as ada@example.com
	// /: 200 Welcome
}

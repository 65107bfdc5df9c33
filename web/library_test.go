package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/mail"
	"github.com/tacitauth/tacit/web"
)

// TestRequireSession mounts tacit and a protected application page on one
// real server, as ExampleRequireSession does, and follows a user from
// signed out to signed in to signed out.
func TestRequireSession(t *testing.T) {
	ctx := context.Background()
	db, hasher := testenv.SQLite(t), testenv.Hasher(t)
	srv := httptest.NewUnstartedServer(nil)
	base, _ := url.Parse("http://" + srv.Listener.Addr().String())
	auth, err := web.NewInstance(web.Options{
		Store: db, Hasher: hasher, Sender: mail.DevSender{Box: db},
		Flow: flow.Config{Links: tacit.Links{Base: base}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/app/", web.RequireSession(auth.Service(), auth.Config(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := web.IdentityFrom(r.Context())
		fmt.Fprintf(w, "%v %s %d", ok, id.Account.Email, id.Session.ID)
	})))
	mux.Handle("/", auth)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)

	const email, password = "ada@example.com", "a long enough password"
	if err := accountstate.Arrange(ctx, db, hasher, accountstate.Verified, email, password); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(accept string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/app/page?q=1", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	post := func(path, body string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	wantSignedOut := func(when string) {
		t.Helper()
		status, h, _ := get("text/html,application/xhtml+xml")
		if want := "/login?next=%2Fapp%2Fpage%3Fq%3D1"; status != http.StatusSeeOther || h.Get("Location") != want {
			t.Errorf("%s, a page load: %d to %q, want 303 to %s", when, status, h.Get("Location"), want)
		}
		status, _, body := get("application/json")
		var e struct{ Error string }
		if status != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || e.Error != "unauthenticated" {
			t.Errorf("%s, an API call: %d %s, want 401 unauthenticated", when, status, body)
		}
	}

	wantSignedOut("without a session")
	if status := post("/api/login", `{"email":"`+email+`","password":"`+password+`"}`); status != http.StatusOK {
		t.Fatalf("login: %d", status)
	}
	status, _, body := get("text/html")
	if status != http.StatusOK || !strings.HasPrefix(body, "true "+email+" ") || strings.HasSuffix(body, " 0") {
		t.Errorf("signed in: %d %q, want the identity", status, body)
	}
	if status := post("/api/logout", `{}`); status != http.StatusNoContent {
		t.Fatalf("logout: %d", status)
	}
	wantSignedOut("after sign-out")
}

package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/mail"
	"github.com/tacitauth/tacit/postgres"
)

// adminStore is what the administration API tests need of a store of
// either engine: the tacit.Store, its dev mailbox, and the account
// directory that list and show read.
type adminStore interface {
	tacit.Store
	tacit.AccountDirectory
}

// adminEngines are the engines the administration API is tested on.
var adminEngines = []struct {
	name string
	open func(t *testing.T) adminStore
}{
	{"SQLite", func(t *testing.T) adminStore { return testenv.SQLite(t) }},
	{"PostgreSQL", func(t *testing.T) adminStore {
		dbURL, _ := testenv.PostgresSchema(t)
		ctx := context.Background()
		db, err := postgres.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return db
	}},
}

// adminServer is a tacit instance over a real store with the
// administration API where the test asks for it: on the main handler
// (main), on its own (own), or nowhere.
type adminServer struct {
	t     *testing.T
	main  string // base URL of the main handler
	own   string // base URL of NewAdminServer, "" if not served
	store adminStore
	inst  *Instance
	op    *flow.Operator
	logs  *lockedBuffer
	// read and write are tokens of the two scopes, named desk and ops.
	read, write string
}

// adminPassword is the password of the accounts the tests make.
const adminPassword = "a long enough password"

func newAdminServer(t *testing.T, store adminStore, onMain, own bool) *adminServer {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base, _ := url.Parse("http://" + srv.Listener.Addr().String())
	s := &adminServer{t: t, main: base.String(), store: store, logs: &lockedBuffer{}}
	inst, err := NewInstance(Options{
		Store: store, Hasher: testenv.Hasher(t), Sender: mail.DevSender{Box: store},
		Flow: flow.Config{Links: tacit.Links{Base: base}, Limits: testenv.RoomyLimits()},
		Config: Config{BaseURL: base, DevMailbox: store, AdminAPI: onMain,
			Logger: slog.New(slog.NewTextHandler(s.logs, nil))},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.inst, s.op = inst, inst.Service().Operator()
	srv.Config.Handler = inst
	srv.Start()
	t.Cleanup(srv.Close)
	if own {
		admin := httptest.NewServer(inst.AdminHandler())
		t.Cleanup(admin.Close)
		s.own = admin.URL
	}
	ctx := context.Background()
	if s.read, err = s.op.CreateAdminToken(ctx, "desk", tacit.AdminRead); err != nil {
		t.Fatal(err)
	}
	if s.write, err = s.op.CreateAdminToken(ctx, "ops", tacit.AdminWrite); err != nil {
		t.Fatal(err)
	}
	return s
}

// account makes an account that signs in with adminPassword.
func (s *adminServer) account(email string) {
	s.t.Helper()
	hash, err := testenv.Hasher(s.t).Hash(adminPassword)
	if err != nil {
		s.t.Fatal(err)
	}
	err = s.store.Update(context.Background(), func(tx tacit.Tx) error {
		return tx.CreateAccount(context.Background(), &tacit.Account{Email: email, PasswordHash: hash, CreatedAt: time.Now()})
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// call sends a request to base+path with the token (none if "") and an
// optional JSON body.
func (s *adminServer) call(base, method, path, token, body string) reply {
	s.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return reply{resp, b}
}

// api calls the administration API on the main handler.
func (s *adminServer) api(method, path, token, body string) reply {
	s.t.Helper()
	return s.call(s.main, method, "/admin/api"+path, token, body)
}

// signIn signs in through the public API and returns the status and the
// session cookie, if any.
func (s *adminServer) signIn(email string) (int, *http.Cookie) {
	s.t.Helper()
	r := s.call(s.main, http.MethodPost, "/api/login", "", `{"email":"`+email+`","password":"`+adminPassword+`"}`)
	for _, c := range r.Cookies() {
		if strings.Contains(c.Name, "session") {
			return r.StatusCode, c
		}
	}
	return r.StatusCode, nil
}

// deliver sends the queued mail and returns the kinds of every dev mail
// to addr so far, newest first.
func (s *adminServer) deliver(addr string) []string {
	s.t.Helper()
	ctx := context.Background()
	for {
		n, err := s.inst.DeliverMail(ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	mails, err := s.store.DevMails(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	var kinds []string
	for _, m := range mails {
		if m.To != addr {
			continue
		}
		// The dev mailbox keeps the rendered mail; its link tells the kind.
		switch {
		case strings.Contains(m.Text, "/register/complete?token="):
			kinds = append(kinds, string(tacit.MailFinishSignup))
		case strings.Contains(m.Text, "/password/reset?token="):
			kinds = append(kinds, string(tacit.MailResetPassword))
		default:
			kinds = append(kinds, "other: "+m.Subject)
		}
	}
	return kinds
}

// want checks a reply's status and that its body holds each of parts.
func want(t *testing.T, what string, r reply, status int, parts ...string) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.StatusCode, status, r.body)
	}
	for _, p := range parts {
		if !strings.Contains(r.text(), p) {
			t.Errorf("%s: body lacks %s: %s", what, p, r.body)
		}
	}
}

// TestAdminAPI runs every operation of the administration API on both
// engines: authentication and scopes, each operation's effect on the
// public flows, bad input, and the audit records.
func TestAdminAPI(t *testing.T) {
	for _, e := range adminEngines {
		t.Run(e.name, func(t *testing.T) { testAdminAPI(t, e.open(t)) })
	}
}

func testAdminAPI(t *testing.T, store adminStore) {
	s := newAdminServer(t, store, true, false)
	const ada, bob = "ada@example.com", "bob@example.org"
	s.account(ada)
	s.account(bob)

	t.Run("no token", func(t *testing.T) {
		for _, auth := range []string{"", "Basic b3BzOnB3", "Bearer ", "Bearer"} {
			req, _ := http.NewRequest(http.MethodGet, s.main+"/admin/api/accounts", nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") ||
				!strings.Contains(string(body), `"error":"unauthenticated"`) {
				t.Errorf("Authorization %q: %d %q %s", auth, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
		}
	})

	t.Run("wrong token", func(t *testing.T) {
		id, _, _ := strings.Cut(strings.TrimPrefix(s.write, "tacit_admin_"), ".")
		other, _ := tacit.NewToken()
		removed, err := s.op.CreateAdminToken(context.Background(), "gone", tacit.AdminWrite)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.op.RemoveAdminToken(context.Background(), "gone"); err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{
			"garbage":         "nonsense",
			"right id, wrong": "tacit_admin_" + id + "." + other,
			"no prefix":       strings.TrimPrefix(s.write, "tacit_admin_"),
			"truncated":       s.write[:len(s.write)-1],
			"removed":         removed,
		} {
			r := s.api(http.MethodPost, "/accounts/"+ada+"/disable", tok, "")
			want(t, name, r, 401, `"error":"invalid_token"`)
			if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") || !strings.Contains(h, `error="invalid_token"`) {
				t.Errorf("%s: WWW-Authenticate %q", name, h)
			}
		}
		if code, _ := s.signIn(ada); code != 200 {
			t.Errorf("after refused calls, sign-in: %d", code)
		}
	})

	t.Run("wrong scope", func(t *testing.T) {
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/accounts/" + ada + "/disable", ""},
			{"POST", "/accounts/" + ada + "/enable", ""},
			{"POST", "/accounts/" + ada + "/end-sessions", ""},
			{"POST", "/accounts/" + ada + "/send-reset", ""},
			{"DELETE", "/accounts/" + ada, ""},
			{"POST", "/accounts", `{"email":"new@example.com"}`},
		} {
			r := s.api(c.method, c.path, s.read, c.body)
			want(t, c.method+" "+c.path, r, 403, `"error":"insufficient_scope"`)
			if h := r.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) || !strings.Contains(h, `scope="write"`) {
				t.Errorf("%s %s: WWW-Authenticate %q", c.method, c.path, h)
			}
		}
		if code, _ := s.signIn(ada); code != 200 {
			t.Errorf("after refused writes, sign-in: %d", code)
		}
		if kinds := s.deliver(ada); len(kinds) != 0 {
			t.Errorf("refused writes sent mail: %v", kinds)
		}
		if kinds := s.deliver("new@example.com"); len(kinds) != 0 {
			t.Errorf("a refused invitation was sent: %v", kinds)
		}
	})

	t.Run("list", func(t *testing.T) {
		r := s.api("GET", "/accounts", s.read, "")
		want(t, "list", r, 200, `"email":"ada@example.com"`, `"email":"bob@example.org"`, `"state":"active"`)
		want(t, "contains", s.api("GET", "/accounts?contains=EXAMPLE.ORG", s.read, ""), 200, `"email":"bob@example.org"`)
		if r := s.api("GET", "/accounts?contains=example.org", s.read, ""); strings.Contains(r.text(), ada) {
			t.Errorf("contains example.org lists ada: %s", r.body)
		}
		page := s.api("GET", "/accounts?limit=1", s.read, "")
		var p struct {
			Accounts []tacit.AccountInfo `json:"accounts"`
			Next     int64               `json:"next_after"`
		}
		if err := json.Unmarshal(page.body, &p); err != nil || len(p.Accounts) != 1 || p.Next != p.Accounts[0].ID {
			t.Fatalf("page 1: %v %s", err, page.body)
		}
		page2 := s.api("GET", "/accounts?limit=1&after="+jsonInt(p.Next), s.read, "")
		want(t, "page 2", page2, 200, `"email":"bob@example.org"`)
		if strings.Contains(page2.text(), "next_after") {
			t.Errorf("page 2 is the last: %s", page2.body)
		}
		want(t, "none", s.api("GET", "/accounts?contains=zzz", s.read, ""), 200, `{"accounts":[]}`)
		for q, msg := range map[string]string{
			"state=gone":      "state must be active or disabled",
			"limit=0":         "limit must be a whole number",
			"limit=x":         "limit must be a whole number",
			"after=-1":        "after must be an account ID",
			"sort=email":      "Unknown parameter",
			"limit=1&limit=2": "more than once",
		} {
			want(t, q, s.api("GET", "/accounts?"+q, s.read, ""), 400, `"error":"invalid_input"`, msg)
		}
	})

	t.Run("show", func(t *testing.T) {
		want(t, "show", s.api("GET", "/accounts/"+url.PathEscape(" ADA@Example.com "), s.read, ""), 200,
			`"email":"ada@example.com"`, `"state":"active"`, `"activity":[`)
		want(t, "unknown", s.api("GET", "/accounts/nobody@example.com", s.read, ""), 404, `"error":"no_account"`)
		want(t, "bad address", s.api("GET", "/accounts/not-an-address", s.read, ""), 400, `"error":"invalid_email"`)
	})

	t.Run("disable and enable", func(t *testing.T) {
		want(t, "disable", s.api("POST", "/accounts/"+ada+"/disable", s.write, ""), 200, `"changed":true`, `"state":"disabled"`)
		if code, c := s.signIn(ada); code != 401 || c != nil {
			t.Errorf("a disabled account signed in: %d", code)
		}
		want(t, "disable again", s.api("POST", "/accounts/"+ada+"/disable", s.write, "{}"), 200, `"changed":false`)
		want(t, "list disabled", s.api("GET", "/accounts?state=disabled", s.read, ""), 200, `"email":"ada@example.com"`)
		want(t, "send-reset disabled", s.api("POST", "/accounts/"+ada+"/send-reset", s.write, ""), 409, `"error":"account_disabled"`)
		want(t, "enable", s.api("POST", "/accounts/"+ada+"/enable", s.write, ""), 200, `"changed":true`, `"state":"active"`)
		if code, _ := s.signIn(ada); code != 200 {
			t.Errorf("an enabled account cannot sign in: %d", code)
		}
		want(t, "unknown", s.api("POST", "/accounts/nobody@example.com/disable", s.write, ""), 404, `"error":"no_account"`)
		want(t, "body", s.api("POST", "/accounts/"+ada+"/disable", s.write, `{"really":true}`), 400, `"error":"unknown_field"`)
		want(t, "not json", s.api("POST", "/accounts/"+ada+"/disable", s.write, `{`), 400, `"error":"malformed_json"`)
		if code, _ := s.signIn(ada); code != 200 {
			t.Errorf("bad input changed the account: sign-in %d", code)
		}
	})

	t.Run("end-sessions", func(t *testing.T) {
		_, session := s.signIn(bob)
		if session == nil {
			t.Fatal("no session")
		}
		r := s.api("POST", "/accounts/"+bob+"/end-sessions", s.write, "")
		want(t, "end-sessions", r, 200, `"sessions_ended":1`)
		req, _ := http.NewRequest("GET", s.main+"/api/session", nil)
		req.AddCookie(session)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("the ended session still works: %d", resp.StatusCode)
		}
	})

	t.Run("send-reset", func(t *testing.T) {
		s.deliver(bob)
		want(t, "send-reset", s.api("POST", "/accounts/"+bob+"/send-reset", s.write, ""), 202, `"queued":"reset_password"`)
		if kinds := s.deliver(bob); len(kinds) == 0 || kinds[0] != string(tacit.MailResetPassword) {
			t.Errorf("mails to bob: %v", kinds)
		}
		want(t, "unknown", s.api("POST", "/accounts/nobody@example.com/send-reset", s.write, ""), 404, `"error":"no_account"`)
	})

	t.Run("create", func(t *testing.T) {
		const carl = "carl@example.com"
		want(t, "create", s.api("POST", "/accounts", s.write, `{"email":" Carl@Example.com"}`), 202, `"queued":"finish_signup"`)
		if kinds := s.deliver(carl); len(kinds) != 1 || kinds[0] != string(tacit.MailFinishSignup) {
			t.Errorf("mails to carl: %v", kinds)
		}
		want(t, "has account", s.api("POST", "/accounts", s.write, `{"email":"`+ada+`"}`), 409, `"error":"has_account"`)
		want(t, "no email", s.api("POST", "/accounts", s.write, `{}`), 400, `"error":"invalid_input"`)
		want(t, "bad email", s.api("POST", "/accounts", s.write, `{"email":"nope"}`), 400, `"error":"invalid_email"`)
		want(t, "unknown field", s.api("POST", "/accounts", s.write, `{"email":"x@example.com","admin":"yes"}`), 400, `"error":"unknown_field"`)
		want(t, "no body", s.api("POST", "/accounts", s.write, ""), 415, `"error":"unsupported_media_type"`)
	})

	t.Run("delete", func(t *testing.T) {
		want(t, "delete", s.api("DELETE", "/accounts/"+bob, s.write, ""), 200, `"deleted":true`)
		want(t, "show deleted", s.api("GET", "/accounts/"+bob, s.read, ""), 404, `"error":"no_account"`)
		want(t, "delete again", s.api("DELETE", "/accounts/"+bob, s.write, ""), 404, `"error":"no_account"`)
		if code, _ := s.signIn(bob); code != 401 {
			t.Errorf("a deleted account signed in: %d", code)
		}
		// Sign-up works again: the address gets the mail of an address
		// without an account.
		s.deliver(bob)
		r := s.call(s.main, "POST", "/api/register", "", `{"email":"`+bob+`"}`)
		want(t, "sign up again", r, 202, `"check_inbox"`)
		if kinds := s.deliver(bob); len(kinds) == 0 || kinds[0] != string(tacit.MailFinishSignup) {
			t.Errorf("sign-up after delete mailed %v, want finish_signup first", kinds)
		}
	})

	t.Run("audit", func(t *testing.T) {
		info, events, err := s.op.Show(context.Background(), ada, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, e := range events {
			if e.Kind == tacit.EventAdminAPI {
				got[e.Actor+" "+e.Operation+" "+e.Outcome] = true
			}
		}
		for _, w := range []string{
			"ops disable done", "ops disable unchanged", "ops enable done",
			"desk disable refused: insufficient scope", "desk show done", "ops send-reset refused: account_disabled",
			"ops create refused: has_account", "ops disable refused: unknown_field",
		} {
			if !got[w] {
				t.Errorf("%s: no audit record %q in %v", info.Email, w, got)
			}
		}
		logs := s.logs.String()
		for _, line := range []string{
			`msg="admin api" token=ops operation=disable target=ada@example.com outcome=done status=200`,
			`msg="admin api" token="" operation=disable target=ada@example.com outcome="refused: invalid token" status=401`,
			`msg="admin api" token="" operation=list target="" outcome="refused: no token" status=401`,
			`msg="admin api" token=ops operation=delete target=bob@example.org outcome=done status=200 ip=127.0.0.1 in_activity=false`,
		} {
			if !strings.Contains(logs, line) {
				t.Errorf("no log line %s in:\n%s", line, logs)
			}
		}
		for _, secret := range []string{s.read, s.write, strings.SplitN(s.write, ".", 2)[1]} {
			if strings.Contains(logs, secret) {
				t.Errorf("a token is in the log")
			}
		}
		var used time.Time
		list, err := s.op.AdminTokens(context.Background())
		for _, tok := range list {
			if tok.Name == "ops" {
				used = tok.LastUsedAt
			}
		}
		if err != nil || used.IsZero() {
			t.Errorf("ops's last use not recorded: %v %v", used, err)
		}
	})
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestAdminAPIOff: with the administration API off (the default), its
// paths are like any path nothing serves, token or not, for an address
// with an account as for one without, and nothing changes.
func TestAdminAPIOff(t *testing.T) {
	s := newAdminServer(t, testenv.SQLite(t), false, false)
	const ada, nobody = "ada@example.com", "nobody@example.com"
	s.account(ada)
	nothing := s.call(s.main, "GET", "/no/such/page", "", "")
	for _, tok := range []string{"", s.read, s.write} {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/accounts", ""}, {"GET", "/accounts/%s", ""}, {"POST", "/accounts/%s/disable", ""},
			{"DELETE", "/accounts/%s", ""}, {"POST", "/accounts/%s/send-reset", ""}, {"POST", "/accounts", `{"email":"%s"}`},
		} {
			path := func(email string) string { return strings.ReplaceAll(c.path, "%s", email) }
			body := func(email string) string { return strings.ReplaceAll(c.body, "%s", email) }
			known := s.api(c.method, path(ada), tok, body(ada))
			unknown := s.api(c.method, path(nobody), tok, body(nobody))
			what := c.method + " /admin/api" + c.path
			if known.StatusCode != 404 {
				t.Errorf("%s: %d, want 404", what, known.StatusCode)
			}
			sameResponse(t, what+": known vs unknown", known, unknown, ada, nobody)
			if c.method == "GET" {
				sameResponse(t, what+": vs a path nothing serves", known, nothing, ada, "unused@example.invalid")
			}
		}
	}
	if code, _ := s.signIn(ada); code != 200 {
		t.Errorf("the off API changed the account: sign-in %d", code)
	}
	if kinds := s.deliver(ada); len(kinds) != 0 {
		t.Errorf("the off API sent mail: %v", kinds)
	}
}

// TestAdminAPIOwnAddress: served on an address of its own, the
// administration API is there only: the main handler answers 404 for
// its paths, and the admin handler serves nothing but the API.
func TestAdminAPIOwnAddress(t *testing.T) {
	for _, e := range adminEngines {
		t.Run(e.name, func(t *testing.T) {
			s := newAdminServer(t, e.open(t), false, true)
			s.account("ada@example.com")
			want(t, "own address", s.call(s.own, "GET", "/admin/api/accounts/ada@example.com", s.read, ""), 200, `"email":"ada@example.com"`)
			want(t, "own address, no token", s.call(s.own, "GET", "/admin/api/accounts", "", ""), 401, `"unauthenticated"`)
			want(t, "own address, write", s.call(s.own, "POST", "/admin/api/accounts/ada@example.com/disable", s.write, ""), 200, `"changed":true`)
			want(t, "main address", s.call(s.main, "GET", "/admin/api/accounts", s.read, ""), 404)
			want(t, "main address, write", s.call(s.main, "POST", "/admin/api/accounts/ada@example.com/enable", s.write, ""), 404)
			want(t, "own address, a page", s.call(s.own, "GET", "/login", "", ""), 404, `"error":"not_found"`)
			want(t, "own address, wrong method", s.call(s.own, "PUT", "/admin/api/accounts", s.write, ""), 405, `"error":"method_not_allowed"`)
			want(t, "own address, sign-in", s.call(s.own, "POST", "/api/login", "", `{"email":"ada@example.com","password":"x"}`), 404)
			r := s.call(s.own, "GET", "/admin/api/accounts", s.read, "")
			if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("own address headers: %v", r.Header)
			}
			if !bytes.Contains([]byte(s.logs.String()), []byte(`msg="admin api" token=ops operation=disable`)) {
				t.Errorf("the own address's calls are not logged:\n%s", s.logs.String())
			}
		})
	}
}

// TestAdminAPIOnUniformWithoutToken: with the administration API on the
// main address, a caller without a valid token learns nothing of any
// address: the 401 answers for an address with an account, a disabled
// one and one without are the same, whatever the operation, and the
// accounts' activity gets nothing from them.
func TestAdminAPIOnUniformWithoutToken(t *testing.T) {
	s := newAdminServer(t, testenv.SQLite(t), true, false)
	const ada, dora, nobody = "ada@example.com", "dora@example.com", "nobody@example.com"
	s.account(ada)
	s.account(dora)
	if _, err := s.op.Disable(context.Background(), dora); err != nil {
		t.Fatal(err)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(s.write, "tacit_admin_"), ".")
	wrong, _ := tacit.NewToken()
	for _, tok := range []string{"", "nonsense", "tacit_admin_" + id + "." + wrong} {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/accounts/%s", ""}, {"POST", "/accounts/%s/disable", ""}, {"POST", "/accounts/%s/send-reset", ""},
			{"DELETE", "/accounts/%s", ""}, {"POST", "/accounts", `{"email":"%s"}`},
		} {
			var first reply
			var firstEmail string
			for _, email := range []string{ada, dora, nobody} {
				r := s.api(c.method, strings.ReplaceAll(c.path, "%s", email), tok, strings.ReplaceAll(c.body, "%s", email))
				if r.StatusCode != 401 {
					t.Errorf("%s %s %s: %d, want 401", tok, c.method, c.path, r.StatusCode)
				}
				if firstEmail == "" {
					first, firstEmail = r, email
					continue
				}
				sameResponse(t, c.method+" "+c.path+" token "+tok, first, r, firstEmail, email)
			}
		}
	}
	for _, email := range []string{ada, dora} {
		_, events, err := s.op.Show(context.Background(), email, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Kind == tacit.EventAdminAPI {
				t.Errorf("%s: a call without a valid token was recorded in the activity: %+v", email, e)
			}
		}
	}
}

package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/mail"
	"github.com/tacitauth/tacit/metrics"
	"github.com/tacitauth/tacit/openid"
	"github.com/tacitauth/tacit/sqlite"
)

// harness is a real tacit server for tests: a SQLite file, and an
// Instance with fast hashing, no envelope and the dev sender, on a
// loopback port.
type harness struct {
	// t is the test using the harness; subtests that share one harness
	// set it to themselves so failures are reported where they happen.
	t      testing.TB
	url    string
	client *http.Client
	store  *sqlite.DB
	hasher *argon2id.Hasher
	svc    *flow.Service
	worker *mail.Worker
	ck     cookies
	// handler is the server's handler, for in-process fuzzing.
	handler http.Handler
	// skew is added to the flows' clock, to age sessions.
	skew atomic.Int64
	logs *lockedBuffer
}

// options vary the server under test.
type options struct {
	mode         flow.Mode
	policy       tacit.PasswordPolicy
	secure       bool
	noDevMailbox bool
	maxBody      int64
	// publicURL, if set, is the Config.BaseURL the HTTP layer is told
	// (for HSTS); mail links still point at the test server.
	publicURL string
	// limits are the throttling rules; nil means testenv.RoomyLimits.
	limits *flow.Limits
	// frozen stops the flows' clock at the harness's start; only skew
	// moves it. Throttling sequences then do not depend on how fast the
	// machine is.
	frozen bool
	// trusted are the trusted proxies of the HTTP layer.
	trusted []netip.Prefix
	// sender replaces the dev mail driver; the dev mailbox stays empty.
	sender mail.Sender
	// ready is Config.Ready.
	ready func(context.Context) error
	// metrics is Config.Metrics, served at /metrics.
	metrics *metrics.Metrics
	// forwardAuth is Config.ForwardAuth.
	forwardAuth ForwardAuth
	// oidc, if set, turns the OpenID Connect provider on with these
	// clients.
	oidc []openid.Client
	// passkeys names the server localhost instead of 127.0.0.1 in its
	// base URL, which WebAuthn needs (a host name, not an address).
	passkeys bool
	// proof is the proof-of-work mode and cost; "" means off, so the
	// throttling tests see 429s; proof_test.go sets it.
	proof     flow.ProofMode
	proofCost int
}

func newHarness(t testing.TB, o options) *harness {
	t.Helper()
	db, hasher := testenv.SQLite(t), testenv.Hasher(t)

	srv := httptest.NewUnstartedServer(nil)
	base, _ := url.Parse("http://" + srv.Listener.Addr().String())
	if o.passkeys {
		base.Host = "localhost:" + base.Port()
	}
	links := tacit.Links{Base: base}
	h := &harness{t: t, url: base.String(), store: db, hasher: hasher, ck: newCookies(o.secure), logs: &lockedBuffer{}}

	if o.limits == nil {
		o.limits = testenv.RoomyLimits()
	}
	if o.proof == "" {
		o.proof = flow.ProofOff
	}
	var sender mail.Sender = mail.DevSender{Box: db}
	if o.sender != nil {
		sender = o.sender
	}
	cfg := Config{
		BaseURL: base, SecureCookies: o.secure, DevMailbox: db, MaxBodyBytes: o.maxBody, TrustedProxies: o.trusted,
		Ready: o.ready, Metrics: o.metrics, MetricsRoute: o.metrics != nil, ForwardAuth: o.forwardAuth,
		Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if o.noDevMailbox {
		cfg.DevMailbox = nil
	}
	if o.publicURL != "" {
		cfg.BaseURL, _ = url.Parse(o.publicURL)
	}
	// Whole microseconds, as the store keeps times, so frozen waits are
	// exact.
	start := time.Now().Truncate(time.Microsecond)
	if o.oidc != nil {
		p, err := openid.New(context.Background(), db, openid.Config{Issuer: base.String(), Clients: o.oidc, Insecure: true,
			Now: func() time.Time { return time.Now().Add(time.Duration(h.skew.Load())) }})
		if err != nil {
			t.Fatal(err)
		}
		cfg.OpenID = p
	}
	inst, err := NewInstance(Options{
		Store: db, Hasher: hasher, Sender: sender, Config: cfg,
		Flow: flow.Config{
			Mode: o.mode, Policy: o.policy, Links: links, Limits: o.limits, Proof: o.proof, ProofCost: o.proofCost,
			Now: func() time.Time {
				if o.frozen {
					return start.Add(time.Duration(h.skew.Load()))
				}
				return time.Now().Add(time.Duration(h.skew.Load()))
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Mail goes out only when a test calls deliver, so that tests see
	// the outbox at known points: the instance does not Run.
	h.svc, h.worker, h.handler = inst.Service(), inst.worker, inst
	srv.Config.Handler = h.handler
	srv.Start()
	t.Cleanup(srv.Close)

	h.client = &http.Client{
		Timeout: 10 * time.Second,
		// Tests look at redirects themselves.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return h
}

// reply is a response with its body read.
type reply struct {
	*http.Response
	body []byte
}

func (r reply) text() string { return string(r.body) }

// cookie returns the Set-Cookie of the reply named name, or nil.
func (r reply) cookie(name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (h *harness) do(req *http.Request) reply {
	h.t.Helper()
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return reply{resp, body}
}

func (h *harness) newRequest(method, path string, body io.Reader) *http.Request {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	return req
}

// get fetches path with the given cookies.
func (h *harness) get(path string, cookies ...*http.Cookie) reply {
	req := h.newRequest(http.MethodGet, path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return h.do(req)
}

// postJSON posts body as JSON with the given cookies.
func (h *harness) postJSON(path, body string, cookies ...*http.Cookie) reply {
	req := h.newRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return h.do(req)
}

// deliver runs the outbox worker until the outbox is empty.
func (h *harness) deliver() {
	h.t.Helper()
	for {
		n, err := h.worker.RunOnce(context.Background())
		if err != nil {
			h.t.Fatalf("deliver mail: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

// mails returns the dev mailbox, newest first.
func (h *harness) mails() []tacit.DevMail {
	h.t.Helper()
	ms, err := h.store.DevMails(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return ms
}

// mailsTo returns the captured mails to addr, newest first.
func (h *harness) mailsTo(addr string) []tacit.DevMail {
	var out []tacit.DevMail
	for _, m := range h.mails() {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

// browser is one client with its own cookies, as a browser keeps them.
type browser struct {
	h   *harness
	jar map[string]*http.Cookie
	// ua is the User-Agent it sends; "" leaves Go's default.
	ua string
	// forwardedFor, if set, is sent as X-Forwarded-For, as a proxy in
	// front of the server would add it.
	forwardedFor string
}

func (h *harness) browser() *browser { return &browser{h: h, jar: map[string]*http.Cookie{}} }

func (b *browser) send(req *http.Request) reply {
	for _, c := range b.jar {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	if b.ua != "" {
		req.Header.Set("User-Agent", b.ua)
	}
	if b.forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", b.forwardedFor)
	}
	r := b.h.do(req)
	for _, c := range r.Cookies() {
		if c.MaxAge < 0 {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c
		}
	}
	return r
}

func (b *browser) get(path string) reply {
	return b.send(b.h.newRequest(http.MethodGet, path, nil))
}

// postForm posts vals as an HTML form would, adding the CSRF token from
// the cookie unless vals has one.
func (b *browser) postForm(path string, vals url.Values) reply {
	if _, ok := vals[csrfField]; !ok {
		if c := b.jar[b.h.ck.csrfName]; c != nil {
			vals = cloneValues(vals)
			vals.Set(csrfField, c.Value)
		}
	}
	req := b.h.newRequest(http.MethodPost, path, strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(req)
}

func (b *browser) postJSON(path, body string) reply {
	req := b.h.newRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return b.send(req)
}

func (b *browser) delete(path string) reply {
	return b.send(b.h.newRequest(http.MethodDelete, path, nil))
}

// signIn signs the browser in through the JSON API and fails the test
// unless that works.
func (b *browser) signIn(email, password string) {
	b.h.t.Helper()
	r := b.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": password}))
	if r.StatusCode != http.StatusOK || b.session() == "" {
		b.h.t.Fatalf("sign in as %s: %d %s", email, r.StatusCode, r.text())
	}
}

// session returns the browser's session cookie value, or "".
func (b *browser) session() string {
	if c := b.jar[b.h.ck.sessionName]; c != nil {
		return c.Value
	}
	return ""
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// lockedBuffer collects log output from concurrent handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

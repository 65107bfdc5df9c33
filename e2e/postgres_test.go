package e2e

// Several tacit processes on one PostgreSQL database, and a database outage
// in the middle of a burst of sign-ups. These tests need a PostgreSQL
// server: set TACIT_TEST_POSTGRES to its URL, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Each test works
// in a schema of its own, created before and dropped after.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/mail"
)

// pgSchema is an empty schema of its own on the test server.
type pgSchema struct {
	Name string
	URL  string        // the server URL with search_path set to Name
	Pool *pgxpool.Pool // for the test's own checks, in Name
}

// newPGSchema creates a fresh schema, dropped when the test ends, or skips
// the test without TACIT_TEST_POSTGRES. Create it before starting servers
// on it: cleanups run last-registered first, so the servers stop before
// the schema goes.
func newPGSchema(t *testing.T) *pgSchema {
	t.Helper()
	s := &pgSchema{}
	s.URL, s.Name = testenv.PostgresSchema(t)
	var err error
	if s.Pool, err = pgxpool.New(context.Background(), s.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Pool.Close)
	return s
}

// count runs a query that returns one number.
func (s *pgSchema) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// recipients runs a query of one text column and counts each value.
func (s *pgSchema) recipients(t *testing.T, query string) map[string]int {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out[v]++
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// recordDeliveries makes the schema keep a log of every mail the dev
// driver delivers. The dev mailbox itself keeps only the newest 200 mails
// (it is a development aid), so counting its rows cannot show a thousand
// mails delivered once each; a trigger that copies every row inserted into
// it can. A delivery rolled back with its transaction leaves no copy, as it
// leaves no mail. Call it after the first server has migrated the schema.
func (s *pgSchema) recordDeliveries(t *testing.T) {
	t.Helper()
	for _, stmt := range []string{
		`CREATE TABLE ` + s.Name + `.delivered (id BIGSERIAL PRIMARY KEY, recipient TEXT NOT NULL)`,
		`CREATE FUNCTION ` + s.Name + `.record_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN INSERT INTO ` + s.Name + `.delivered (recipient) VALUES (NEW.recipient); RETURN NEW; END $$`,
		`CREATE TRIGGER record_delivery AFTER INSERT ON ` + s.Name + `.dev_mailbox
		 FOR EACH ROW EXECUTE FUNCTION ` + s.Name + `.record_delivery()`,
	} {
		if _, err := s.Pool.Exec(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// deliveries returns how many times each recipient has been delivered a
// mail since recordDeliveries.
func (s *pgSchema) deliveries(t *testing.T) map[string]int {
	t.Helper()
	return s.recipients(t, `SELECT recipient FROM delivered`)
}

// pgEnv is the environment of a fast test server on dbURL: cheap hashes
// and no envelope, since these tests time nothing that depends on them.
func pgEnv(dbURL string, extra ...string) []string {
	return append([]string{
		"TACIT_DATABASE_URL=" + dbURL,
		"TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s",
	}, extra...)
}

// TestPostgresSharedSession signs up and finishes on one instance and uses
// the session on another; signing out on the second ends it on the first.
func TestPostgresSharedSession(t *testing.T) {
	db := newPGSchema(t)
	a := startServer(t, pgEnv(db.URL)...)
	b := startServer(t, pgEnv(db.URL)...)
	c := &http.Client{Timeout: 10 * time.Second}

	const email, password = "shared@example.com", "shared password 1"
	if code, body := postJSON(t, c, a.URL+"/api/register", map[string]string{"email": email}); code != http.StatusAccepted {
		t.Fatalf("register on A: %d %s", code, body)
	}
	token := mailToken(t, a, email)
	body, _ := json.Marshal(map[string]string{"token": token, "password": password, "password_confirm": password})
	resp, err := c.Post(a.URL+"/api/register/complete", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("complete on A: %d, want 201", resp.StatusCode)
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "tacit_session" {
			cookie = ck
		}
	}
	if cookie == nil {
		t.Fatalf("complete on A set no tacit_session cookie: %v", resp.Header["Set-Cookie"])
	}

	onA, codeA := getSession(t, c, a, cookie)
	onB, codeB := getSession(t, c, b, cookie)
	if codeA != http.StatusOK || codeB != http.StatusOK {
		t.Fatalf("GET /api/session with A's cookie: A %d, B %d; want 200 on both", codeA, codeB)
	}
	if onB.Account.Email != email || onB.Account.ID == 0 || onB.Account != onA.Account {
		t.Errorf("B sees account %+v, A sees %+v; want %s on both", onB.Account, onA.Account, email)
	}

	// Signing out on B ends the session everywhere.
	req, _ := http.NewRequest(http.MethodPost, b.URL+"/api/logout", nil)
	req.AddCookie(cookie)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout on B: %d, want 204", resp.StatusCode)
	}
	if _, code := getSession(t, c, a, cookie); code != http.StatusUnauthorized {
		t.Errorf("GET /api/session on A after logout on B: %d, want 401", code)
	}
}

// sessionInfo is the part of GET /api/session these tests compare.
type sessionInfo struct {
	Account struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
	} `json:"account"`
}

// getSession asks s who the session cookie belongs to.
func getSession(t *testing.T, c *http.Client, s *server, cookie *http.Cookie) (sessionInfo, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/session", nil)
	req.AddCookie(cookie)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info sessionInfo
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
			t.Fatal(err)
		}
	}
	return info, resp.StatusCode
}

// lockRule locks an address after five failed sign-ins for 15 minutes,
// without the growing delays of the default rule: a delay of a second or
// two could run out in the middle of the sequence on a slow machine and
// let a sixth guess through, on one instance as on two. Retry-After is
// the lock's remainder rounded up, so it reads 900 for every refusal sent
// within a second of the fifth failure; refusals cost no hash, and the
// eleven take some 50 ms.
const lockRule = "TACIT_LIMIT_LOGIN=free=5 lock=5 lock_for=15m"

// TestPostgresSharedLockout sends 15 wrong passwords, then the right one,
// alternately to two instances, and checks that the answers, Retry-After
// included, are those of the same sequence sent to one instance.
func TestPostgresSharedLockout(t *testing.T) {
	const email, password = "locked@example.com", "locked password 1"
	run := func(instances int) []string {
		db := newPGSchema(t)
		env := pgEnv(db.URL, lockRule, "TACIT_LIMIT_LOGIN_IP=off")
		servers := make([]*server, instances)
		for i := range servers {
			servers[i] = startServer(t, env...)
		}
		signUp(t, servers[0], email, password)
		c := &http.Client{Timeout: 10 * time.Second}
		var answers []string
		for i := range 16 {
			pw := "wrong password " + strconv.Itoa(i)
			if i == 15 {
				pw = password // locked: even the right password is refused
			}
			s := servers[i%instances]
			resp, err := c.Post(s.URL+"/api/login", "application/json",
				strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, pw)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers = append(answers, fmt.Sprintf("%d retry-after=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), bytes.TrimSpace(body)))
		}
		return answers
	}
	start := time.Now()
	one := run(1)
	two := run(2)
	t.Logf("both sequences took %v", time.Since(start).Round(time.Millisecond))

	var want []string
	for range 5 {
		want = append(want, `401 retry-after="" {"error":"invalid_credentials"}`)
	}
	for range 11 {
		want = append(want, `429 retry-after="900" {"error":"too_many_requests"}`)
	}
	if !slices.Equal(one, want) {
		t.Errorf("one instance answered\n%s\nwant\n%s", strings.Join(one, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(two, one) {
		t.Errorf("two instances answered\n%s\none instance\n%s", strings.Join(two, "\n"), strings.Join(one, "\n"))
	}
}

// mailSentLine is the worker's log line for a delivered mail.
var mailSentLine = regexp.MustCompile(`msg="mail sent".* id=(\d+) `)

// sentIDs returns the outbox ids that s's mail worker logged as sent.
func sentIDs(s *server) []int64 {
	var ids []int64
	for _, m := range mailSentLine.FindAllStringSubmatch(s.log.String(), -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		ids = append(ids, id)
	}
	return ids
}

// TestPostgresMailOnce queues 1,000 mails through two instances and checks
// that their workers, claiming from the one outbox, deliver each exactly
// once between them.
func TestPostgresMailOnce(t *testing.T) {
	const signups, clients = 1000, 16
	db := newPGSchema(t)
	env := pgEnv(db.URL, "TACIT_LIMIT_REQUESTS_IP=off", "TACIT_LIMIT_MAIL=off")
	a := startServer(t, env...)
	db.recordDeliveries(t)
	b := startServer(t, env...)
	logOnFailure(t, a)
	logOnFailure(t, b)
	servers := []*server{a, b}

	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < signups; i = int(next.Add(1)) - 1 {
				email := fmt.Sprintf("once-%d@example.com", i)
				resp, err := c.Post(servers[i%2].URL+"/api/register", "application/json", strings.NewReader(`{"email":"`+email+`"}`))
				if err != nil {
					t.Errorf("register %s: %v", email, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					t.Errorf("register %s: %d, want 202", email, resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	queued := time.Since(start)
	if t.Failed() {
		return
	}

	waitFor(t, 30*time.Second, "every mail sent", func() bool {
		return db.count(t, `SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL`) == signups
	})
	t.Logf("%d sign-ups answered in %v; all mail sent after %v", signups, queued.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	// A worker delivers before it records the mail sent, and a sent mail
	// is never claimed again: no delivery can come after this point.

	if n := db.count(t, `SELECT count(*) FROM outbox`); n != signups {
		t.Errorf("outbox rows: %d, want %d", n, signups)
	}
	if n := db.count(t, `SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL AND failed_at IS NULL AND attempts = 1`); n != signups {
		t.Errorf("outbox rows sent on the first attempt: %d, want %d", n, signups)
	}
	delivered := db.deliveries(t)
	if len(delivered) != signups {
		t.Errorf("recipients delivered: %d, want %d", len(delivered), signups)
	}
	for i := range signups {
		email := fmt.Sprintf("once-%d@example.com", i)
		if n := delivered[email]; n != 1 {
			t.Errorf("%s delivered %d times, want 1", email, n)
		}
	}
	// The dev mailbox itself keeps its newest 200.
	if n, d := db.count(t, `SELECT count(*) FROM dev_mailbox`), db.count(t, `SELECT count(DISTINCT recipient) FROM dev_mailbox`); n != 200 || d != 200 {
		t.Errorf("dev mailbox holds %d mails to %d recipients, want its cap of 200 to 200", n, d)
	}

	// Each worker's log names the mails it sent: together every outbox
	// row once, and both took a share.
	idsA, idsB := sentIDs(a), sentIDs(b)
	all := slices.Concat(idsA, idsB)
	slices.Sort(all)
	distinct := len(slices.Compact(slices.Clone(all)))
	if len(all) != signups || distinct != signups {
		t.Errorf("workers logged %d sends of %d distinct mails, want %d of %d", len(all), distinct, signups, signups)
	}
	if len(idsA) == 0 || len(idsB) == 0 {
		t.Errorf("A sent %d mails, B %d: want both to share the outbox", len(idsA), len(idsB))
	}
	t.Logf("A sent %d mails, B sent %d", len(idsA), len(idsB))
}

// logOnFailure shows s's log, less its line per request, if the test
// fails: what the server saw of the database is in it.
func logOnFailure(t *testing.T, s *server) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var lines []string
		for line := range strings.Lines(s.log.String()) {
			if !strings.Contains(line, "msg=request ") && !strings.Contains(line, `msg="mail sent"`) {
				lines = append(lines, line)
			}
		}
		t.Logf("log of %s, without requests and sent mail:\n%s", s.URL, strings.Join(lines, ""))
	})
}

// waitFor polls cond until it holds, or fails the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pgProxy is a TCP proxy between tacit and PostgreSQL that can fail like a
// network: cut cuts every open connection and then blackholes new ones
// (accepts them and passes nothing, as a partition or a frozen host does,
// so a client learns nothing until its own deadline); restore passes
// traffic again, held connections included, as a healed partition does.
type pgProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	open  map[net.Conn]struct{} // both ends of every proxied connection
	held  []net.Conn            // accepted while down
	total int                   // connections accepted
}

// startPGProxy proxies 127.0.0.1:<free port> to target (host:port). It
// stops when the test ends.
func startPGProxy(t *testing.T, target string) *pgProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target, open: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *pgProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.total++
		if p.down {
			p.held = append(p.held, c)
			p.mu.Unlock()
			continue
		}
		p.mu.Unlock()
		go p.forward(c)
	}
}

// forward pipes c to a new connection to the target until either side
// closes.
func (p *pgProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down { // cut while dialling
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.open[c], p.open[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.open, c)
	delete(p.open, up)
	p.mu.Unlock()
}

// cut closes every proxied connection and holds new ones. It returns how
// many connections it cut.
func (p *pgProxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	n := len(p.open) / 2
	for c := range p.open {
		c.Close()
	}
	clear(p.open)
	return n
}

// restore passes traffic again, starting with the held connections. It
// returns how many were held.
func (p *pgProxy) restore() int {
	p.mu.Lock()
	p.down = false
	held := p.held
	p.held = nil
	p.mu.Unlock()
	for _, c := range held {
		go p.forward(c)
	}
	return len(held)
}

func (p *pgProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.open {
		c.Close()
	}
	for _, c := range p.held {
		c.Close()
	}
}

// viaProxy returns dbURL with its host and port replaced by the proxy's.
func viaProxy(t *testing.T, dbURL string, p *pgProxy) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

// signupResult is one sign-up request of a burst.
type signupResult struct {
	email      string
	status     int // 0 if the request got no answer
	err        error
	start, end time.Time
}

// readyProbe is one GET /readyz during a burst.
type readyProbe struct {
	at     time.Time
	status int
}

// signupBurst sends sign-ups for fresh addresses from several clients at
// once, and probes /readyz, until finished.
type signupBurst struct {
	s    *server
	c    *http.Client
	seq  atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	results []signupResult
	probes  []readyProbe
}

func startSignupBurst(s *server, clients int) *signupBurst {
	b := &signupBurst{
		s:    s,
		c:    &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}},
		stop: make(chan struct{}),
	}
	for range clients {
		b.wg.Go(b.signUp)
	}
	b.wg.Go(b.probe)
	return b
}

// signUp sends sign-ups one after another until the burst is finished.
func (b *signupBurst) signUp() {
	for b.pause(20 * time.Millisecond) { // a burst, not a flood
		r := signupResult{email: fmt.Sprintf("outage-%d@example.com", b.seq.Add(1)), start: time.Now()}
		resp, err := b.c.Post(b.s.URL+"/api/register", "application/json", strings.NewReader(`{"email":"`+r.email+`"}`))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			r.status = resp.StatusCode
		}
		r.err, r.end = err, time.Now()
		b.mu.Lock()
		b.results = append(b.results, r)
		b.mu.Unlock()
	}
}

// probe asks /readyz ten times a second until the burst is finished.
func (b *signupBurst) probe() {
	for b.pause(100 * time.Millisecond) {
		p := readyProbe{at: time.Now()}
		if resp, err := b.c.Get(b.s.URL + "/readyz"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			p.status = resp.StatusCode
		}
		b.mu.Lock()
		b.probes = append(b.probes, p)
		b.mu.Unlock()
	}
}

// pause waits d and reports whether the burst goes on.
func (b *signupBurst) pause(d time.Duration) bool {
	select {
	case <-b.stop:
		return false
	case <-time.After(d):
		return true
	}
}

// finish stops the burst and returns what it saw.
func (b *signupBurst) finish() ([]signupResult, []readyProbe) {
	close(b.stop)
	b.wg.Wait()
	return b.results, b.probes
}

// Outage timings. The request timeout is shorter than the outage so that
// requests caught in it must be ended by the server's deadline, not by
// the database coming back.
const (
	outageRequestTimeout = time.Second
	outageLength         = 3 * time.Second
	// outageAnswerBound is the longest any request may take: the request
	// timeout, plus time for pgx to drop the connection and for the
	// answer, with room for a loaded machine. It is well below the
	// outage, so only the deadline can meet it.
	outageAnswerBound = 2500 * time.Millisecond
	// recovered is how soon after the outage every sign-up must succeed
	// and /readyz say 200 again.
	recovered = time.Second
)

// TestPostgresOutage cuts tacit off from PostgreSQL for three seconds in
// the middle of a burst of sign-ups, and checks that no request hangs,
// that requests during the outage get 500 and nothing else, that every
// sign-up answered 202 is mailed, and that the server recovers by itself.
func TestPostgresOutage(t *testing.T) {
	db := newPGSchema(t)
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startPGProxy(t, u.Host)
	s := startServer(t, pgEnv(viaProxy(t, db.URL, proxy),
		"TACIT_LIMIT_REQUESTS_IP=off", "TACIT_LIMIT_MAIL=off",
		"TACIT_REQUEST_TIMEOUT="+outageRequestTimeout.String())...)
	db.recordDeliveries(t)
	logOnFailure(t, s)

	burst := startSignupBurst(s, 8)
	time.Sleep(time.Second)
	cutAt := time.Now()
	cut := proxy.cut()
	time.Sleep(outageLength)
	held := proxy.restore()
	restoredAt := time.Now()
	time.Sleep(recovered + 1500*time.Millisecond)
	results, probes := burst.finish()
	proxy.mu.Lock()
	total := proxy.total
	proxy.mu.Unlock()
	t.Logf("cut %d connections; held %d during the outage; %d connections in all", cut, held, total)

	checkOutageAnswers(t, results, cutAt, restoredAt)
	checkOutageReadiness(t, probes, cutAt, restoredAt)
	checkOutageMail(t, db, results, restoredAt)
}

// checkOutageAnswers checks that every sign-up was answered in time with
// 202 or 500; that those sent and answered within the outage got 500; and
// that those sent once it was over got 202.
func checkOutageAnswers(t *testing.T, results []signupResult, cutAt, restoredAt time.Time) {
	t.Helper()
	var slowest time.Duration
	var during, after int
	byStatus := map[int]int{}
	for _, r := range results {
		d := r.end.Sub(r.start)
		slowest = max(slowest, d)
		byStatus[r.status]++
		switch {
		case r.err != nil:
			t.Errorf("%s: no answer after %v: %v", r.email, d, r.err)
		case d > outageAnswerBound:
			t.Errorf("%s: answered %d after %v, want within %v", r.email, r.status, d, outageAnswerBound)
		case r.status != http.StatusAccepted && r.status != http.StatusInternalServerError:
			t.Errorf("%s: answered %d, want 202 or 500", r.email, r.status)
		}
		if r.start.After(cutAt) && r.end.Before(restoredAt) {
			during++
			if r.status != http.StatusInternalServerError {
				t.Errorf("%s: sent %v into the outage, answered %d, want 500", r.email, r.start.Sub(cutAt).Round(time.Millisecond), r.status)
			}
		}
		if r.start.After(restoredAt.Add(recovered)) {
			after++
			if r.status != http.StatusAccepted {
				t.Errorf("%s: sent %v after the outage, answered %d, want 202", r.email, r.start.Sub(restoredAt).Round(time.Millisecond), r.status)
			}
		}
	}
	t.Logf("%d sign-ups, by status %v; %d inside the outage, %d after it; slowest answer %v",
		len(results), byStatus, during, after, slowest.Round(time.Millisecond))
	if during == 0 || after == 0 {
		t.Errorf("%d sign-ups inside the outage, %d after it: want some of each", during, after)
	}
}

// checkOutageReadiness checks that /readyz said 503 during the outage and
// 200 once it was over.
func checkOutageReadiness(t *testing.T, probes []readyProbe, cutAt, restoredAt time.Time) {
	t.Helper()
	var notReady, readyAfter int
	for _, p := range probes {
		if p.at.After(cutAt) && p.at.Before(restoredAt) && p.status == http.StatusServiceUnavailable {
			notReady++
		}
		if p.at.After(restoredAt.Add(recovered)) {
			if p.status != http.StatusOK {
				t.Errorf("/readyz %v after the outage: %d, want 200", p.at.Sub(restoredAt).Round(time.Millisecond), p.status)
			}
			readyAfter++
		}
	}
	if notReady == 0 || readyAfter == 0 {
		t.Errorf("/readyz: %d answers 503 during the outage, %d 200 after it; want some of each", notReady, readyAfter)
	}
}

// checkOutageMail checks that every sign-up answered 202 was queued once
// and mailed, and that no other was queued twice. Mail the outage caught
// in the worker's hands waits for its claim to lapse (see mail.Worker), so
// this allows a lease and then some.
func checkOutageMail(t *testing.T, db *pgSchema, results []signupResult, restoredAt time.Time) {
	t.Helper()
	queued := db.recipients(t, `SELECT recipient FROM outbox`)
	var accepted []string
	for _, r := range results {
		switch n := queued[r.email]; {
		case r.status == http.StatusAccepted && n != 1:
			t.Errorf("%s: answered 202, queued %d mails, want 1", r.email, n)
		case r.status == http.StatusAccepted:
			accepted = append(accepted, r.email)
		case n > 1:
			// A 500 may still have committed (the cut can fall between
			// COMMIT and its answer), but only once.
			t.Errorf("%s: answered %d, queued %d mails, want 0 or 1", r.email, r.status, n)
		}
	}
	waitStart := time.Now()
	waitFor(t, mail.DefaultLease+20*time.Second, "every accepted sign-up mailed", func() bool {
		delivered := db.deliveries(t)
		for _, e := range accepted {
			if delivered[e] == 0 {
				return false
			}
		}
		return true
	})
	delivered := db.deliveries(t)
	var twice int
	for _, n := range delivered {
		if n > 1 {
			twice++
		}
	}
	retried := db.count(t, `SELECT count(*) FROM outbox WHERE attempts > 1`)
	t.Logf("all %d accepted sign-ups mailed %v after the burst (%v after the outage); %d addresses mailed in all, %d more than once; %d mails took more than one attempt",
		len(accepted), time.Since(waitStart).Round(time.Millisecond), time.Since(restoredAt).Round(time.Millisecond), len(delivered), twice, retried)
	if n := db.count(t, `SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL`); n != 0 {
		t.Errorf("%d mails abandoned, want 0", n)
	}
}

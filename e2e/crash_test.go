package e2e

// kill -9 in the middle of a burst: every request the server accepted
// keeps its state and its mail; nothing is half made; the restarted
// server needs no manual step. The mail outbox delivers at least once:
// a worker killed between handing a mail to the SMTP server and recording
// it sent leaves it to be sent again once its claim (the mail_lease
// setting, crashLease here) has lapsed, so a kill may duplicate the one mail each worker had in
// hand, and never loses one.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var crashRounds = flag.Int("crash.rounds", 3, "kill -9 rounds per crash test")

// proc is a `tacit serve` process that the test may kill -9 and start
// again on the same address and database.
type proc struct {
	t    *testing.T
	addr string
	env  []string
	URL  string

	mu  sync.Mutex
	cmd *exec.Cmd
	log *syncBuffer // of every run, in order
}

// newProc starts `tacit serve` on a free port with env and waits until it
// is ready. It is stopped (interrupted, not killed) when the test ends.
func newProc(t *testing.T, env ...string) *proc {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, addr: l.Addr().String(), log: &syncBuffer{}}
	l.Close()
	p.URL = "http://" + p.addr
	p.env = append(append(os.Environ(), "TACIT_ADDR="+p.addr, "TACIT_DATA_DIR="+t.TempDir()), sharedKey(env)...)
	p.start()
	t.Cleanup(func() {
		p.mu.Lock()
		cmd := p.cmd
		p.mu.Unlock()
		if cmd == nil {
			return
		}
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("tacit serve exited: %v", err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("tacit serve did not stop within 10s of an interrupt")
		}
	})
	return p
}

// start runs the binary with nothing but `serve` and the same settings:
// the restart after a kill is unattended.
func (p *proc) start() time.Duration {
	p.t.Helper()
	began := time.Now()
	// The restart is ready when it says so itself: the killed process's
	// line is already in the log, and another process may hold the port.
	listening := "tacit listening on " + p.URL + " "
	before := strings.Count(p.log.String(), listening)
	cmd := exec.Command(binary, "serve")
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Count(p.log.String(), listening) > before {
				return time.Since(began)
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("tacit serve not ready within 30s: %v\n%s", err, p.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		p.t.Errorf("tacit serve: %v, want killed by SIGKILL", err)
	}
}

// crashLease is the mail lease of a crash-test server: short, so that the
// mail a killed worker had in hand goes out again within seconds, not the
// default minute, and long enough for the local sink to take any mail.
const crashLease = 3 * time.Second

// crashEnv is the environment of a crash-test server: cheap hashes, no
// envelope and no throttling (the burst repeats requests for a few
// addresses from one client), mail through the sink, and a short lease.
func crashEnv(sink *smtpSink, extra ...string) []string {
	return append([]string{"TACIT_MAIL_LEASE=" + crashLease.String(),
		"TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s",
		"TACIT_LIMIT_REQUESTS_IP=off", "TACIT_LIMIT_MAIL=off", "TACIT_LIMIT_SIGNUP=off",
		"TACIT_LIMIT_RESET=off", "TACIT_LIMIT_LOGIN=off", "TACIT_LIMIT_LOGIN_IP=off",
		"TACIT_MAIL=smtp", "TACIT_SMTP_URL=" + sink.URL(), "TACIT_MAIL_FROM=auth@example.com",
	}, extra...)
}

// crashOp is one request of the burst.
type crashOp struct {
	kind   string // register, complete, forgot, change
	client int
	email  string // the address it is about (for change: the new one)
	token  string // complete: the sign-up token used
	status int    // 0: no answer
}

// accepted reports whether the server answered that it had done it.
func (o crashOp) accepted() bool {
	switch o.kind {
	case "complete":
		return o.status == http.StatusCreated
	}
	return o.status == http.StatusAccepted
}

// crashAccount is the account a burst client resets or moves.
type crashAccount struct {
	email, password string
	client          *http.Client // with the account's session cookie
}

const crashPassword = "crash test password 1"

// crashBurst is 16 clients sending sign-ups, sign-up completions,
// password resets and email changes to a set of servers until stopped.
// Even clients reset their account's password, odd ones move it to new
// addresses: a reset ends pending email changes, so each account does one.
type crashBurst struct {
	t        *testing.T
	urls     []string
	sink     *smtpSink
	accounts []crashAccount
	stop     chan struct{}
	wg       sync.WaitGroup

	mu  sync.Mutex
	ops []crashOp
}

const crashClients = 16

// newCrashBurst makes one account per client through urls[0].
func newCrashBurst(t *testing.T, sink *smtpSink, urls ...string) *crashBurst {
	b := &crashBurst{t: t, urls: urls, sink: sink, stop: make(chan struct{})}
	for i := range crashClients {
		email := fmt.Sprintf("owner-%d@example.com", i)
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Timeout: 10 * time.Second, Jar: jar}
		if code, body := postJSON(t, c, urls[0]+"/api/register", map[string]string{"email": email}); code != http.StatusAccepted {
			t.Fatalf("register %s: %d %s", email, code, body)
		}
		m := waitMail(t, sink, email, "/register/complete", 10*time.Second)
		code, body := postJSON(t, c, urls[0]+"/api/register/complete", map[string]string{
			"token": m.Token, "password": crashPassword, "password_confirm": crashPassword})
		if code != http.StatusCreated {
			t.Fatalf("complete %s: %d %s", email, code, body)
		}
		b.accounts = append(b.accounts, crashAccount{email: email, password: crashPassword, client: c})
	}
	return b
}

func (b *crashBurst) run() {
	for i := range crashClients {
		b.wg.Go(func() { b.client(i) })
	}
}

// client sends one request after another, cycling through the kinds.
func (b *crashBurst) client(i int) {
	c := &http.Client{Timeout: 10 * time.Second}
	acct := b.accounts[i]
	pending := map[string]bool{} // sign-ups answered 202 and not yet completed
	for k := 0; ; k++ {
		select {
		case <-b.stop:
			return
		case <-time.After(5 * time.Millisecond):
		}
		url := b.urls[k%len(b.urls)]
		var op crashOp
		var body any
		cl := c
		switch {
		case k%3 == 0:
			op = crashOp{kind: "register", client: i, email: fmt.Sprintf("new-%d-%d@example.com", i, k)}
			body = map[string]string{"email": op.email}
			url += "/api/register"
		case k%3 == 1:
			// Complete a sign-up whose mail has come, if any.
			for _, m := range b.sink.Mails() {
				if pending[m.To] && m.Path == "/register/complete" {
					op = crashOp{kind: "complete", client: i, email: m.To, token: m.Token}
					delete(pending, m.To)
					break
				}
			}
			if op.kind == "" {
				continue
			}
			body = map[string]string{"token": op.token, "password": crashPassword, "password_confirm": crashPassword}
			url += "/api/register/complete"
		case i%2 == 0:
			op = crashOp{kind: "forgot", client: i, email: acct.email}
			body = map[string]string{"email": acct.email}
			url += "/api/password/forgot"
		default:
			op = crashOp{kind: "change", client: i, email: fmt.Sprintf("moved-%d-%d@example.com", i, k)}
			body = map[string]string{"email": op.email, "password": acct.password}
			cl = acct.client
			url += "/api/email/change"
		}
		op.status = post(cl, url, body)
		if op.kind == "register" && op.status == http.StatusAccepted {
			pending[op.email] = true
		}
		b.mu.Lock()
		b.ops = append(b.ops, op)
		b.mu.Unlock()
	}
}

// jsonString is v as JSON.
func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// post sends body as JSON and returns the status, or 0 without an answer.
func post(c *http.Client, url string, body any) int {
	resp, err := c.Post(url, "application/json", strings.NewReader(jsonString(body)))
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (b *crashBurst) finish() []crashOp {
	close(b.stop)
	b.wg.Wait()
	return b.ops
}

// waitMail waits for a mail to to with a link to path and returns the
// newest.
func waitMail(t *testing.T, sink *smtpSink, to, path string, limit time.Duration) sinkMail {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ms := sink.Mails()
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].To == to && ms[i].Path == path {
				return ms[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s with a link to %s within %v", to, path, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// crashRound is one kill and restart.
type crashRound struct {
	ran, restart time.Duration
}

// killRounds lets the burst run, kills victim at a random moment, starts
// it again, rounds times.
func killRounds(t *testing.T, victim *proc, rounds int) []crashRound {
	var out []crashRound
	for range rounds {
		ran := time.Duration(300+rand.N(1500)) * time.Millisecond
		time.Sleep(ran)
		victim.kill()
		out = append(out, crashRound{ran: ran, restart: victim.start()})
	}
	return out
}

// TestCrashSQLite kills the one SQLite server of a burst with SIGKILL at
// random moments and starts it again on the same data directory.
func TestCrashSQLite(t *testing.T) {
	sink := startSMTPSink(t)
	s := newProc(t, crashEnv(sink, "TACIT_DATA_DIR="+t.TempDir())...)
	logProcOnFailure(t, s)
	b := newCrashBurst(t, sink, s.URL)
	start := time.Now()
	b.run()
	rounds := killRounds(t, s, *crashRounds)
	time.Sleep(500 * time.Millisecond) // the last restart serves some too
	ops := b.finish()
	t.Logf("burst of %v, %d kill -9 rounds: %s", time.Since(start).Round(time.Millisecond), len(rounds), describeRounds(rounds))
	checkCrash(t, b, ops, sink, len(rounds), s.URL)
}

// TestCrashPostgres runs two instances on one PostgreSQL database, sends
// the burst to both and kills one of them with SIGKILL at random moments.
func TestCrashPostgres(t *testing.T) {
	db := newPGSchema(t)
	sink := startSMTPSink(t)
	a := newProc(t, crashEnv(sink, "TACIT_DATABASE_URL="+db.URL)...)
	other := newProc(t, crashEnv(sink, "TACIT_DATABASE_URL="+db.URL)...)
	logProcOnFailure(t, a)
	logProcOnFailure(t, other)
	b := newCrashBurst(t, sink, a.URL, other.URL)
	start := time.Now()
	b.run()
	rounds := killRounds(t, a, *crashRounds)
	time.Sleep(500 * time.Millisecond)
	ops := b.finish()
	t.Logf("burst of %v, %d kill -9 rounds of one of two instances: %s", time.Since(start).Round(time.Millisecond), len(rounds), describeRounds(rounds))
	checkCrash(t, b, ops, sink, len(rounds), a.URL)
}

func describeRounds(rounds []crashRound) string {
	var parts []string
	for _, r := range rounds {
		parts = append(parts, fmt.Sprintf("killed after %v, ready again in %v", r.ran.Round(time.Millisecond), r.restart.Round(time.Millisecond)))
	}
	return strings.Join(parts, "; ")
}

// logProcOnFailure shows p's log, less its line per request, if the test
// fails.
func logProcOnFailure(t *testing.T, p *proc) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var lines []string
		for line := range strings.Lines(p.log.String()) {
			if !strings.Contains(line, "msg=request ") && !strings.Contains(line, `msg="mail sent"`) {
				lines = append(lines, line)
			}
		}
		t.Logf("log of %s, without requests and sent mail:\n%s", p.URL, strings.Join(lines, ""))
	})
}

// checkCrash checks what a burst with kills left behind, through url:
//   - every sign-up answered 202 was mailed a live link, and the link
//     completes it (201), or already did during the burst;
//   - every completion the kill left unanswered either made the account
//     whole (the token is spent and the password signs in) or nothing
//     (the token still completes it): no account is half made;
//   - every reset answered 202 has its own mailed, live link to the
//     account, and one of them resets its password;
//   - every email change answered 202 has its own mailed, live
//     confirmation link to the new address, the old address was told as
//     often, and one of them moves the account;
//   - no mail was delivered more than once, except those in a killed
//     worker's hands: at most one per kill.
func checkCrash(t *testing.T, b *crashBurst, ops []crashOp, sink *smtpSink, kills int, url string) {
	t.Helper()
	byStatus := map[string]map[int]int{}
	for _, o := range ops {
		if byStatus[o.kind] == nil {
			byStatus[o.kind] = map[int]int{}
		}
		byStatus[o.kind][o.status]++
	}
	t.Logf("requests by kind and status (0: no answer): %v", byStatus)
	for kind, st := range byStatus {
		for code := range st {
			if code != 0 && code != http.StatusAccepted && code != http.StatusCreated && code != http.StatusInternalServerError {
				t.Errorf("%s answered %d %d times, want 202/201, 500 or no answer", kind, code, st[code])
			}
		}
	}

	// What must have been mailed: a link to each accepted sign-up and
	// change, one reset link per accepted reset, one notice to the old
	// address per accepted change.
	wantLink := map[string]string{} // address → path of its link
	resets := map[string]int{}      // account → accepted resets
	changes := map[int]int{}        // client → accepted changes
	for _, o := range ops {
		if !o.accepted() {
			continue
		}
		switch o.kind {
		case "register":
			wantLink[o.email] = "/register/complete"
		case "change":
			wantLink[o.email] = "/email/confirm"
			changes[o.client]++
		case "forgot":
			resets[o.email]++
		}
	}
	waitStart := time.Now()
	waitFor(t, crashLease+30*time.Second, "every accepted request mailed", func() bool {
		got := map[string]int{}
		for _, m := range sink.Mails() {
			if m.Path == "/password/reset" {
				got[m.To]++
			} else if m.Path != "" && wantLink[m.To] == m.Path {
				got[m.To] = 1
			}
		}
		for addr := range wantLink {
			if got[addr] == 0 {
				return false
			}
		}
		for addr, n := range resets {
			if got[addr] < n {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // let a late duplicate show
	mails := sink.Mails()
	t.Logf("all mail for %d accepted requests delivered %v after the burst; %d mails in all",
		len(wantLink)+sum(resets), time.Since(waitStart).Round(time.Millisecond), len(mails))

	// Duplicates: the same token delivered twice.
	seen := map[string]int{}
	for _, m := range mails {
		if m.Token != "" {
			seen[m.Token]++
		}
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("%d links delivered more than once, after %d kills (at-least-once allows one per kill)", dups, kills)
	if dups > kills {
		t.Errorf("%d duplicate deliveries after %d kills, want at most one per kill", dups, kills)
	}

	c := &http.Client{Timeout: 10 * time.Second}
	checkSignups(t, c, url, ops, mails)
	checkResets(t, c, url, b, resets, mails)
	checkChanges(t, c, url, b, changes, mails)
}

// checkSignups completes every accepted sign-up with its mailed link and
// checks that no completion was half done.
func checkSignups(t *testing.T, c *http.Client, url string, ops []crashOp, mails []sinkMail) {
	t.Helper()
	tokens := map[string]string{}
	for _, m := range mails {
		if m.Path == "/register/complete" {
			tokens[m.To] = m.Token
		}
	}
	completed := map[string]bool{}
	unsure := map[string]bool{} // completions without a clear answer
	for _, o := range ops {
		if o.kind == "complete" {
			if o.status == http.StatusCreated {
				completed[o.email] = true
			} else {
				unsure[o.email] = true
			}
		}
	}
	var made, redone, whole int
	for _, o := range ops {
		if o.kind != "register" || !o.accepted() || completed[o.email] {
			continue
		}
		code := post(c, url+"/api/register/complete", map[string]string{
			"token": tokens[o.email], "password": crashPassword, "password_confirm": crashPassword})
		switch {
		case code == http.StatusCreated:
			made++
			if unsure[o.email] {
				redone++
			}
		case code == http.StatusBadRequest && unsure[o.email]:
			whole++ // the unanswered completion went through: see below
		default:
			t.Errorf("sign-up of %s answered 202; completing it now: %d, want 201", o.email, code)
			continue
		}
		if code := post(c, url+"/api/login", map[string]string{"email": o.email, "password": crashPassword}); code != http.StatusOK {
			t.Errorf("%s: sign-in after completing its sign-up: %d, want 200", o.email, code)
		}
	}
	for e := range completed {
		if code := post(c, url+"/api/login", map[string]string{"email": e, "password": crashPassword}); code != http.StatusOK {
			t.Errorf("%s: completion answered 201, sign-in now: %d, want 200", e, code)
		}
	}
	t.Logf("sign-ups: %d completed in the burst, %d now; of %d completions the kill left unanswered, %d had made the account and %d had made nothing",
		len(completed), made, len(unsure), whole, redone)
}

// checkResets checks that every accepted reset has its own live link,
// and that one of them resets the password.
func checkResets(t *testing.T, c *http.Client, url string, b *crashBurst, resets map[string]int, mails []sinkMail) {
	t.Helper()
	var live int
	for _, a := range b.accounts {
		links := map[string]bool{}
		for _, m := range mails {
			if m.To == a.email && m.Path == "/password/reset" {
				links[m.Token] = true
			}
		}
		for tok := range links {
			if code := get(c, url+"/password/reset?token="+tok); code == http.StatusOK {
				live++
			} else {
				t.Errorf("%s: mailed reset link answers %d, want 200", a.email, code)
			}
		}
		if len(links) < resets[a.email] {
			t.Errorf("%s: %d resets answered 202, %d distinct links mailed", a.email, resets[a.email], len(links))
		}
		if resets[a.email] == 0 {
			continue
		}
		var tok string
		for tok = range links {
			break
		}
		const np = "crash test password 2"
		if code := post(c, url+"/api/password/reset", map[string]string{"token": tok, "password": np, "password_confirm": np}); code != http.StatusNoContent {
			t.Errorf("%s: reset with a mailed link: %d, want 204", a.email, code)
		} else if code := post(c, url+"/api/login", map[string]string{"email": a.email, "password": np}); code != http.StatusOK {
			t.Errorf("%s: sign-in with the new password: %d, want 200", a.email, code)
		}
	}
	t.Logf("resets: %d answered 202, %d live links mailed", sum(resets), live)
}

// checkChanges checks that every accepted email change has its own live
// confirmation link, that the old address was told, and that one link
// moves the account.
func checkChanges(t *testing.T, c *http.Client, url string, b *crashBurst, changes map[int]int, mails []sinkMail) {
	t.Helper()
	var links int
	for i, a := range b.accounts {
		if i%2 == 0 {
			continue
		}
		prefix := fmt.Sprintf("moved-%d-", i)
		var last sinkMail
		confirm := map[string]string{} // new address → token
		notices := 0
		for _, m := range mails {
			switch {
			case strings.HasPrefix(m.To, prefix) && m.Path == "/email/confirm":
				confirm[m.To] = m.Token
				last = m
			case m.To == a.email && m.Path == "":
				notices++
			}
		}
		if len(confirm) < changes[i] || notices < changes[i] {
			t.Errorf("%s: %d changes answered 202; %d new addresses sent a link, old address told %d times", a.email, changes[i], len(confirm), notices)
		}
		for addr, tok := range confirm {
			links++
			resp, err := c.Get(url + "/email/confirm?token=" + tok)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), addr) {
				t.Errorf("%s: confirmation link to %s answers %d without the address, want a live link", a.email, addr, resp.StatusCode)
			}
		}
		if changes[i] == 0 {
			continue
		}
		if code := post(c, url+"/api/email/confirm", map[string]string{"token": last.Token}); code != http.StatusNoContent {
			t.Errorf("%s: confirming the move to %s: %d, want 204", a.email, last.To, code)
		} else if code := post(c, url+"/api/login", map[string]string{"email": last.To, "password": a.password}); code != http.StatusOK {
			t.Errorf("%s: sign-in at the new address %s: %d, want 200", a.email, last.To, code)
		}
	}
	t.Logf("email changes: %d answered 202, %d live confirmation links mailed", sumInts(changes), links)
}

func get(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func sum(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

func sumInts(m map[int]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

package e2e

// The soak: the real binary, under a steady mix of every everyday flow for
// a long time, must answer no 5xx, keep its memory flat, and keep its
// database and outbox bounded by its own housekeeping. It is skipped
// unless -soak.duration is given:
//
//	go test ./e2e -run TestSoak -soak.duration=30m -soak.db=sqlite -timeout=40m -v
//	go test ./e2e -run TestSoak -soak.duration=30m -soak.db=postgres -timeout=40m -v
//
// (PostgreSQL needs TACIT_TEST_POSTGRES.) CI runs it for a minute per
// engine: two minutes of load, checked for 5xx, wrong answers and bounds,
// not for memory (see soakRSSMin).

import (
	"database/sql"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	soakDuration = flag.Duration("soak.duration", 0, "run TestSoak for this long (0: skip it)")
	soakDB       = flag.String("soak.db", "sqlite", "TestSoak's database: sqlite, postgres, or both (one after the other)")
	soakRate     = flag.Float64("soak.rate", 10, "TestSoak's requests per second, all flows together")
	soakWorkers  = flag.Int("soak.workers", 8, "TestSoak's concurrent clients")
)

// Soak server settings. The per-client rules are off (every request comes
// from 127.0.0.1); the per-address rules keep their defaults, which the
// mix stays within, as real users do. The outbox and the counters are
// capped far below their defaults so that the trims, not the soak's
// length, bound them.
const (
	soakOutboxMax   = 2000
	soakCountersMax = 3000
)

// soakRSSMin is the shortest run whose RSS is judged.
const soakRSSMin = 10 * time.Minute

func soakEnv(sink *smtpSink) []string {
	return []string{
		"TACIT_LIMIT_REQUESTS_IP=off", "TACIT_LIMIT_LOGIN_IP=off", "TACIT_LIMIT_RESET_SUBMIT_IP=off",
		"TACIT_OUTBOX_MAX_ROWS=" + strconv.Itoa(soakOutboxMax),
		"TACIT_THROTTLE_MAX_KEYS=" + strconv.Itoa(soakCountersMax),
		"TACIT_MAIL=smtp", "TACIT_SMTP_URL=" + sink.URL(), "TACIT_MAIL_FROM=auth@example.com",
	}
}

// TestSoak runs the mix against `tacit serve` (default hashing and
// envelope) for -soak.duration and checks: no answer 5xx and every answer
// the one the flow expects; in a run of soakRSSMin or more, peak RSS in
// the last interval within 10% of the peak in the one before a sixth of
// the run (minute 5 of 30); outbox rows within the cap plus a trim
// interval's worth. It logs the database size, the rows per table, and
// the p50/p99/max of each flow.
func TestSoak(t *testing.T) {
	if *soakDuration <= 0 {
		t.Skip("soak: set -soak.duration (e.g. 2m, 30m) to run it")
	}
	for _, db := range strings.Split(*soakDB, ",") {
		t.Run(db, func(t *testing.T) { soak(t, db, *soakDuration) })
	}
}

// soakTarget is a server under soak and a way to look into its database.
type soakTarget struct {
	proc  *proc
	size  func() int64           // bytes the database takes
	count func(table string) int // rows in a table
}

func soak(t *testing.T, engine string, d time.Duration) {
	sink := startSMTPSink(t)
	var tg soakTarget
	switch engine {
	case "sqlite":
		dir := t.TempDir()
		tg.proc = newProc(t, append(soakEnv(sink), "TACIT_DATA_DIR="+dir)...)
		path := filepath.Join(dir, "tacit.db")
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		tg.size = func() int64 {
			var n int64
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				if fi, err := os.Stat(f); err == nil {
					n += fi.Size()
				}
			}
			return n
		}
		tg.count = func(table string) int {
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
				t.Errorf("count %s: %v", table, err)
			}
			return n
		}
	case "postgres":
		s := newPGSchema(t)
		tg.proc = newProc(t, append(soakEnv(sink), "TACIT_DATABASE_URL="+s.URL)...)
		tg.size = func() int64 {
			return int64(s.count(t, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
				FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = $1 AND c.relkind = 'r'`, s.Name))
		}
		tg.count = func(table string) int { return s.count(t, `SELECT count(*) FROM `+table) }
	default:
		t.Fatalf("-soak.db=%s: want sqlite or postgres", engine)
	}
	logProcOnFailure(t, tg.proc)
	runSoak(t, engine, &tg, sink, d)
}

// soakTables are the tables whose rows the soak reports.
var soakTables = []string{"accounts", "signups", "sessions", "reset_tokens", "counters", "outbox"}

// soakSample is the server's state at one moment.
type soakSample struct {
	at   time.Duration // since the start
	rss  int64         // bytes
	size int64         // database bytes
	rows map[string]int
}

func (tg *soakTarget) sample(t *testing.T, at time.Duration) soakSample {
	s := soakSample{at: at, rss: rss(t, tg.proc), size: tg.size(), rows: map[string]int{}}
	for _, tab := range soakTables {
		s.rows[tab] = tg.count(tab)
	}
	return s
}

func (s soakSample) String() string {
	var rows []string
	for _, tab := range soakTables {
		rows = append(rows, fmt.Sprintf("%s %d", tab, s.rows[tab]))
	}
	return fmt.Sprintf("%v: RSS %.1f MiB, database %.1f MiB; rows: %s",
		s.at.Round(time.Second), mib(s.rss), mib(s.size), strings.Join(rows, ", "))
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// rss reads the resident set size of p's process from /proc.
func rss(t *testing.T, p *proc) int64 {
	p.mu.Lock()
	pid := p.cmd.Process.Pid
	p.mu.Unlock()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read RSS: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("read RSS: %q: %v", line, err)
			}
			return kib << 10
		}
	}
	t.Fatal("read RSS: no VmRSS in /proc/PID/status")
	return 0
}

// soakLoad is the load: a steady tick that clients take a request from,
// and what came back.
type soakLoad struct {
	t    *testing.T
	url  string
	sink *smtpSink
	tick chan struct{}
	stop chan struct{}

	journeys atomic.Int64
	mu       sync.Mutex
	lat      map[string][]time.Duration // per flow
	status   map[string]map[int]int     // per flow
	bad      []string                   // unexpected answers, the first few
	badN     int
}

// pace hands out one request per 1/rate; a tick nobody takes (every
// client busy) is dropped, so a slow server is sent fewer requests and
// the achieved rate is reported.
func (l *soakLoad) pace(rate float64) {
	every := time.Duration(float64(time.Second) / rate)
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-l.stop:
			close(l.tick)
			return
		case <-tk.C:
			select {
			case l.tick <- struct{}{}:
			default:
			}
		}
	}
}

// do sends one request of flow when the pace allows and checks its
// status against want. It returns false once the soak is over or when the
// answer was not wanted.
func (l *soakLoad) do(c *http.Client, flow, method, path string, body any, want ...int) (ok bool) {
	if _, open := <-l.tick; !open {
		return false
	}
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(jsonString(body))
	}
	req, err := http.NewRequest(method, l.url+path, rd)
	if err != nil {
		l.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.Do(req)
	took := time.Since(start)
	code := 0
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		code = resp.StatusCode
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lat[flow] = append(l.lat[flow], took)
	if l.status[flow] == nil {
		l.status[flow] = map[int]int{}
	}
	l.status[flow][code]++
	if !slices.Contains(want, code) {
		l.badN++
		if len(l.bad) < 20 {
			l.bad = append(l.bad, fmt.Sprintf("%s %s %s: %d (%v), want %v", flow, method, path, code, err, want))
		}
		return false
	}
	return true
}

// mail waits for the newest mail to to with a link to path.
func (l *soakLoad) mail(to, path string) (string, bool) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m, ok := l.sink.Latest(to, path); ok {
			return m.Token, true
		}
		select {
		case <-l.stop:
			return "", false
		case <-time.After(20 * time.Millisecond):
		}
	}
	l.mu.Lock()
	l.badN++
	l.bad = append(l.bad, fmt.Sprintf("no mail to %s with a link to %s within 30s", to, path))
	l.mu.Unlock()
	return "", false
}

const (
	soakPassword = "soak test password one"
	soakNewPass  = "soak test password two"
)

// journey is one user's life, each request waiting for the pace: sign
// up, complete, pass forward auth, sign out (and forward auth says no),
// sign in wrong (own address and an unknown one), reset the password by
// mail, sign in right, pass forward auth a few times (the most frequent
// request behind a proxy), end the session.
func (l *soakLoad) journey(client, n int) bool {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Timeout: 30 * time.Second, Jar: jar}
	email := fmt.Sprintf("soak-%d-%d@example.com", client, n)
	steps := []func() bool{
		func() bool {
			return l.do(c, "register", "POST", "/api/register", map[string]string{"email": email}, http.StatusAccepted)
		},
		func() bool {
			tok, ok := l.mail(email, "/register/complete")
			return ok && l.do(c, "complete", "POST", "/api/register/complete", map[string]string{
				"token": tok, "password": soakPassword, "password_confirm": soakPassword}, http.StatusCreated)
		},
		func() bool { return l.do(c, "check", "GET", "/auth/check", nil, http.StatusOK) },
		func() bool { return l.do(c, "logout", "POST", "/api/logout", nil, http.StatusNoContent) },
		func() bool { return l.do(c, "check_out", "GET", "/auth/check", nil, http.StatusUnauthorized) },
		func() bool {
			return l.do(c, "login_wrong", "POST", "/api/login", map[string]string{"email": email, "password": "not the password"}, http.StatusUnauthorized)
		},
		func() bool {
			return l.do(c, "login_wrong", "POST", "/api/login", map[string]string{
				"email": fmt.Sprintf("nobody-%d-%d@example.com", client, n), "password": soakPassword}, http.StatusUnauthorized)
		},
		func() bool {
			return l.do(c, "forgot", "POST", "/api/password/forgot", map[string]string{"email": email}, http.StatusAccepted)
		},
		func() bool {
			tok, ok := l.mail(email, "/password/reset")
			return ok && l.do(c, "reset", "POST", "/api/password/reset", map[string]string{
				"token": tok, "password": soakNewPass, "password_confirm": soakNewPass}, http.StatusNoContent)
		},
		func() bool {
			return l.do(c, "login", "POST", "/api/login", map[string]string{"email": email, "password": soakNewPass}, http.StatusOK)
		},
		func() bool { return l.do(c, "check", "GET", "/auth/check", nil, http.StatusOK) },
		func() bool { return l.do(c, "check", "GET", "/auth/check", nil, http.StatusOK) },
		func() bool { return l.do(c, "check", "GET", "/auth/check", nil, http.StatusOK) },
		func() bool { return l.do(c, "logout", "POST", "/api/logout", nil, http.StatusNoContent) },
	}
	for _, step := range steps {
		if !step() {
			return false
		}
	}
	l.journeys.Add(1)
	return true
}

func runSoak(t *testing.T, engine string, tg *soakTarget, sink *smtpSink, d time.Duration) {
	l := &soakLoad{t: t, url: tg.proc.URL, sink: sink, tick: make(chan struct{}), stop: make(chan struct{}),
		lat: map[string][]time.Duration{}, status: map[string]map[int]int{}}
	load1, _ := os.ReadFile("/proc/loadavg")
	go l.pace(*soakRate)
	var wg sync.WaitGroup
	for i := range *soakWorkers {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				l.journey(i, n)
			}
		})
	}

	// RSS swings by tens of MiB within seconds: each hash takes its 19
	// MiB, and the runtime's scavenger hands freed memory back to the
	// system now and then, so a reading taken just after it is a third
	// lower. RSS is read every second; what is compared is the peak over
	// a sampling interval, the footprint the machine must have room for,
	// which a leak raises and the scavenger's timing does not. The mean is
	// reported too.
	start := time.Now()
	var rssMu sync.Mutex
	var rssAt []soakRSS
	rssDone := make(chan struct{})
	go func() {
		defer close(rssDone)
		for {
			select {
			case <-l.stop:
				return
			case <-time.After(time.Second):
				r := rss(t, tg.proc)
				rssMu.Lock()
				rssAt = append(rssAt, soakRSS{time.Since(start), r})
				rssMu.Unlock()
			}
		}
	}()

	// A sample every minute (every tenth of a short run); the baseline is
	// the one at a sixth of the run, minute 5 of 30, once caches and pools
	// have filled.
	every := min(time.Minute, d/10)
	base := d / 6
	var samples []soakSample
	var baseline *soakSample
	maxOutbox := 0
	for next := every; next <= d; next += every {
		time.Sleep(time.Until(start.Add(next)))
		s := tg.sample(t, time.Since(start))
		samples = append(samples, s)
		maxOutbox = max(maxOutbox, s.rows["outbox"])
		if baseline == nil && next >= base {
			baseline = &samples[len(samples)-1]
		}
		t.Logf("soak %s", s)
	}
	close(l.stop)
	wg.Wait()
	<-rssDone
	ran := time.Since(start)
	load2, _ := os.ReadFile("/proc/loadavg")
	end := samples[len(samples)-1]

	// What was sent and answered.
	l.mu.Lock()
	defer l.mu.Unlock()
	var total, fivexx int
	var flows []string
	for f, st := range l.status {
		flows = append(flows, f)
		for code, n := range st {
			total += n
			if code >= 500 {
				fivexx += n
			}
		}
	}
	slices.Sort(flows)
	t.Logf("soak %s: %v, %d requests (%.1f/s, asked %.1f/s) by %d clients, %d journeys, %d mails; 5xx: %d; load average %s at the start, %s at the end",
		engine, ran.Round(time.Second), total, float64(total)/ran.Seconds(), *soakRate, *soakWorkers,
		l.journeys.Load(), len(sink.Mails()), fivexx, strings.Join(strings.Fields(string(load1))[:3], " "), strings.Join(strings.Fields(string(load2))[:3], " "))
	t.Logf("soak %s: flow | requests | statuses | p50 | p99 | max", engine)
	for _, f := range flows {
		lat := l.lat[f]
		slices.Sort(lat)
		t.Logf("soak %s: %s | %d | %v | %v | %v | %v", engine, f, len(lat), l.status[f],
			quantile(lat, 0.50), quantile(lat, 0.99), lat[len(lat)-1].Round(time.Millisecond))
	}
	baseRSS, baseMax := meanRSS(rssAt, baseline.at-every, baseline.at)
	endRSS, endMax := meanRSS(rssAt, end.at-every, end.at+every)
	growth := float64(endMax-baseMax) / float64(baseMax)
	t.Logf("soak %s: RSS peak (mean) over %v: %.1f MiB (%.1f) before %v, %.1f MiB (%.1f) at the end: peak %+.1f%%, mean %+.1f%%; database %.1f MiB at %v, %.1f MiB at the end, %d accounts more; outbox at most %d rows (cap %d), counters %d (cap %d)",
		engine, every, mib(baseMax), baseRSS/(1<<20), baseline.at.Round(time.Second), mib(endMax), endRSS/(1<<20), 100*growth, 100*(endRSS-baseRSS)/baseRSS,
		mib(baseline.size), baseline.at.Round(time.Second), mib(end.size), end.rows["accounts"]-baseline.rows["accounts"],
		maxOutbox, soakOutboxMax, end.rows["counters"], soakCountersMax)

	if fivexx > 0 {
		t.Errorf("%d answers 5xx, want none", fivexx)
	}
	if l.badN > 0 {
		t.Errorf("%d unexpected answers or missing mails; the first: \n%s", l.badN, strings.Join(l.bad, "\n"))
	}
	// A short run (CI's) is mostly warm-up, and a few seconds' readings
	// of a value that swings by a third are noise: RSS is judged on long
	// runs. Only growth is a leak: the runtime giving memory back (a
	// 30-minute run fell 10.6%) is not.
	if d >= soakRSSMin && !(growth <= 0.10) { // NaN too: no readings
		t.Errorf("peak RSS over %v went from %.1f MiB before %v to %.1f MiB at the end (%+.1f%%), want at most 10%% more",
			every, mib(baseMax), baseline.at.Round(time.Second), mib(endMax), 100*growth)
	}
	// The outbox is trimmed every minute: between trims it may pass the
	// cap by what a minute queues. A journey queues three mails (sign-up,
	// reset, and the notice that the password changed).
	perMinute := 3 * int(float64(l.journeys.Load())/ran.Minutes())
	if maxOutbox > soakOutboxMax+perMinute+soakOutboxMax/10 {
		t.Errorf("outbox reached %d rows, want at most the cap %d plus a minute's mail (%d)", maxOutbox, soakOutboxMax, perMinute)
	}
	if end.rows["counters"] > soakCountersMax*2 {
		t.Errorf("%d throttle counters at the end, want about the cap %d", end.rows["counters"], soakCountersMax)
	}
}

// soakRSS is one reading of the server's RSS.
type soakRSS struct {
	at    time.Duration
	bytes int64
}

// meanRSS returns the mean and the largest RSS read in (from, to].
func meanRSS(rs []soakRSS, from, to time.Duration) (mean float64, most int64) {
	var sum float64
	n := 0
	for _, r := range rs {
		if r.at > from && r.at <= to {
			sum += float64(r.bytes)
			most = max(most, r.bytes)
			n++
		}
	}
	if n == 0 {
		return math.NaN(), 0
	}
	return sum / float64(n), most
}

// quantile returns the q-quantile of sorted, rounded to a millisecond.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)].Round(time.Millisecond)
}

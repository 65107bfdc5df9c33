package e2e

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/internal/testenv"
)

var (
	checkSeconds = flag.Int("check.seconds", 5, "seconds of each wrk run in BenchmarkForwardAuth")
	checkRounds  = flag.Int("check.rounds", 3, "alternating bare/tacit wrk runs in BenchmarkForwardAuth")
	checkBefore  = flag.String("check.before", "", "another tacit binary (an older version, say) that BenchmarkForwardAuth measures too, in the same run")
	checkRate    = flag.Int("check.rate", 0, "offered checks a second in BenchmarkForwardAuth (0: as fast as wrk can); each connection waits between its requests")
)

// checkConnections is how many connections wrk keeps open, as a reverse
// proxy in front of a busy site would.
const checkConnections = 32

// BenchmarkForwardAuth measures GET /auth/check with a signed-in session
// cookie through the real binary, with wrk, against a bare net/http
// handler answering 200 in the same run, on SQLite and on PostgreSQL (with
// TACIT_TEST_POSTGRES). Runs alternate, bare then tacit, and the median of
// each is reported: checks/s, p99 in ms, and x-bare, the ratio of the two
// rates. Run it with -benchtime=1x: each run takes check.seconds.
func BenchmarkForwardAuth(b *testing.B) {
	if _, err := exec.LookPath("wrk"); err != nil {
		b.Skip("wrk is not installed (apt-get install wrk)")
	}
	bare := startBare(b)
	binaries := map[string]string{"": binary}
	if *checkBefore != "" {
		binaries["-before"] = *checkBefore
	}
	for _, suffix := range []string{"-before", ""} {
		bin, ok := binaries[suffix]
		if !ok {
			continue
		}
		b.Run("sqlite"+suffix, func(b *testing.B) {
			s := startBinary(b, bin, "TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s")
			benchChecks(b, bare, s)
		})
		b.Run("postgres"+suffix, func(b *testing.B) {
			dbURL, _ := testenv.PostgresSchema(b)
			s := startBinary(b, bin, "TACIT_DATABASE_URL="+dbURL, "TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s")
			benchChecks(b, bare, s)
		})
	}
}

// startBinary is startServer with another tacit binary.
func startBinary(b *testing.B, bin string, env ...string) *server {
	saved := binary
	binary = bin
	defer func() { binary = saved }()
	return startServer(b, env...)
}

// startBare serves a bare handler on a loopback port until the benchmark
// ends: the most any Go HTTP server can answer on this machine.
func startBare(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String() + "/auth/check"
}

// benchChecks signs up on s and runs wrk against the bare handler and
// s's /auth/check in turn.
func benchChecks(b *testing.B, bare string, s *server) {
	cookie := signedIn(b, s, "check@example.com", "check password 1")
	check := s.URL + "/auth/check"
	req, _ := http.NewRequest(http.MethodGet, check, nil)
	req.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET /auth/check with the session: %d, want 200", resp.StatusCode)
	}
	header := "Cookie: " + cookie.Name + "=" + cookie.Value
	var bareRuns, tacitRuns []wrkResult
	for range b.N {
		for range *checkRounds {
			bareRuns = append(bareRuns, runWrk(b, bare, header))
			tacitRuns = append(tacitRuns, runWrk(b, check, header))
		}
	}
	br, tr := medianRun(bareRuns), medianRun(tacitRuns)
	b.ReportMetric(br.rate, "bare-checks/s")
	b.ReportMetric(tr.rate, "checks/s")
	b.ReportMetric(tr.p99.Seconds()*1000, "p99-ms")
	b.ReportMetric(br.p99.Seconds()*1000, "bare-p99-ms")
	b.ReportMetric(tr.rate/br.rate, "x-bare")
	if tr.non2xx > 0 {
		b.Errorf("%d of tacit's answers were not 2xx", tr.non2xx)
	}
}

// wrkResult is what one wrk run measured.
type wrkResult struct {
	rate   float64 // requests a second
	p99    time.Duration
	non2xx int
}

var (
	wrkRate   = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99    = regexp.MustCompile(`\n\s+99%\s+([0-9.]+)(us|ms|s)\b`)
	wrkNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// runWrk runs wrk against url with the header for check.seconds.
func runWrk(b *testing.B, url, header string) wrkResult {
	args := []string{"-t2", fmt.Sprintf("-c%d", checkConnections),
		fmt.Sprintf("-d%ds", *checkSeconds), "--latency", "-H", header}
	if *checkRate > 0 {
		args = append(args, "-s", pacedScript(b, *checkRate))
	}
	out, err := exec.Command("wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	text := string(out)
	m, p := wrkRate.FindStringSubmatch(text), wrkP99.FindStringSubmatch(text)
	if m == nil || p == nil {
		b.Fatalf("wrk printed no rate or p99:\n%s", text)
	}
	var r wrkResult
	r.rate, _ = strconv.ParseFloat(m[1], 64)
	v, _ := strconv.ParseFloat(p[1], 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[2]]
	r.p99 = time.Duration(v * float64(unit))
	if n := wrkNon2xx.FindStringSubmatch(text); n != nil {
		r.non2xx, _ = strconv.Atoi(n[1])
	}
	return r
}

// pacedScript writes a wrk script that holds the offered load near rate:
// each connection waits between its requests. wrk's delay() counts whole
// milliseconds, so the wait is 1 or 2 ms drawn at random for a mean of
// checkConnections/rate less 0.4 ms: the service time and the lateness of
// wrk's timer (measured: a mean wait of 1.5 ms gave 1.78 ms a request).
// The p99 then is a request's own latency at that load, not the queue a
// saturating client builds.
func pacedScript(b *testing.B, rate int) string {
	mean := float64(checkConnections)*1000/float64(rate) - 0.4
	if mean < 1 || mean > 2 {
		b.Fatalf("-check.rate=%d needs a wait of %.2f ms a connection; wrk can pace 1-2 ms", rate, mean)
	}
	path := filepath.Join(b.TempDir(), "paced.lua")
	script := fmt.Sprintf("function delay()\n  if math.random() < %.3f then return 2 end\n  return 1\nend\n", mean-1)
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// medianRun returns the run of median rate.
func medianRun(runs []wrkResult) wrkResult {
	slices.SortFunc(runs, func(x, y wrkResult) int {
		switch {
		case x.rate < y.rate:
			return -1
		case x.rate > y.rate:
			return 1
		}
		return 0
	})
	return runs[len(runs)/2]
}

// signedIn makes a verified account on s and returns its session cookie.
func signedIn(t testing.TB, s *server, email, password string) *http.Cookie {
	t.Helper()
	signUp(t, s, email, password)
	body := strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password))
	resp, err := http.Post(s.URL+"/api/login", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "tacit_session" {
			return c
		}
	}
	t.Fatalf("sign-in set no session cookie: %d %v", resp.StatusCode, resp.Header["Set-Cookie"])
	return nil
}

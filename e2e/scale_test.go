package e2e

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit/internal/testenv"
)

var scaleAccounts = flag.Int("scale.accounts", 10000, "accounts seeded for BenchmarkLoginAtScale")

// BenchmarkLoginAtScale measures failed-login throughput and p99 latency
// through the real server on SQLite and (with TACIT_TEST_POSTGRES) on
// PostgreSQL, with -scale.accounts accounts seeded by `tacit seed`. Each is
// reported as a ratio to bare argon2id throughput measured in the same run
// (x-argon2): bare argon2id is measured again right before each engine,
// once its accounts are seeded and its server is up, so that a change in
// the shared machine's load during a long run (seeding a million accounts
// takes minutes) does not skew one engine's ratio. Half the logins name a
// seeded account, half an unknown address.
func BenchmarkLoginAtScale(b *testing.B) {
	n := *scaleAccounts
	engines := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite://" + filepath.Join(b.TempDir(), "tacit.db") }},
		{"postgres", benchSchema},
	}
	for _, e := range engines {
		// Set up once here: the sub-benchmark's body runs several times
		// while the framework picks b.N, and seeding a million accounts
		// takes minutes.
		if e.name == "postgres" && os.Getenv("TACIT_TEST_POSTGRES") == "" {
			b.Log("TACIT_TEST_POSTGRES not set: skipping the PostgreSQL benchmark")
			continue
		}
		env := append([]string{"TACIT_DATABASE_URL=" + e.url(b)}, noLoginLimits...)
		seed(b, n, env)
		s := startServer(b, env...)
		b.Run("argon2id_before_"+e.name, benchBareArgon2id)
		b.Run(fmt.Sprintf("%s_%d_accounts", e.name, n), func(b *testing.B) {
			r := newLockedRand()
			lat := benchLogins(b, s, func() string {
				if r.IntN(2) == 0 {
					return fmt.Sprintf("nobody-%d@example.com", r.IntN(n))
				}
				return fmt.Sprintf("seed-%d@example.com", 1+r.IntN(n))
			})
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// seed runs `tacit seed` against the database the env names.
func seed(b *testing.B, n int, env []string) {
	b.Helper()
	start := time.Now()
	cmd := exec.Command(binary, "seed", "--accounts", fmt.Sprint(n))
	cmd.Env = append(append(os.Environ(), "TACIT_DATA_DIR="+b.TempDir()), sharedKey(env)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("tacit seed: %v\n%s", err, out)
	}
	b.Logf("seeded %d accounts in %v", n, time.Since(start).Round(time.Millisecond))
}

// benchSchema returns a PostgreSQL URL with a fresh schema, dropped when
// the benchmark ends, or skips without TACIT_TEST_POSTGRES.
func benchSchema(b *testing.B) string {
	u, _ := testenv.PostgresSchema(b)
	return u
}

// benchLogins sends wrong-password logins from loginClients clients for
// b.N requests, reports ops/s and the ratio to bare argon2id, and returns
// every request's latency.
func benchLogins(b *testing.B, s *server, email func() string) []time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loginClients}}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(loginClients / 2)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t0 := time.Now()
			code, body := postJSON(b, client, s.URL+"/api/login", map[string]string{"email": email(), "password": "wrong password"})
			d := time.Since(t0)
			if code != http.StatusUnauthorized {
				b.Errorf("login: %d %s", code, body)
			}
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}
	})
	rate := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(rate, "ops/s")
	if bareHashRate > 0 {
		b.ReportMetric(rate/bareHashRate, "x-argon2")
	}
	return lat
}

// lockedRand is a random source safe for RunParallel's goroutines.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand() *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

func (l *lockedRand) IntN(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.IntN(n)
}

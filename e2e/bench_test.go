package e2e

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/timing"
)

// Benchmarks of the real binary with production hashing (argon2id 19 MiB,
// t=2) and the envelope measured at start-up. docs/BENCHMARKS.md records
// their figures and the commands that produced them.

var (
	timingPairs    = flag.Int("timing.pairs", 300, "interleaved request triples for BenchmarkLoginTiming")
	timingFor      = flag.Duration("timing.for", 0, "stop BenchmarkLoginTiming after this long, at the end of a triple, even if fewer than -timing.pairs were sent (0: no limit)")
	timingEnvelope = flag.String("timing.envelope", "", "TACIT_ENVELOPE for BenchmarkLoginTiming (empty: the default, measured)")
	idleStarts     = flag.Int("idle.starts", 2, "fresh starts of the server for BenchmarkIdleSignIn")
	idleSettle     = flag.Duration("idle.settle", 0, "how long BenchmarkIdleSignIn lets each start serve before it measures (recalibration's first minute)")
)

// noLoginLimits lifts the sign-in limits: with them, every address would
// be answered 429 after five failures, which measures nothing.
var noLoginLimits = []string{"TACIT_LIMIT_LOGIN=off", "TACIT_LIMIT_LOGIN_IP=off"}

// loginClients is how many logins are in flight at once: enough to keep
// both hashing slots busy while other requests sleep out the envelope.
const loginClients = 64

// bareHashRate is argon2id's throughput measured by the first
// sub-benchmark, for the login ratio.
var bareHashRate float64

// BenchmarkLoginThroughput compares login throughput through the real server
// with bare argon2id throughput, same parameters, same machine, one run.
// The x-argon2 metric is the ratio (target ≥ 0.9).
func BenchmarkLoginThroughput(b *testing.B) {
	s := startServer(b, noLoginLimits...)
	signUp(b, s, "bench@example.com", "bench password 1")

	b.Run("argon2id", benchBareArgon2id)
	for _, c := range []struct{ name, email, password string }{
		{"wrong_password", "bench@example.com", "wrong password"},
		{"unknown_address", "nobody@example.com", "wrong password"},
		{"correct_password", "bench@example.com", "bench password 1"},
	} {
		b.Run("login_"+c.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loginClients}}
			var failed atomic.Int64
			b.SetParallelism(loginClients / 2)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					code, _ := postJSON(b, client, s.URL+"/api/login", map[string]string{"email": c.email, "password": c.password})
					if code != http.StatusOK && code != http.StatusUnauthorized {
						failed.Add(1)
					}
				}
			})
			rate := float64(b.N) / time.Since(start).Seconds()
			if failed.Load() > 0 {
				b.Fatalf("%d logins answered neither 200 nor 401", failed.Load())
			}
			b.ReportMetric(rate, "ops/s")
			if bareHashRate > 0 {
				b.ReportMetric(rate/bareHashRate, "x-argon2")
			}
		})
	}
}

// benchBareArgon2id measures argon2id verifications per second with the
// production parameters and as many hashes at once as the server allows,
// and keeps the rate for the x-argon2 ratios of later sub-benchmarks.
func benchBareArgon2id(b *testing.B) {
	h, err := argon2id.New(argon2id.DefaultParams(), 0)
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := h.Hash("bench password 1")
	b.SetParallelism(loginClients / 2)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Verify("wrong password", enc)
		}
	})
	bareHashRate = float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(bareHashRate, "ops/s")
}

// BenchmarkLoginTiming sends interleaved wrong-password logins for a
// registered address and two unknown ones, in random order, one at a time,
// and compares the registered-vs-unknown response times against the
// unknown-vs-unknown control (docs/DESIGN.md §5). Run it with -benchtime=1x;
// -timing.pairs sets the sample size, -timing.for bounds its time (on a
// busy machine the pairs asked for may not fit), and the pairs sent are
// reported.
func BenchmarkLoginTiming(b *testing.B) {
	env := noLoginLimits
	if *timingEnvelope != "" {
		env = append(env, "TACIT_ENVELOPE="+*timingEnvelope)
	}
	s := startServer(b, env...)
	signUp(b, s, "known@example.com", "timing password 1")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	addrs := []string{"known@example.com", "unknown-1@example.com", "unknown-2@example.com"}
	samples := make([][]time.Duration, len(addrs))
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	begin := time.Now()
	b.ResetTimer()
	for range b.N {
		for i := 0; i < *timingPairs; i++ {
			if *timingFor > 0 && time.Since(begin) > *timingFor {
				b.Logf("stopped after %v: %d of %d triples sent", *timingFor, i, *timingPairs)
				break
			}
			for _, k := range r.Perm(len(addrs)) {
				start := time.Now()
				code, _ := postJSON(b, client, s.URL+"/api/login", map[string]string{"email": addrs[k], "password": "wrong password"})
				samples[k] = append(samples[k], time.Since(start))
				if code != http.StatusUnauthorized {
					b.Fatalf("login %s: %d", addrs[k], code)
				}
			}
		}
	}
	b.StopTimer()
	known, control := compare(b, samples[0], samples[1]), compare(b, samples[2], samples[1])
	if m := envelopeLine.FindStringSubmatch(s.log.String()); m != nil {
		b.Logf("envelope %s at start-up", m[1])
	}
	b.Logf("registered vs unknown: %v", known)
	b.Logf("unknown vs unknown (control): %v", control)
	b.ReportMetric(float64(len(samples[0])), "triples")
	b.ReportMetric(float64(known.Median1.Microseconds()), "µs-median-registered")
	b.ReportMetric(float64(known.Median2.Microseconds()), "µs-median-unknown")
	b.ReportMetric(float64(known.Diff.Microseconds()), "µs-diff")
	b.ReportMetric(known.P, "p-registered")
	b.ReportMetric(control.P, "p-control")
	b.ReportMetric(known.Advantage, "advantage")
	b.ReportMetric(control.Advantage, "advantage-control")
	fmt.Printf("timing verdict: %s\n", verdict(known, control))
}

func compare(b *testing.B, x, y []time.Duration) timing.Comparison {
	c, err := timing.Compare(x, y)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// verdict says whether the registered-vs-unknown difference is detectable
// at the 1% level, beside the control's result.
func verdict(known, control timing.Comparison) string {
	detect := func(c timing.Comparison) bool { return c.P < 0.01 || c.AdvantageP < 0.01 }
	return fmt.Sprintf("registered vs unknown detectable: %v; control detectable: %v", detect(known), detect(control))
}

// BenchmarkIdleSignIn measures what a person feels: the latency of one
// failed sign-in at a time (an idle server) against one bare argon2id
// verification with the same parameters, timed alternately in the same
// run. Each sub-benchmark is a fresh start of the server, so the envelope
// is calibrated anew; x-hash is the median sign-in over the median hash
// (goal ≤ 1.5), and comparing the sub-benchmarks' medians shows how much
// the envelope moves from one start to the next (goal ±20%).
// -idle.starts sets how many starts; -idle.settle lets each serve that
// long first, so that the envelope measured is the recalibrated one.
func BenchmarkIdleSignIn(b *testing.B) {
	h, err := argon2id.New(argon2id.DefaultParams(), 0)
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := h.Hash("bench password 1")
	for i := range *idleStarts {
		var s *server
		b.Run(fmt.Sprintf("start%d", i+1), func(sb *testing.B) {
			if s == nil {
				// One start for all runs of the sub-benchmark (the
				// testing package runs it with b.N = 1 first), stopped
				// when the whole benchmark ends. At DEBUG the server
				// logs each request whose own work overran the envelope.
				s = startServer(b, append([]string{"TACIT_LOG_LEVEL=debug"}, noLoginLimits...)...)
				signUp(sb, s, "idle@example.com", "bench password 1")
				time.Sleep(*idleSettle)
			}
			b := sb
			before := strings.Count(s.log.String(), "overran the envelope")
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			var hashes, logins []time.Duration
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				h.Verify("wrong password", enc)
				hashes = append(hashes, time.Since(t0))
				t0 = time.Now()
				code, _ := postJSON(b, client, s.URL+"/api/login", map[string]string{"email": "idle@example.com", "password": "wrong password"})
				logins = append(logins, time.Since(t0))
				if code != http.StatusUnauthorized {
					b.Fatalf("login: %d", code)
				}
			}
			b.StopTimer()
			mh, ml := median(hashes), median(logins)
			b.ReportMetric(float64(mh.Microseconds())/1000, "ms-hash")
			b.ReportMetric(float64(ml.Microseconds())/1000, "ms-signin")
			b.ReportMetric(float64(ml)/float64(mh), "x-hash")
			b.ReportMetric(float64(strings.Count(s.log.String(), "overran the envelope")-before), "overruns")
			if m := envelopeLine.FindStringSubmatch(s.log.String()); m != nil {
				b.Logf("envelope %s at start-up", m[1])
			}
			if m := recalibratedLine.FindAllStringSubmatch(s.log.String(), -1); m != nil {
				b.Logf("envelope %s when measured (recalibrated %d times)", m[len(m)-1][1], len(m))
			}
		})
	}
}

// envelopeLine finds the envelope the server measured in its log, and
// recalibratedLine each new value recalibration gave it (at DEBUG).
var (
	envelopeLine     = regexp.MustCompile(`envelope measured[^\n]*envelope=(\S+)`)
	recalibratedLine = regexp.MustCompile(`envelope recalibrated[^\n]*envelope=(\S+)`)
)

// median returns the median of d (which it sorts).
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

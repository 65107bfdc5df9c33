package e2e

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/timing"
)

var (
	addressPairs      = flag.Int("timing.address-pairs", 600, "interleaved request triples per endpoint for BenchmarkAddressTiming")
	addressEndpointsF = flag.String("timing.endpoints", "", "comma list of BenchmarkAddressTiming's endpoints to measure (signup, resend, forgot, login; empty: all)")
)

// cheapHashNoLimits is the setting of the issue-17 scans: a cheap hash, so
// the envelope is short and small differences stand out, and every limit
// off, so no request is throttled and every one does its full work.
var cheapHashNoLimits = []string{
	"TACIT_HASH_MEMORY_KIB=4096", "TACIT_HASH_TIME=1",
	"TACIT_LIMIT_LOGIN=off", "TACIT_LIMIT_LOGIN_IP=off", "TACIT_LIMIT_SIGNUP=off",
	"TACIT_LIMIT_RESEND=off", "TACIT_LIMIT_RESET=off", "TACIT_LIMIT_RESET_SUBMIT_IP=off",
	"TACIT_LIMIT_REQUESTS_IP=off", "TACIT_LIMIT_MFA=off", "TACIT_LIMIT_MAIL=off",
}

// addressEndpoint is one endpoint that takes an address.
type addressEndpoint struct {
	name, path string
	want       int
	body       func(email string) map[string]string
}

var addressEndpoints = []addressEndpoint{
	{"signup", "/api/register", http.StatusAccepted, func(e string) map[string]string { return map[string]string{"email": e} }},
	{"resend", "/api/verify/resend", http.StatusAccepted, func(e string) map[string]string { return map[string]string{"email": e} }},
	{"forgot", "/api/password/forgot", http.StatusAccepted, func(e string) map[string]string { return map[string]string{"email": e} }},
	{"login", "/api/login", http.StatusUnauthorized, func(e string) map[string]string {
		return map[string]string{"email": e, "password": "wrong password"}
	}},
}

// BenchmarkAddressTiming measures, for every endpoint that takes an
// address, whether its response time tells a registered address from an
// unknown one. Each round sends, per endpoint in a random order, a triple
// of requests in a random order: a registered address, an unknown one, and
// a second unknown one as the control. Differences are paired within the
// triple (registered − unknown, control − unknown), so drift and load
// cancel; the report gives the mean difference, the Hodges–Lehmann shift
// with its 95% interval, and the Wilcoxon signed-rank p-value. The server
// runs with a cheap hash and every limit off (cheapHashNoLimits). Run it
// with -benchtime=1x; -timing.address-pairs sets the triples per endpoint.
func BenchmarkAddressTiming(b *testing.B) {
	endpoints := addressEndpoints
	if *addressEndpointsF != "" {
		endpoints = nil
		for _, ep := range addressEndpoints {
			if slices.Contains(strings.Split(*addressEndpointsF, ","), ep.name) {
				endpoints = append(endpoints, ep)
			}
		}
	}
	s := startServer(b, cheapHashNoLimits...)
	// Same-length addresses, one registered account per endpoint.
	addrs := map[string][3]string{}
	for _, ep := range endpoints {
		a := [3]string{"k-" + ep.name + "@example.com", "a-" + ep.name + "@example.com", "b-" + ep.name + "@example.com"}
		signUp(b, s, a[0], "timing password 1")
		addrs[ep.name] = a
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	samples := map[string]*[3][]time.Duration{}
	for _, ep := range endpoints {
		samples[ep.name] = &[3][]time.Duration{}
	}
	b.ResetTimer()
	for range b.N {
		for i := 0; i < *addressPairs; i++ {
			for _, e := range r.Perm(len(endpoints)) {
				ep := endpoints[e]
				for _, k := range r.Perm(3) {
					start := time.Now()
					code, body := postJSON(b, client, s.URL+ep.path, ep.body(addrs[ep.name][k]))
					samples[ep.name][k] = append(samples[ep.name][k], time.Since(start))
					if code != ep.want {
						b.Fatalf("%s %s: %d %s", ep.name, addrs[ep.name][k], code, body)
					}
				}
			}
		}
	}
	b.StopTimer()
	var table strings.Builder
	fmt.Fprintf(&table, "| endpoint | comparison | pairs | mean difference | shift (95%% CI) | signed-rank p |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, ep := range endpoints {
		sm := samples[ep.name]
		for _, c := range []struct {
			name string
			x    []time.Duration
		}{{"registered − unknown", sm[0]}, {"unknown − unknown (control)", sm[2]}} {
			d := make([]time.Duration, len(c.x))
			for i := range d {
				d[i] = c.x[i] - sm[1][i]
			}
			pc, err := timing.ComparePaired(d, 0.95)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(&table, "| %s | %s | %d | %+.1f µs | %+.1f µs (%+.1f to %+.1f) | %.2g |\n", ep.name, c.name, pc.N,
				micros(mean(d)), micros(pc.Effect), micros(pc.Low), micros(pc.High), pc.P)
			if c.name == "registered − unknown" {
				b.ReportMetric(micros(mean(d)), "µs-mean-"+ep.name)
				b.ReportMetric(pc.P, "p-"+ep.name)
			}
		}
	}
	fmt.Print(table.String())
}

func mean(d []time.Duration) time.Duration {
	var sum float64
	for _, x := range d {
		sum += float64(x)
	}
	return time.Duration(math.Round(sum / float64(len(d))))
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

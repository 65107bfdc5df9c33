package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/passkeytest"
)

// BenchmarkPasskeyLoginFailures times POST /api/passkey/login for the two
// failures an outsider can best tell apart by work: a credential id no
// account has (checked against a key nobody holds) and the credential of
// an account answered with a bad signature. Both run without an envelope,
// so the figures are the work itself; they alternate, one at a time (each
// first every other time), and
// only the POST of the answer is timed (options and signing are the
// client's). It reports the medians and their ratio.
func BenchmarkPasskeyLoginFailures(b *testing.B) {
	h := newHarness(b, options{passkeys: true})
	known := accountstate.Passkey(h.arranged(accountstate.PasskeyEnabled))
	stranger := passkeytest.Stranger("localhost")
	var unknownTimes, knownTimes []time.Duration
	try := func(p *passkeytest.Passkey, tweak passkeytest.Tweak) time.Duration {
		br := h.browser()
		r := br.postJSON("/api/passkey/login/options", "")
		cred, err := h.authenticator().Get(r.body, p, tweak)
		if err != nil {
			b.Fatal(err)
		}
		req := h.newRequest(http.MethodPost, "/api/passkey/login", strings.NewReader(withCredential(nil, cred)))
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		r = br.send(req)
		d := time.Since(start)
		if r.StatusCode != http.StatusUnauthorized {
			b.Fatalf("answer %d %s", r.StatusCode, r.text())
		}
		return d
	}
	// Warm up both paths.
	for range 5 {
		try(stranger, passkeytest.Honest)
		try(known, passkeytest.BadSignature)
	}
	b.ResetTimer()
	for i := range b.N {
		// Each goes first every other time, so neither gains from order.
		if i%2 == 0 {
			unknownTimes = append(unknownTimes, try(stranger, passkeytest.Honest))
			knownTimes = append(knownTimes, try(known, passkeytest.BadSignature))
		} else {
			knownTimes = append(knownTimes, try(known, passkeytest.BadSignature))
			unknownTimes = append(unknownTimes, try(stranger, passkeytest.Honest))
		}
	}
	b.StopTimer()
	mu, mk := median(unknownTimes), median(knownTimes)
	b.ReportMetric(float64(mu.Microseconds()), "µs-unknown")
	b.ReportMetric(float64(mk.Microseconds()), "µs-known-bad-sig")
	b.ReportMetric(float64(mk)/float64(mu), "x-known/unknown")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

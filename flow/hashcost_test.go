package flow_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/testenv"
)

// Costs for the hash-cost timing tests: real Argon2id, small enough for a
// test. The cheaper one takes a small fraction of liveCost; the costlier
// one some fifty times lowLiveCost, more than the envelope measured for
// that live cost alone covers.
var (
	liveCost     = argon2id.Params{Memory: 4096, Time: 2, Threads: 1}
	cheaperCost  = argon2id.Params{Memory: 64, Time: 1, Threads: 1}
	lowLiveCost  = argon2id.Params{Memory: 1024, Time: 1, Threads: 1}
	costlierCost = argon2id.Params{Memory: 4096, Time: 16, Threads: 1}
)

func hasherFor(t *testing.T, p argon2id.Params) *argon2id.Hasher {
	t.Helper()
	h, err := argon2id.New(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// hashCostEnv is a Service with the live cost and no sign-in limits (every
// sample is a wrong password for the same few addresses), and an account
// whose stored hash was made with each of the given costs.
func hashCostEnv(t *testing.T, live argon2id.Params, envelope time.Duration, costs map[string]argon2id.Params) *flow.Service {
	t.Helper()
	ctx := context.Background()
	db := testenv.SQLite(t)
	limits := flow.DefaultLimits()
	limits.Login, limits.LoginIP = flow.Limit{}, flow.Limit{}
	svc, err := flow.New(db, hasherFor(t, live), flow.Config{Links: tacit.Links{Base: base}, Envelope: envelope, Limits: &limits})
	if err != nil {
		t.Fatal(err)
	}
	for email, p := range costs {
		if err := accountstate.Arrange(ctx, db, hasherFor(t, p), accountstate.Verified, email, statePassword); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

// wrongPasswordTimes signs in rounds times to each address with a wrong
// password, the addresses in a fresh random order each round so that load
// from elsewhere falls on all alike, and returns each address's times.
func wrongPasswordTimes(t *testing.T, svc *flow.Service, rounds int, addrs ...string) map[string][]time.Duration {
	t.Helper()
	ctx := context.Background()
	times := map[string][]time.Duration{}
	for range rounds {
		order := slices.Clone(addrs)
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, a := range order {
			start := time.Now()
			o, err := svc.Login(ctx, a, "not the password", flow.Client{IP: "192.0.2.1"})
			d := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			wantKind(t, o, tacit.InvalidCredentials)
			times[a] = append(times[a], d)
		}
	}
	return times
}

// quantile returns the q-quantile of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// alike reports, for each address whose lower quartile is not within frac
// of the unknown address's, how they differ, and logs the figures. Load
// from elsewhere only ever adds time, so the lower quartile shows the work
// itself better than the median on a busy machine.
func alike(t *testing.T, times map[string][]time.Duration, unknown string, frac float64) []string {
	t.Helper()
	var diffs []string
	ref := quantile(times[unknown], 0.25)
	for a, ds := range times {
		q := quantile(ds, 0.25)
		t.Logf("%-22s n=%d  q25 %7.2f ms  median %7.2f ms  (min %.2f, max %.2f); q25 vs unknown: %+.2f ms",
			a, len(ds), ms(q), ms(quantile(ds, 0.5)), ms(slices.Min(ds)), ms(slices.Max(ds)), ms(q-ref))
		if diff := q - ref; float64(diff.Abs()) > frac*float64(ref) {
			diffs = append(diffs, fmt.Sprintf("%s: wrong password answers in %v (lower quartile), unknown address in %v: differs by %v, more than %.0f%%",
				a, q, ref, diff, 100*frac))
		}
	}
	return diffs
}

// wantAlikeWithin measures up to attempts times and passes as soon as one
// measurement shows every address alike. A difference the code makes shows
// in every attempt; a burst of load from other tests seldom lasts through
// all of them.
func wantAlikeWithin(t *testing.T, attempts int, measure func() map[string][]time.Duration, unknown string, frac float64) {
	t.Helper()
	var diffs []string
	for i := range attempts {
		if diffs = alike(t, measure(), unknown, frac); len(diffs) == 0 {
			return
		}
		t.Logf("attempt %d of %d: %s", i+1, attempts, strings.Join(diffs, "; "))
	}
	t.Error(strings.Join(diffs, "\n"))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// A wrong password for an account whose hash was made with a cheaper cost
// (before the operator raised it) must take as long as one for an unknown
// address, which verifies the dummy hash at the live cost. The envelope is
// kept below the hash time on purpose, so it cannot hide the difference.
func TestWrongPasswordCheaperHashTakesLiveTime(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	svc := hashCostEnv(t, liveCost, time.Millisecond, map[string]argon2id.Params{
		"cheaper@example.com": cheaperCost,
		"live@example.com":    liveCost,
	})
	wantAlikeWithin(t, 3, func() map[string][]time.Duration {
		return wrongPasswordTimes(t, svc, 31, "cheaper@example.com", "live@example.com", "unknown@example.com")
	}, "unknown@example.com", 0.3)
}

// An account whose hash is costlier than the live cost (imported, or made
// before the operator lowered it) cannot verify faster; the envelope must
// cover it instead. MeasureEnvelopeFor sizes the envelope from the
// costliest stored hash, so a wrong password for that account answers at
// the envelope like one for an unknown address.
func TestWrongPasswordCostlierHashInsideEnvelope(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	costly, err := hasherFor(t, costlierCost).Hash("a sample of the costliest stored hash")
	if err != nil {
		t.Fatal(err)
	}
	envelope := flow.MeasureEnvelopeFor(hasherFor(t, lowLiveCost), []string{costly})
	t.Logf("envelope %v", envelope)
	svc := hashCostEnv(t, lowLiveCost, envelope, map[string]argon2id.Params{
		"costlier@example.com": costlierCost,
		"live@example.com":     lowLiveCost,
	})
	wantAlikeWithin(t, 3, func() map[string][]time.Duration {
		return wrongPasswordTimes(t, svc, 9, "costlier@example.com", "live@example.com", "unknown@example.com")
	}, "unknown@example.com", 0.1)
}

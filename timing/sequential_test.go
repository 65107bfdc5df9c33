package timing

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestSequentialLooks(t *testing.T) {
	p := Sequential{Alpha: 0.01, Max: 2500}
	if got := p.Interim(); !slices.Equal(got, []int{20, 40, 80, 160, 320, 640, 1280}) {
		t.Errorf("interim looks %v", got)
	}
	if got := p.InterimLevel()*7 + p.FinalLevel(); got > 0.01+1e-15 || p.FinalLevel() != 0.005 {
		t.Errorf("levels spend %v of 0.01 (final %v)", got, p.FinalLevel())
	}
	if n, ok := p.IsInterim(80); !ok || n != 3 {
		t.Errorf("IsInterim(80) = %d, %v", n, ok)
	}
	if q := (Sequential{Alpha: 0.01, Max: 20}); len(q.Interim()) != 0 || q.FinalLevel() != 0.01 || q.InterimLevel() != 0 {
		t.Errorf("no room for an interim look: %v, final %v", q.Interim(), q.FinalLevel())
	}
}

// TestSequentialKeepsLevel: with no difference (symmetric noise, heavy
// tailed), the chance that any look of the sequence rejects stays at or
// below Alpha; a shift of one noise scale is found, mostly early.
func TestSequentialKeepsLevel(t *testing.T) {
	const runs, max, alpha = 2000, 320, 0.05
	p := Sequential{Alpha: alpha, Max: max}
	r := rand.New(rand.NewPCG(1, 2))
	noise := func() time.Duration {
		return time.Duration((r.ExpFloat64() - r.ExpFloat64()) * float64(100*time.Microsecond))
	}
	reject := func(shift time.Duration) (bool, bool) {
		d := make([]time.Duration, 0, max)
		for len(d) < max {
			d = append(d, shift+noise())
			if _, ok := p.IsInterim(len(d)); ok {
				if c, err := ComparePaired(d, 0.95); err == nil && c.P < p.InterimLevel() {
					return true, true
				}
			}
		}
		c, err := ComparePaired(d, 0.95)
		return err == nil && c.P < p.FinalLevel(), false
	}
	alarms := 0
	for range runs {
		if ok, _ := reject(0); ok {
			alarms++
		}
	}
	// Alpha is 100 alarms in 2,000; 125 is 2.6 standard errors above.
	if alarms > 125 {
		t.Errorf("%d false alarms in %d sequences at alpha %v", alarms, runs, alpha)
	}
	found, early := 0, 0
	for range 200 {
		ok, e := reject(100 * time.Microsecond)
		if ok {
			found++
		}
		if e {
			early++
		}
	}
	if found < 190 || early < 150 {
		t.Errorf("a shift of the noise scale: found %d of 200, %d early", found, early)
	}
	t.Logf("%d false alarms in %d; shift found %d/200, %d early", alarms, runs, found, early)
}

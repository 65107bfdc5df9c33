package timing

import (
	"math/rand/v2"
	"testing"
	"time"
)

func sample(r *rand.Rand, n int, base time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		// Log-normal-ish jitter, like real latencies.
		out[i] = base + time.Duration(r.ExpFloat64()*float64(200*time.Microsecond))
	}
	return out
}

func TestCompareEqualSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// Over many equal pairs the false-alarm rate at p<0.01 stays near 1%.
	alarms := 0
	for i := 0; i < 200; i++ {
		c, err := Compare(sample(r, 500, time.Millisecond), sample(r, 500, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if c.P < 0.01 {
			alarms++
		}
	}
	if alarms > 8 {
		t.Fatalf("%d of 200 equal comparisons had p < 0.01", alarms)
	}
}

func TestCompareFindsAShift(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	c, err := Compare(sample(r, 2000, time.Millisecond+50*time.Microsecond), sample(r, 2000, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if c.P > 1e-6 || c.AdvantageP > 1e-6 || c.Advantage < 0.1 {
		t.Fatalf("a 50µs shift went unnoticed: %v", c)
	}
	if c.Diff < 20*time.Microsecond || c.Diff > 80*time.Microsecond {
		t.Fatalf("median diff = %v, want about 50µs", c.Diff)
	}
}

func TestKSDistance(t *testing.T) {
	if d := ksDistance([]float64{1, 2, 3}, []float64{1, 2, 3}); d != 0 {
		t.Errorf("equal samples: D = %v", d)
	}
	if d := ksDistance([]float64{1, 2}, []float64{3, 4}); d != 1 {
		t.Errorf("disjoint samples: D = %v", d)
	}
	if d := ksDistance([]float64{1, 3}, []float64{2, 4}); d != 0.5 {
		t.Errorf("interleaved samples: D = %v", d)
	}
}

func TestMedian(t *testing.T) {
	if m := Median([]time.Duration{3, 1, 2}); m != 2 {
		t.Errorf("odd: %v", m)
	}
	if m := Median([]time.Duration{4, 1, 2, 3}); m != 2 {
		t.Errorf("even: %v", m)
	}
	if _, err := Compare(nil, []time.Duration{1}); err == nil {
		t.Error("Compare accepted an empty sample")
	}
}

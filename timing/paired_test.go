package timing

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestComparePairedByHand(t *testing.T) {
	// d = 1…10µs, each twice: 20 positive differences in ten ties of
	// two, so W+ = 210, mean 105, variance 20·21·41/24 - 10·6/48 = 716.25,
	// z = (210-105-0.5)/26.763 = 3.9047, p = 2Φ(-3.9047) = 9.4355e-5; the
	// Walsh averages are symmetric about 5.5µs.
	var d []time.Duration
	for i := 1; i <= 10; i++ {
		d = append(d, time.Duration(i)*time.Microsecond)
	}
	d = append(d, d...)
	c, err := ComparePaired(d, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c.P-9.4355e-5) > 0.0005e-5 {
		t.Errorf("p = %.5g, want 9.4355e-5", c.P)
	}
	if c.Effect != 5500*time.Nanosecond || c.Positive != 20 || c.N != 20 || c.Zeros != 0 {
		t.Errorf("comparison = %+v", c)
	}
}

func TestComparePairedNeedsPairs(t *testing.T) {
	d := make([]time.Duration, 100)
	d[0], d[1] = 1, -1
	if _, err := ComparePaired(d, 0.95); err == nil {
		t.Fatal("98 zero differences of 100 were accepted")
	}
	if _, err := ComparePaired([]time.Duration{1}, 1.5); err == nil {
		t.Fatal("confidence 1.5 was accepted")
	}
}

// TestWalshSumMatchesBruteForce: the bisection finds the same order
// statistics of the Walsh sums as listing and sorting them.
func TestWalshSumMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for range 20 {
		n := 1 + r.IntN(40)
		d := make([]time.Duration, n)
		for i := range d {
			d[i] = time.Duration(r.IntN(21) - 10) // many ties
		}
		slices.Sort(d)
		var all []time.Duration
		for i := range d {
			for j := i; j < n; j++ {
				all = append(all, d[i]+d[j])
			}
		}
		slices.Sort(all)
		for k := range all {
			if got := walshSum(d, int64(k+1)); got != all[k] {
				t.Fatalf("n=%d k=%d: %v, want %v", n, k+1, got, all[k])
			}
		}
	}
}

func normalDiffs(r *rand.Rand, n int, shift, sd time.Duration) []time.Duration {
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = shift + time.Duration(r.NormFloat64()*float64(sd))
	}
	return d
}

// TestIntervalCoverage: the 95% interval holds the true shift in about
// 95% of samples, and the test's false-alarm rate is about α.
func TestIntervalCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	const runs = 400
	covered, alarms := 0, 0
	for range runs {
		c, err := ComparePaired(normalDiffs(r, 200, 30*time.Microsecond, 100*time.Microsecond), 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if c.Low <= 30*time.Microsecond && 30*time.Microsecond <= c.High {
			covered++
		}
		c0, _ := ComparePaired(normalDiffs(r, 200, 0, 100*time.Microsecond), 0.95)
		if c0.P < 0.05 {
			alarms++
		}
	}
	// Binomial(400, 0.95) lies in [368, 392] with probability > 0.999.
	if covered < 368 || covered > 392 {
		t.Errorf("the 95%% interval covered the shift %d times of %d", covered, runs)
	}
	if alarms < 7 || alarms > 36 {
		t.Errorf("%d of %d equal samples had p < 0.05", alarms, runs)
	}
}

// TestPairsForNormalNoise: for normal differences with standard deviation
// σ, Noether's formula is the t-test's sample size divided by the
// signed-rank test's efficiency 3/π: n = (z+z)² π σ² / (3 δ²).
func TestPairsForNormalNoise(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	pilot := normalDiffs(r, 1500, 0, 100*time.Microsecond)
	got := PairsFor(pilot, 50*time.Microsecond, 0.01, 0.95)
	z := 2.5758 + 1.6449
	want := z * z * math.Pi * 4 / 3 // σ/δ = 2
	if math.Abs(float64(got)-want)/want > 0.1 {
		t.Errorf("PairsFor = %d, want about %.0f", got, want)
	}
	res := Resolution(pilot, got, 0.01, 0.95)
	if res < 49*time.Microsecond || res > 51*time.Microsecond {
		t.Errorf("Resolution(PairsFor(50µs)) = %v", res)
	}
	if n := PairsFor(make([]time.Duration, 50), 50*time.Microsecond, 0.01, 0.95); n != 0 {
		t.Errorf("a pilot without spread needs %d pairs, want 0", n)
	}
}

// TestPairsForReachesPower: a sample sized from a 50-pair pilot detects
// the shift it was sized for in at least 95% of trials, for normal and for
// heavy-tailed (Laplace) noise.
func TestPairsForReachesPower(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	laplace := func(n int, shift, b time.Duration) []time.Duration {
		d := make([]time.Duration, n)
		for i := range d {
			x := r.ExpFloat64() * float64(b)
			if r.IntN(2) == 0 {
				x = -x
			}
			d[i] = shift + time.Duration(x)
		}
		return d
	}
	for _, noise := range []struct {
		name string
		draw func(n int, shift time.Duration) []time.Duration
	}{
		{"normal", func(n int, shift time.Duration) []time.Duration {
			return normalDiffs(r, n, shift, 100*time.Microsecond)
		}},
		{"laplace", func(n int, shift time.Duration) []time.Duration { return laplace(n, shift, 70*time.Microsecond) }},
	} {
		const runs, delta, alpha = 200, 50 * time.Microsecond, 0.01
		detected := 0
		for range runs {
			pilot := noise.draw(50, delta)
			n := max(PairsFor(pilot, delta, alpha, 0.95), 50)
			c, err := ComparePaired(append(pilot, noise.draw(n-50, delta)...), 0.95)
			if err != nil {
				t.Fatal(err)
			}
			if c.P < alpha {
				detected++
			}
		}
		if detected < 186 { // 93% of 200: 95% power less sampling error
			t.Errorf("%s noise: %d of %d detected", noise.name, detected, runs)
		}
	}
}

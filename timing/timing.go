// Package timing compares samples of response times: two independent
// samples (Compare), or the differences of interleaved pairs, with the
// sample size to plan for them (ComparePaired, PairsFor). These are the
// statistics behind tacit's timing benchmark (docs/DESIGN.md §5) and the
// scanner's timing check.
package timing

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aclements/go-moremath/stats"
)

// Comparison summarises two samples and how well they can be told apart.
type Comparison struct {
	N1, N2           int
	Median1, Median2 time.Duration
	// Diff is Median1 - Median2.
	Diff time.Duration
	// P is the two-sided Mann-Whitney U test's p-value for the null
	// hypothesis that neither sample tends to be larger.
	P float64
	// Advantage is the two-sample Kolmogorov-Smirnov distance: the largest
	// gap between the two empirical distribution functions. It is exactly
	// the advantage of the best "slower than t means sample 1" guess over
	// a coin toss, so it says how much an observer can learn per request.
	Advantage float64
	// AdvantageP is the asymptotic p-value of the KS distance.
	AdvantageP float64
}

// Compare compares samples a and b. Both must be non-empty.
func Compare(a, b []time.Duration) (Comparison, error) {
	if len(a) == 0 || len(b) == 0 {
		return Comparison{}, fmt.Errorf("timing: empty sample")
	}
	x1, x2 := seconds(a), seconds(b)
	mw, err := stats.MannWhitneyUTest(x1, x2, stats.LocationDiffers)
	if err != nil {
		return Comparison{}, fmt.Errorf("timing: %w", err)
	}
	c := Comparison{N1: len(a), N2: len(b), Median1: Median(a), Median2: Median(b), P: mw.P}
	c.Diff = c.Median1 - c.Median2
	c.Advantage = ksDistance(x1, x2)
	c.AdvantageP = ksPValue(c.Advantage, len(a), len(b))
	return c, nil
}

// Median returns the median of d (the mean of the middle two for an even
// count).
func Median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (c Comparison) String() string {
	return fmt.Sprintf("n=%d/%d median %v vs %v (diff %v), Mann-Whitney p=%.3g, KS advantage %.4f (p=%.3g)",
		c.N1, c.N2, c.Median1, c.Median2, c.Diff, c.P, c.Advantage, c.AdvantageP)
}

func seconds(d []time.Duration) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = v.Seconds()
	}
	return out
}

// ksDistance is the two-sample Kolmogorov-Smirnov statistic. go-moremath
// has no two-sample KS test, and it is a dozen lines.
func ksDistance(a, b []float64) float64 {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	var i, j int
	var d float64
	for i < len(a) && j < len(b) {
		x := math.Min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		d = math.Max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}

// ksPValue is the asymptotic p-value of a two-sample KS distance d
// (Numerical Recipes' Q_KS with Stephens' small-sample correction).
func ksPValue(d float64, n1, n2 int) float64 {
	ne := float64(n1) * float64(n2) / float64(n1+n2)
	sq := math.Sqrt(ne)
	lambda := (sq + 0.12 + 0.11/sq) * d
	if lambda < 0.2 {
		return 1
	}
	var sum float64
	sign := 1.0
	for k := 1; k <= 100; k++ {
		term := 2 * sign * math.Exp(-2*lambda*lambda*float64(k*k))
		sum += term
		if math.Abs(term) < 1e-12 {
			break
		}
		sign = -sign
	}
	return math.Min(1, math.Max(0, sum))
}

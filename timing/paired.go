package timing

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aclements/go-moremath/stats"
)

// Paired tests on differences d[i] = a[i] - b[i] of interleaved pairs of
// measurements: the scanner sends a known and an unknown identifier in a
// random order inside each round, so if the target's latency does not
// depend on the identifier, every difference is as likely to be positive
// as negative, whatever the drift, load or caching around it. That is
// exactly the null hypothesis of the Wilcoxon signed-rank test, which
// makes the test valid without assuming anything about the latency
// distribution. go-moremath has the unpaired Mann-Whitney test but not
// the signed-rank test or the Hodges–Lehmann interval, so they are here;
// they are short.

// MinPairs is the fewest non-zero differences ComparePaired accepts: its
// p-value uses the normal approximation of the signed-rank statistic,
// which is accurate to a few percent of α from about 20 pairs on.
const MinPairs = 20

// PairedComparison is the result of ComparePaired.
type PairedComparison struct {
	// N is the number of differences; Zeros of them were exactly zero
	// (the test drops those).
	N, Zeros int
	// P is the two-sided Wilcoxon signed-rank p-value for the null
	// hypothesis that the differences are symmetric about zero.
	P float64
	// Effect is the Hodges–Lehmann estimate of the shift (the median of
	// the Walsh averages (d[i]+d[j])/2, i ≤ j); [Low, High] is its
	// distribution-free confidence interval at Confidence.
	Effect, Low, High time.Duration
	Confidence        float64
	// Positive is how many differences were positive.
	Positive int
}

func (c PairedComparison) String() string {
	return fmt.Sprintf("n=%d effect %v (%.0f%% CI %v to %v), signed-rank p=%.3g",
		c.N, c.Effect, 100*c.Confidence, c.Low, c.High, c.P)
}

// ComparePaired tests paired differences d and estimates their shift
// with a confidence interval at confidence (e.g. 0.95). It needs at least
// MinPairs non-zero differences.
func ComparePaired(d []time.Duration, confidence float64) (PairedComparison, error) {
	if confidence <= 0 || confidence >= 1 {
		return PairedComparison{}, fmt.Errorf("timing: confidence %v not in (0, 1)", confidence)
	}
	s := slices.Clone(d)
	slices.Sort(s)
	c := PairedComparison{N: len(s), Confidence: confidence}
	var nonzero []time.Duration
	for _, x := range s {
		switch {
		case x == 0:
			c.Zeros++
		case x > 0:
			c.Positive++
		}
		if x != 0 {
			nonzero = append(nonzero, x)
		}
	}
	if len(nonzero) < MinPairs {
		return PairedComparison{}, fmt.Errorf("timing: %d non-zero differences, need %d", len(nonzero), MinPairs)
	}
	c.P = signedRankP(nonzero)
	c.Effect, c.Low, c.High = hodgesLehmann(s, confidence)
	return c, nil
}

// signedRankP is the two-sided p-value of the signed-rank test of the
// non-zero differences d, from the normal approximation with the
// correction for tied ranks and for continuity.
func signedRankP(d []time.Duration) float64 {
	abs := make([]time.Duration, len(d))
	for i, x := range d {
		abs[i] = max(x, -x)
	}
	order := make([]int, len(d))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return cmpDuration(abs[i], abs[j]) })
	var wPlus, ties float64
	for i := 0; i < len(order); {
		j := i
		for j < len(order) && abs[order[j]] == abs[order[i]] {
			j++
		}
		rank := float64(i+j+1) / 2 // the mean of ranks i+1 … j
		for _, k := range order[i:j] {
			if d[k] > 0 {
				wPlus += rank
			}
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	n := float64(len(d))
	mean := n * (n + 1) / 4
	sd := math.Sqrt(n*(n+1)*(2*n+1)/24 - ties/48)
	if sd == 0 {
		return 1
	}
	z := math.Max(0, math.Abs(wPlus-mean)-0.5) / sd
	return math.Min(1, 2*stats.StdNormal.CDF(-z))
}

func cmpDuration(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// hodgesLehmann returns the median of the Walsh averages of sorted d and
// the confidence interval made of two of their order statistics (Hollander
// & Wolfe, Nonparametric Statistical Methods, §3.2). There are n(n+1)/2
// Walsh averages, 3 million for 2,500 pairs, so they are never listed: the
// k-th smallest is found by bisection on its value (walshRank).
func hodgesLehmann(d []time.Duration, confidence float64) (est, lo, hi time.Duration) {
	n := int64(len(d))
	m := n * (n + 1) / 2
	if m%2 == 1 {
		est = walshSum(d, (m+1)/2) / 2
	} else {
		est = (walshSum(d, m/2) + walshSum(d, m/2+1)) / 4
	}
	z := stats.StdNormal.InvCDF(1 - (1-confidence)/2)
	nf := float64(n)
	k := int64(math.Floor(nf*(nf+1)/4 - z*math.Sqrt(nf*(nf+1)*(2*nf+1)/24)))
	k = min(max(k, 1), m)
	return est, walshSum(d, k) / 2, walshSum(d, m-k+1) / 2
}

// walshSum returns the k-th smallest (1-based) of the sums d[i]+d[j],
// i ≤ j, of sorted d, by bisection over the integer sum: O(n log range).
func walshSum(d []time.Duration, k int64) time.Duration {
	lo, hi := 2*d[0], 2*d[len(d)-1]
	for lo < hi {
		mid := lo + (hi-lo)/2
		if walshRank(d, mid) >= k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// walshRank counts the sums d[i]+d[j] ≤ x, i ≤ j, of sorted d. As i
// grows the largest j with d[i]+d[j] ≤ x can only shrink, so one sweep
// does it.
func walshRank(d []time.Duration, x time.Duration) int64 {
	var count int64
	j := len(d) - 1
	for i := range d {
		for j >= 0 && d[i]+d[j] > x {
			j--
		}
		if j < i {
			break
		}
		count += int64(j - i + 1)
	}
	return count
}

// PairsFor returns how many pairs the signed-rank test needs to detect a
// shift of effect with probability power at two-sided level alpha, given
// a pilot sample of differences. It is Noether's formula (JASA 82, 1987)
//
//	n = (z(1-α/2) + z(power))² / (12 δ² g(0)²)
//
// where g is the density of the sum of two independent differences
// centred on zero (g(0) = ∫f², the quantity that sets the test's
// efficiency), estimated from the pilot with a normal kernel. Only the
// pilot's spread enters, not its location: a leak in the pilot does not
// shrink the sample. It returns 0 if the pilot has no spread at all.
func PairsFor(pilot []time.Duration, effect time.Duration, alpha, power float64) int {
	g := sumDensityAtZero(pilot)
	if g == 0 || math.IsInf(g, 1) || effect <= 0 {
		return 0
	}
	z := stats.StdNormal.InvCDF(1-alpha/2) + stats.StdNormal.InvCDF(power)
	delta := float64(effect)
	return int(math.Ceil(z * z / (12 * delta * delta * g * g)))
}

// Resolution is PairsFor turned around: the shift that n pairs detect
// with probability power at level alpha, given the pilot. It returns 0
// if the pilot has no spread.
func Resolution(pilot []time.Duration, n int, alpha, power float64) time.Duration {
	g := sumDensityAtZero(pilot)
	if g == 0 || math.IsInf(g, 1) || n <= 0 {
		return 0
	}
	z := stats.StdNormal.InvCDF(1-alpha/2) + stats.StdNormal.InvCDF(power)
	return time.Duration(math.Ceil(z / (math.Sqrt(12*float64(n)) * g)))
}

// sumDensityAtZero estimates, in 1/ns, the density at zero of e[i]+e[j]
// (i < j) where e is the pilot centred on its Hodges–Lehmann estimate.
// The bandwidth is Silverman's rule of thumb for the sums' spread with
// the pilot's size (not the number of sums, which are far from
// independent): a wide kernel flattens a sharp peak, so the estimate errs
// towards a larger sample.
func sumDensityAtZero(pilot []time.Duration) float64 {
	n := len(pilot)
	if n < 3 {
		return 0
	}
	s := slices.Clone(pilot)
	slices.Sort(s)
	centre, _, _ := hodgesLehmann(s, 0.5)
	sums := make([]float64, 0, n*(n-1)/2)
	for i := range s {
		for j := i + 1; j < n; j++ {
			sums = append(sums, float64(s[i]-centre)+float64(s[j]-centre))
		}
	}
	sample := stats.Sample{Xs: sums}
	sd := sample.StdDev()
	slices.Sort(sums)
	sorted := stats.Sample{Xs: sums, Sorted: true}
	iqr := sorted.Quantile(0.75) - sorted.Quantile(0.25)
	spread := sd
	if iqr > 0 {
		spread = math.Min(sd, iqr/1.349)
	}
	h := 0.9 * spread * math.Pow(float64(n), -0.2)
	if h == 0 {
		return math.Inf(1)
	}
	var sum float64
	for _, x := range sums {
		sum += math.Exp(-0.5 * (x / h) * (x / h))
	}
	return sum / (float64(len(sums)) * h * math.Sqrt(2*math.Pi))
}

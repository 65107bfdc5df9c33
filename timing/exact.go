package timing

import "math"

// FisherExact is the two-sided p-value of Fisher's exact test on the 2×2
// table [[a, b], [c, d]]: the probability, given the margins, of a table
// no more likely than this one. The scanner's HTTP/2 order test uses it
// on which request was sent first × whether the answers kept that order.
func FisherExact(a, b, c, d int) float64 {
	row, col, n := a+b, a+c, a+b+c+d
	lo, hi := max(0, row+col-n), min(row, col)
	logP := func(x int) float64 {
		return logChoose(col, x) + logChoose(n-col, row-x) - logChoose(n, row)
	}
	observed := logP(a)
	p := 0.0
	for x := lo; x <= hi; x++ {
		// The relative tolerance counts tables as likely as the observed
		// one despite rounding.
		if lp := logP(x); lp <= observed+1e-7 {
			p += math.Exp(lp)
		}
	}
	return min(p, 1)
}

func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// NormalQuantile is the standard normal distribution's p-quantile, for
// sizing samples by the normal approximation.
func NormalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

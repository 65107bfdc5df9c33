package timing

import (
	"math"
	"testing"
)

func TestFisherExact(t *testing.T) {
	for _, tc := range []struct {
		a, b, c, d int
		want       float64
	}{
		{3, 1, 1, 3, 0.4857},       // Fisher's lady tasting tea
		{1, 9, 11, 3, 0.002759},    // R: fisher.test(matrix(c(1, 11, 9, 3), 2))
		{10, 0, 0, 10, 1.0825e-05}, // 2 / C(20, 10)
		{5, 5, 5, 5, 1},
		{0, 0, 0, 0, 1},
	} {
		if got := FisherExact(tc.a, tc.b, tc.c, tc.d); math.Abs(got-tc.want) > 1e-3*tc.want {
			t.Errorf("FisherExact(%d, %d, %d, %d) = %.5g, want %.5g", tc.a, tc.b, tc.c, tc.d, got, tc.want)
		}
	}
}

func TestNormalQuantile(t *testing.T) {
	for _, tc := range []struct{ p, want float64 }{
		{0.5, 0}, {0.975, 1.959964}, {0.95, 1.644854}, {0.005, -2.575829},
	} {
		if got := NormalQuantile(tc.p); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("NormalQuantile(%g) = %.7f, want %.7f", tc.p, got, tc.want)
		}
	}
}

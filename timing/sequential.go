package timing

// Sequential is a group-sequential plan for the signed-rank test of
// paired differences: the test looks at the data as it accumulates and
// stops as soon as it can decide, instead of waiting for a sample sized
// for the smallest difference it must find. A 10 ms difference is then
// decided after a few dozen pairs, where a sample sized for 50 µs takes
// thousands.
//
// The looks are at First, 2·First, 4·First, … pairs (the interim looks),
// and at the final sample size, whatever it turns out to be. Half of the
// level Alpha is spent on the interim looks, equally, and half is kept
// for the final look. By the union bound the chance that any look rejects
// a true null hypothesis is at most Alpha, whatever the stopping rule and
// however the final size is chosen, provided the number of interim looks
// used to share the level is fixed in advance: it is counted from Max,
// the most pairs the test may ever see, and a test that stops earlier
// only spends less. This is more conservative than the exact boundaries
// of Pocock or O'Brien–Fleming, which need the joint distribution of the
// statistics at the looks (a recursive numerical integration, and an
// approximation for a rank statistic); the price is a somewhat lower
// level per look, which the planned final size makes up for.
type Sequential struct {
	// Alpha is the two-sided level of the whole sequence of tests.
	Alpha float64
	// First is the number of pairs at the first interim look; below
	// MinPairs, MinPairs.
	First int
	// Max is the most pairs the test may see.
	Max int
}

func (p Sequential) first() int {
	return max(p.First, MinPairs)
}

// Interim returns the pair counts of the interim looks: First, 2·First,
// … strictly below Max.
func (p Sequential) Interim() []int {
	var out []int
	for n := p.first(); n < p.Max; n *= 2 {
		out = append(out, n)
	}
	return out
}

// InterimLevel is the level of each interim look: half of Alpha shared
// among the interim looks. It is 0 when there is no interim look.
func (p Sequential) InterimLevel() float64 {
	k := len(p.Interim())
	if k == 0 {
		return 0
	}
	return p.Alpha / 2 / float64(k)
}

// FinalLevel is the level of the final look: what the interim looks leave
// of Alpha.
func (p Sequential) FinalLevel() float64 {
	if len(p.Interim()) == 0 {
		return p.Alpha
	}
	return p.Alpha / 2
}

// IsInterim reports whether a look is due after n pairs, and its number
// (1-based).
func (p Sequential) IsInterim(n int) (int, bool) {
	for i, look := range p.Interim() {
		if look == n {
			return i + 1, true
		}
	}
	return 0, false
}

package scan

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTimingLevelIsShared(t *testing.T) {
	tg := &Target{Endpoints: []*Endpoint{{Kind: KindLogin}, {Kind: KindReset}, {Kind: KindRegister}}}
	if got := (&TimingCheck{}).level(tg); got != 0.01/3 {
		t.Errorf("three endpoints: level %v, want 0.01/3", got)
	}
	if got := (&TimingCheck{Alpha: 0.05, Kinds: []Kind{KindLogin}}).level(tg); got != 0.05 {
		t.Errorf("one endpoint of three tested: level %v, want 0.05", got)
	}
}

func TestTimingLongPassword(t *testing.T) {
	s := &Scanner{Rand: rand.New(rand.NewPCG(1, 1))}
	short := s.Input("a@b.example").Password
	long := (&TimingCheck{PasswordLength: 4096}).input(s)("a@b.example").Password
	if len(long) != 4096 || !strings.HasPrefix(long, short) || strings.Count(long, short) != 4096/len(short) {
		t.Errorf("password of %d bytes from %q", len(long), short)
	}
	if p := (&TimingCheck{}).input(s)("a@b.example").Password; p != short {
		t.Errorf("default password %q, want the scan's %q", p, short)
	}
}

// syntheticBatch is a timing batch whose durations come from lat(id,
// round), without a server.
func syntheticBatch(ids Identities, rounds int, lat func(id string, round int) time.Duration) *batch {
	b := &batch{ids: ids, rounds: rounds, resp: map[string][]*Response{}}
	for r := range rounds {
		for _, id := range ids.all() {
			b.resp[id] = append(b.resp[id], &Response{Input: Input{Identifier: id}, Status: 401, Duration: lat(id, r)})
		}
	}
	return b
}

// TestTimingControlVetoes: when the two unknown identifiers of the
// control differ, a difference between known and unknown is not
// reported, and the note says why.
func TestTimingControlVetoes(t *testing.T) {
	ids := Identities{Known: []string{"k"}, Partner: []string{"p"}, Control: [2]string{"c1", "c2"}}
	r := rand.New(rand.NewPCG(2, 2))
	noise := func() time.Duration { return time.Duration(r.NormFloat64() * float64(20*time.Microsecond)) }
	ep := &Endpoint{Name: "login", Kind: KindLogin, RequestTemplate: RequestTemplate{Method: "POST", Path: "/login"}}
	for _, tc := range []struct {
		name          string
		known, ctlA   time.Duration
		findings      int
		noteSubstring string
	}{
		{"leak", 200 * time.Microsecond, 0, 1, ""},
		{"control differs", 200 * time.Microsecond, 200 * time.Microsecond, 0, "timing: two unknown identifiers differed by 2"},
		{"below the minimum effect", 20 * time.Microsecond, 0, 0, ""},
	} {
		b := syntheticBatch(ids, 200, func(id string, _ int) time.Duration {
			d := time.Millisecond + noise()
			switch id {
			case "k":
				d += tc.known
			case "c1":
				d += tc.ctlA
			}
			return d
		})
		res := &EndpointResult{}
		c := &TimingCheck{}
		fs := c.conclude(ep, b, c.look(b, 0.01), timingPairs(b).diffs()[:50], 0.01, StoppedPlanned, 0, res)
		if len(fs) != tc.findings || res.Timing == nil {
			t.Errorf("%s: %d findings, timing %v", tc.name, len(fs), res.Timing)
		}
		// No timing verdict makes the endpoint inconclusive.
		hasNote := slices.ContainsFunc(res.Inconclusive, func(n string) bool { return tc.noteSubstring != "" && strings.Contains(n, tc.noteSubstring) })
		if hasNote != (tc.noteSubstring != "") {
			t.Errorf("%s: inconclusive %q", tc.name, res.Inconclusive)
		}
		if tc.findings == 1 && fs[0].Rule != RuleTiming {
			t.Errorf("%s: rule %s", tc.name, fs[0].Rule)
		}
	}
}

package scan

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tacitauth/tacit/timing"
)

// Defaults of a TimingCheck's zero fields.
const (
	DefaultTimingResolution  = 50 * time.Microsecond
	DefaultTimingMaxRequests = 10000
	DefaultTimingPilot       = 50
	DefaultTimingAlpha       = 0.01
)

const (
	// timingPower is the probability with which the sample is sized to
	// detect a difference of the resolution.
	timingPower = 0.95
	// timingConfidence is the level of the reported interval.
	timingConfidence = 0.95
	// sizeMargin enlarges the planned sample: the pilot's estimate of
	// the noise is itself uncertain, and too small a sample loses power
	// where too large a one only costs requests.
	sizeMargin = 1.25
)

// TimingCheck measures whether a known identifier is answered faster or
// slower than an unknown one (USER_ENUM_TIMING).
//
// Every round sends each identifier of the scan (known, partner, the two
// controls) once, in a fresh random order, one request at a time. The
// difference known minus partner of each round is one pair: with the
// order random, a target whose latency does not depend on the identifier
// gives differences that are symmetric about zero whatever its drift or
// load, which is what the Wilcoxon signed-rank test tests. The test is
// group-sequential (timing.Sequential): it looks at the pairs after 20,
// 40, 80, … of them and stops at the first look that decides, so a
// difference of milliseconds is found within the pilot. The first Pilot
// rounds also measure the noise; the final sample is then sized, by
// Noether's formula, to detect a difference of Resolution with 95% power
// at the final look's level, within MaxRequests and Budget. The effect is
// the Hodges–Lehmann estimate with its 95% interval.
//
// A finding needs all of: p below the look's level, the looks sharing
// Alpha divided by the number of endpoints the check tests (Bonferroni,
// so Alpha bounds the false alarms of the whole scan); an effect of at
// least MinEffect, so that a huge sample does not report a difference no
// attacker could use; and the control pair (two unknown identifiers,
// compared the same way) neither significant at the same level nor
// showing half the difference, since a control that differs means latency
// depends on something besides the account and the measurement cannot be
// trusted. Only pairs answered with the same status count: a pair with
// different statuses is the channel comparison's or a lockout's finding,
// not a timing one.
//
// When Budget or MaxRequests stops the measurement before the planned
// size, the final look tests what was measured: the endpoint is a leak,
// or clean at the (coarser) resolution reached, which the report states.
// When every identifier met a lock or throttle during the channel
// comparison, the check sends nothing: it judges the comparison's rounds
// before the lock in one look at the endpoint's level (beforeLock), a
// leak if that look decides and inconclusive otherwise.
//
// With too few pairs for a test (MinPairs), or when the scan's context is
// cancelled (SIGINT) before a look found a leak, the endpoint is
// inconclusive; what was measured is kept in the report either way.
//
// The check sends many requests: on a sign-in endpoint, that many failed
// sign-ins for the known accounts (which the target may lock); on reset or
// resend endpoints, that many mails. Use test accounts.
type TimingCheck struct {
	// Resolution is the smallest difference the sample is sized to
	// detect with 95% power; default DefaultTimingResolution.
	Resolution time.Duration
	// MinEffect is the smallest difference reported, however
	// significant; default half of Resolution.
	MinEffect time.Duration
	// MaxRequests caps the probes sent to one endpoint, pilot and
	// control included; default DefaultTimingMaxRequests.
	MaxRequests int
	// Pilot is how many rounds measure the noise before the sample is
	// sized; default DefaultTimingPilot. They count in the sample: the
	// size depends on the pilot's spread only, not on its difference,
	// which keeps the test's level.
	Pilot int
	// Alpha is the false-alarm rate of the scan's timing verdicts;
	// default DefaultTimingAlpha.
	Alpha float64
	// Kinds limits the check to endpoints of these kinds; empty means
	// every endpoint.
	Kinds []Kind
	// Budget, if positive, caps the time the check spends on the whole
	// scan. Each endpoint gets the time left divided by the endpoints
	// left to measure, so time an endpoint decided early does not use
	// goes to the next ones. An endpoint whose share runs out gets the
	// final look on what it measured: clean at the resolution reached,
	// or inconclusive with too few pairs to test.
	Budget time.Duration
	// PasswordLength, if positive, sends a password of that many bytes
	// instead of the scan's 20-byte one. A target that hashes the
	// password only for known accounts, with a hash whose work grows with
	// the password's length (PBKDF2 or crypt implementations that rehash
	// the password every round), then shows a larger difference. Keep it
	// below the target's maximum password length (4096 is often
	// accepted), or every request is rejected before any hashing.
	PasswordLength int

	// scan is the check's account of the scan under way, for Budget and
	// the progress total.
	scan timingScan
}

func (c *TimingCheck) resolution() time.Duration {
	if c.Resolution > 0 {
		return c.Resolution
	}
	return DefaultTimingResolution
}

func (c *TimingCheck) minEffect() time.Duration {
	if c.MinEffect > 0 {
		return c.MinEffect
	}
	return c.resolution() / 2
}

func (c *TimingCheck) maxRequests() int {
	if c.MaxRequests > 0 {
		return c.MaxRequests
	}
	return DefaultTimingMaxRequests
}

func (c *TimingCheck) pilot() int {
	if c.Pilot > 0 {
		return c.Pilot
	}
	return DefaultTimingPilot
}

func (c *TimingCheck) alpha() float64 {
	if c.Alpha > 0 && c.Alpha < 1 {
		return c.Alpha
	}
	return DefaultTimingAlpha
}

func (c *TimingCheck) applies(ep *Endpoint) bool {
	return hasKind(c.Kinds, ep)
}

// level is the significance level of one endpoint's tests: Alpha shared
// among the endpoints the check tests.
func (c *TimingCheck) level(t *Target) float64 {
	return checkLevel(t, c.alpha(), c.Kinds)
}

// maxRounds is how many rounds the request budget allows on ep.
func (c *TimingCheck) maxRounds(ids Identities) int {
	return c.maxRequests() / len(ids.all())
}

// Planned is the most probes Run sends to ep; the scan's total is
// corrected once the pilot has sized the sample.
func (c *TimingCheck) Planned(_ *Target, ep *Endpoint, ids Identities) int {
	if !c.applies(ep) {
		return 0
	}
	return c.maxRounds(ids) * len(ids.all())
}

// Run measures ep and returns the timing finding, if any. It records the
// samples and the estimate in the endpoint's result. The design is
// sequential (see runSequential): it stops as soon as it can decide.
func (c *TimingCheck) Run(ctx context.Context, s *Scanner, t *Target, ep *Endpoint, ids Identities, e *EndpointScan) ([]Finding, error) {
	if !c.applies(ep) {
		return nil, nil
	}
	res := e.Result
	maxRounds := c.maxRounds(ids)
	c.begin(s, t, ep, ids)
	if why := timingBlocked(e); why != "" {
		c.recount(s, c.laterPlanned(t, ep, ids))
		return c.beforeLock(t, ep, e.lock.pre, why, res), nil
	}
	pilotRounds := min(c.pilot(), maxRounds)
	if pilotRounds*len(ids.Known) < timing.MinPairs {
		c.recount(s, c.laterPlanned(t, ep, ids))
		res.Inconclusive = appendNew(res.Inconclusive, fmt.Sprintf("timing: a budget of %d requests is too small to measure", c.maxRequests()))
		return nil, nil
	}
	return c.runSequential(ctx, s, t, ep, ids, e)
}

// beforeLock judges ep's timing on the rounds of the channel comparison
// before a lock that every identifier met (pre): the only requests the
// target answered with its account logic. In those rounds every
// identifier had been sent as often as every other, so each known
// identifier is compared with its own partner at the same history, and
// several known identifiers each add the pairs before their own lock.
// The control is every unknown identifier against the next (partners
// and the control pair): one control pair per round more than there are
// known identifiers, where the control pair alone gives one a round.
// One look at the endpoint's whole level: a leak if it decides;
// otherwise inconclusive, since so few pairs cannot vouch for the
// endpoint.
func (c *TimingCheck) beforeLock(t *Target, ep *Endpoint, pre *batch, why string, res *EndpointResult) []Finding {
	if pre == nil || pre.rounds == 0 {
		res.Inconclusive = appendNew(res.Inconclusive, "timing: "+why)
		return nil
	}
	b := pre.head(pre.rounds)
	b.pathControl = true
	b.classes = &answerClasses{why: why, outside: map[string][]bool{}}
	for _, id := range b.ids.all() {
		b.classes.outside[id] = make([]bool, b.rounds)
	}
	level := c.level(t)
	l := c.look(b, level)
	return c.conclude(ep, b, l, timingPairs(b).diffs(), level, StoppedChanged, 1, res)
}

// input is the probes' input: the scan's, with the long password if
// asked for.
func (c *TimingCheck) input(s *Scanner) func(string) Input {
	return func(id string) Input {
		in := s.Input(id)
		if c.PasswordLength > len(in.Password) {
			in.Password = strings.Repeat(in.Password, c.PasswordLength/len(in.Password)+1)[:c.PasswordLength]
		}
		return in
	}
}

// rounds sizes the sample from the pilot's differences: enough pairs to
// detect Resolution with 95% power at level alpha, with a margin, at least
// the pilot and at most the budget.
func (c *TimingCheck) rounds(pilot []time.Duration, alpha float64, pairsPerRound, pilotRounds, maxRounds int) int {
	pairs := float64(timing.PairsFor(pilot, c.resolution(), alpha, timingPower)) * sizeMargin
	n := int(math.Ceil(pairs / float64(pairsPerRound)))
	return min(max(n, pilotRounds), maxRounds)
}

// append adds the rounds of more, a batch of the same identities, to b.
func (b *batch) append(more *batch) {
	for id, rs := range more.resp {
		b.resp[id] = append(b.resp[id], rs...)
	}
	for _, ref := range more.order {
		b.order = append(b.order, probeRef{id: ref.id, round: ref.round + b.rounds})
	}
	b.rounds += more.rounds
}

// pairSamples are the paired answers of a timing batch: known and
// partner, or the two controls.
type pairSamples struct {
	a, b []*Response
	// dropped counts pairs answered with different statuses.
	dropped int
	// changed counts pairs left out because an answer left the class
	// the measurement started in (answerClasses).
	changed int
}

func (p *pairSamples) add(x, y *Response) {
	if x.Status != y.Status {
		p.dropped++
		return
	}
	p.a, p.b = append(p.a, x), append(p.b, y)
}

func (p *pairSamples) diffs() []time.Duration {
	d := make([]time.Duration, len(p.a))
	for i := range p.a {
		d[i] = p.a[i].Duration - p.b[i].Duration
	}
	return d
}

func durations(rs []*Response) []time.Duration {
	out := make([]time.Duration, len(rs))
	for i, r := range rs {
		out[i] = r.Duration
	}
	return out
}

// timingPairs pairs each known identifier with its partner, round by
// round.
func timingPairs(b *batch) *pairSamples {
	p := &pairSamples{}
	for r := range b.rounds {
		for i, k := range b.ids.Known {
			if !b.classes.comparable(k, b.ids.Partner[i], r) {
				p.changed++
				continue
			}
			p.add(b.resp[k][r], b.resp[b.ids.Partner[i]][r])
		}
	}
	return p
}

func controlPairs(b *batch) *pairSamples {
	p := &pairSamples{}
	if b.pathControl {
		unknown := b.ids.unknown()
		for r := range b.rounds {
			for i := 0; i+1 < len(unknown); i++ {
				if !b.classes.comparable(unknown[i], unknown[i+1], r) {
					p.changed++
					continue
				}
				p.add(b.resp[unknown[i]][r], b.resp[unknown[i+1]][r])
			}
		}
		return p
	}
	for r := range b.rounds {
		if !b.classes.comparable(b.ids.Control[0], b.ids.Control[1], r) {
			p.changed++
			continue
		}
		p.add(b.resp[b.ids.Control[0]][r], b.resp[b.ids.Control[1]][r])
	}
	return p
}

func (c *TimingCheck) finding(ep *Endpoint, kp *pairSamples, known, control timing.PairedComparison, alpha float64) Finding {
	dir, agree := "slower", known.Positive
	if known.Effect < 0 {
		dir, agree = "faster", known.N-known.Positive-known.Zeros
	}
	ev := Evidence{
		Channel:   "response time",
		Known:     SampleOf(kp.a[0], "median "+micros(timing.Median(durations(kp.a)))),
		Unknown:   SampleOf(kp.b[0], "median "+micros(timing.Median(durations(kp.b)))),
		Pairs:     known.N,
		Differing: agree,
	}
	msg := fmt.Sprintf("On the %s endpoint %s (%s %s), a known identifier is answered %s %s than an unknown one (%.0f%% interval %s to %s): "+
		"%d interleaved pairs, %d of them %s, Wilcoxon signed-rank p = %.2g (level %.2g); two unknown identifiers measured alike differed by %s (p = %.2g).",
		ep.Kind.Describe(), ep.Name, ep.Method, ep.Path, micros(known.Effect.Abs()), dir, 100*timingConfidence, micros(known.Low), micros(known.High),
		known.N, agree, dir, known.P, alpha, micros(control.Effect), control.P)
	return NewFinding(RuleTiming, ep, msg, ev)
}

// micros writes d in microseconds, which is the scale of timing leaks.
func micros(d time.Duration) string {
	us := float64(d) / float64(time.Microsecond)
	if math.Abs(us) < 10 {
		return fmt.Sprintf("%.1fµs", us)
	}
	return fmt.Sprintf("%.0fµs", us)
}

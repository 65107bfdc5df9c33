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
// load, which is what the Wilcoxon signed-rank test tests. The first
// Pilot rounds measure the noise; the sample is then sized, by Noether's
// formula, to detect a difference of Resolution with 95% power, within
// MaxRequests. The effect is the Hodges–Lehmann estimate with its 95%
// interval.
//
// A finding needs all of: p below Alpha divided by the number of endpoints
// the check tests (Bonferroni, so Alpha bounds the false alarms of the
// whole scan); an effect of at least MinEffect, so that a huge sample does
// not report a difference no attacker could use; and the control pair (two
// unknown identifiers, compared the same way) not significant at the same
// level, since a control that differs means latency depends on something
// besides the account and the measurement cannot be trusted. Only pairs
// answered with the same status count: a pair with different statuses is
// the channel comparison's or a lockout's finding, not a timing one.
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
	// PasswordLength, if positive, sends a password of that many bytes
	// instead of the scan's 20-byte one. A target that hashes the
	// password only for known accounts, with a hash whose work grows with
	// the password's length (PBKDF2 or crypt implementations that rehash
	// the password every round), then shows a larger difference. Keep it
	// below the target's maximum password length (4096 is often
	// accepted), or every request is rejected before any hashing.
	PasswordLength int
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
// samples and the estimate in the endpoint's result.
func (c *TimingCheck) Run(ctx context.Context, s *Scanner, t *Target, ep *Endpoint, ids Identities) ([]Finding, error) {
	if !c.applies(ep) {
		return nil, nil
	}
	res := s.result()
	per, maxRounds := len(ids.all()), c.maxRounds(ids)
	if why := s.timingBlocked(); why != "" {
		s.replan(-maxRounds * per)
		s.inconclusive("%s", why)
		return nil, nil
	}
	pilotRounds := min(c.pilot(), maxRounds)
	if pilotRounds*len(ids.Known) < timing.MinPairs {
		s.replan(-maxRounds * per)
		res.Inconclusive = appendNew(res.Inconclusive, fmt.Sprintf("timing: a budget of %d requests is too small to measure", c.maxRequests()))
		return nil, nil
	}
	input := c.input(s)
	b, err := s.runBatch(ctx, t, ep, ids, pilotRounds, input)
	if err != nil {
		return nil, fmt.Errorf("timing pilot: %w", err)
	}
	alpha := c.level(t)
	pilot := timingPairs(b).diffs()
	rounds := c.rounds(pilot, alpha, len(ids.Known), pilotRounds, maxRounds)
	s.replan((rounds - maxRounds) * per)
	if rounds > pilotRounds {
		more, err := s.runBatch(ctx, t, ep, ids, rounds-pilotRounds, input)
		if err != nil {
			return nil, fmt.Errorf("timing: %w", err)
		}
		b.append(more)
	}
	if s.cur != nil {
		s.cur.rounds += rounds
	}
	return c.verdict(ep, b, pilot, alpha, res)
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
			p.add(b.resp[k][r], b.resp[b.ids.Partner[i]][r])
		}
	}
	return p
}

func controlPairs(b *batch) *pairSamples {
	p := &pairSamples{}
	for r := range b.rounds {
		p.add(b.resp[b.ids.Control[0]][r], b.resp[b.ids.Control[1]][r])
	}
	return p
}

// verdict tests the batch and fills res.Timing.
func (c *TimingCheck) verdict(ep *Endpoint, b *batch, pilot []time.Duration, alpha float64, res *EndpointResult) ([]Finding, error) {
	kp, cp := timingPairs(b), controlPairs(b)
	if kp.dropped > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("timing: %d of %d pairs left out, answered with different statuses", kp.dropped, kp.dropped+len(kp.a)))
	}
	known, err := timing.ComparePaired(kp.diffs(), timingConfidence)
	if err != nil {
		res.Inconclusive = appendNew(res.Inconclusive, "timing: too few comparable pairs: "+err.Error())
		return nil, nil
	}
	control, err := timing.ComparePaired(cp.diffs(), timingConfidence)
	if err != nil {
		res.Inconclusive = appendNew(res.Inconclusive, "timing: too few comparable control pairs: "+err.Error())
		return nil, nil
	}
	reached := timing.Resolution(pilot, int(float64(known.N)/sizeMargin), alpha, timingPower)
	res.Timing = &TimingResult{
		Known: durations(kp.a), Unknown: durations(kp.b), ControlA: durations(cp.a), ControlB: durations(cp.b),
		Effect: known.Effect, EffectLow: known.Low, EffectHigh: known.High, P: known.P,
		Resolution: max(reached, c.resolution()),
	}
	if reached > c.resolution() {
		res.Notes = append(res.Notes, fmt.Sprintf("timing: the budget of %d requests resolves %s, not the %s asked for",
			c.maxRequests(), micros(reached), micros(c.resolution())))
	}
	if control.P < alpha {
		res.Inconclusive = appendNew(res.Inconclusive, fmt.Sprintf("timing: two unknown identifiers differed by %s (p = %.2g): latency depends on something besides the account, so there is no timing verdict",
			micros(control.Effect), control.P))
		return nil, nil
	}
	if known.P >= alpha || known.Effect.Abs() < c.minEffect() {
		return nil, nil
	}
	return []Finding{c.finding(ep, kp, known, control, alpha)}, nil
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

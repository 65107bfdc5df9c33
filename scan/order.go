package scan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"

	"github.com/tacitauth/tacit/scan/internal/h2race"
	"github.com/tacitauth/tacit/timing"
)

// Defaults of an OrderCheck's zero fields.
const (
	DefaultOrderResolution  = 0.01
	DefaultOrderMaxRequests = 10000
	DefaultOrderPilot       = 50
)

// minOrderPairs is the fewest pairs of each kind (known, control) the
// order test sizes its sample from or decides on.
const minOrderPairs = 20

// OrderCheck tells whether a known identifier is answered after or before
// an unknown one by the order of the answers, not their times: the "timeless
// timing attack" (Van Goethem et al., USENIX Security 2020). A
// USER_ENUM_TIMING finding of this check says so in its evidence (channel
// "response order").
//
// Each pair opens one HTTP/2 connection (TLS with ALPN h2 for https
// targets, clear-text HTTP/2 with prior knowledge for http ones) and sends
// two requests, a known identifier's and its partner's, whose final bytes
// leave in one write, so that they reach the server in one packet: the
// network's jitter, which swamps microseconds in response times, cannot
// reorder them. Which answer's headers come first then depends only on how
// long the server worked on each. The send order alternates from one pair
// to the next. Before steps (CSRF pages, flow ids) run for each request
// first, over the scanner's client, and their cookies and variables go
// into the HTTP/2 request. Rounds are built as TimingCheck's: every
// identifier once per round, the control pair (two unknown identifiers)
// sent the same way.
//
// The test: a server answers the request sent first first in some share
// of pairs, whatever the identifiers; if the identifier makes no
// difference, that share is the same whichever of the two went first.
// Fisher's exact test on the 2×2 table (which was sent first × whether
// the order was kept) tests exactly that, without assuming anything about
// the server's bias towards the first request. The effect is the share of
// pairs, the two send orders weighted alike, in which the known identifier
// was answered last, minus one half. A finding needs p below the level, an
// effect of at least MinEffect, and the control pair not significant at
// the same level; pairs answered with different statuses are left out.
//
// The test looks twice. The first Pilot rounds are tested at once: a plain
// leak is reported from them. Otherwise they measure how often the order
// is kept, and the sample is sized to detect an effect of Resolution with
// 95% power, within MaxRequests, and tested in full. Each look is at half
// of Alpha divided by the endpoints the check tests, so that Alpha bounds
// the false alarms of the scan's order verdicts, as TimingCheck's.
//
// The server must work on both requests at once: one that answers a
// connection's requests one after the other answers them in the order
// sent whatever their work, and the test finds nothing. On loopback, where
// there is no network jitter to remove, TimingCheck resolves far smaller
// differences (docs/BENCHMARKS.md, "HTTP/2 order test").
//
// Targets without HTTP/2 get a note and no verdict. The connections go
// straight to the target: a proxy configured in the scanner's client is
// not used. An endpoint that TimingCheck, running first, already reported
// is not tested again.
type OrderCheck struct {
	// Resolution is the smallest effect (share of pairs with the known
	// identifier answered last, minus one half) the sample is sized to
	// detect with 95% power; default DefaultOrderResolution, a known
	// identifier answered last in 51% of pairs. On a server that nearly
	// always answers the request sent first first, a difference of tens
	// of microseconds shifts the share by little more than that, so the
	// default sample is most often the whole budget.
	Resolution float64
	// MinEffect is the smallest effect reported, however significant;
	// default half of Resolution.
	MinEffect float64
	// MaxRequests caps the requests sent to one endpoint, pilot and
	// control included; default DefaultOrderMaxRequests.
	MaxRequests int
	// Pilot is how many rounds measure how often the order is kept
	// before the sample is sized; default DefaultOrderPilot. They count
	// in the sample: the size depends only on the kept share, a margin of
	// the table the test conditions on.
	Pilot int
	// Alpha is the false-alarm rate of the scan's order verdicts;
	// default DefaultTimingAlpha.
	Alpha float64
	// Kinds limits the check to endpoints of these kinds; empty means
	// every endpoint.
	Kinds []Kind
}

func (c *OrderCheck) resolution() float64 {
	if c.Resolution > 0 && c.Resolution < 0.5 {
		return c.Resolution
	}
	return DefaultOrderResolution
}

func (c *OrderCheck) minEffect() float64 { return orDefault(c.MinEffect, c.resolution()/2) }
func (c *OrderCheck) maxRequests() int   { return orDefault(c.MaxRequests, DefaultOrderMaxRequests) }
func (c *OrderCheck) pilot() int         { return orDefault(c.Pilot, DefaultOrderPilot) }

func (c *OrderCheck) alpha() float64 {
	if c.Alpha >= 1 {
		return DefaultTimingAlpha
	}
	return orDefault(c.Alpha, DefaultTimingAlpha)
}

// orDefault is v, or def if v is not positive: a zero field's default.
func orDefault[T int | float64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// maxRounds is how many rounds the request budget allows on ep.
func (c *OrderCheck) maxRounds(ids Identities) int {
	return c.maxRequests() / len(ids.all())
}

// Planned is the most requests Run sends to ep; the scan's total is
// corrected once the pilot has sized the sample.
func (c *OrderCheck) Planned(_ *Target, ep *Endpoint, ids Identities) int {
	if !hasKind(c.Kinds, ep) {
		return 0
	}
	return c.maxRounds(ids) * len(ids.all())
}

// Run tests ep and returns the finding, if any; what it measured goes to
// the endpoint's notes.
func (c *OrderCheck) Run(ctx context.Context, s *Scanner, t *Target, ep *Endpoint, ids Identities, e *EndpointScan) ([]Finding, error) {
	if !hasKind(c.Kinds, ep) {
		return nil, nil
	}
	res := e.Result
	per, maxRounds := len(ids.all()), c.maxRounds(ids)
	pilotRounds := min(c.pilot(), maxRounds)
	skip := func(note string) ([]Finding, error) {
		s.Replan(-maxRounds * per)
		res.Notes = append(res.Notes, note)
		return nil, nil
	}
	if slices.ContainsFunc(e.Findings, func(f Finding) bool { return f.Rule == RuleTiming }) {
		return skip("order test skipped: the timing check already reported this endpoint")
	}
	if pilotRounds*len(ids.Known) < minOrderPairs {
		return skip(fmt.Sprintf("order test: a budget of %d requests is too small to measure", c.maxRequests()))
	}
	d := s.h2Dialer(t.BaseURL)
	if err := d.Check(ctx); errors.Is(err, h2race.ErrNoHTTP2) {
		return skip("order test skipped: target does not speak HTTP/2")
	} else if err != nil {
		return nil, fmt.Errorf("order test: %w", err)
	}
	r := newOrderRun(s, d, t, ep, ids)
	if err := r.send(ctx, 0, pilotRounds); err != nil {
		return nil, err
	}
	// Two looks, after the pilot and at the end, each at half the level:
	// together they keep the false alarms below it (Bonferroni), and a
	// plain leak costs only the pilot.
	alpha := checkLevel(t, c.alpha(), c.Kinds) / 2
	rounds := pilotRounds
	if !c.conclusive(r.known, r.control, alpha) {
		rounds = c.rounds(r.known.keptShare(r.control), alpha, len(ids.Known), pilotRounds, maxRounds)
	}
	s.Replan((rounds - maxRounds) * per)
	if err := r.send(ctx, pilotRounds, rounds); err != nil {
		return nil, err
	}
	e.Requests += rounds
	return c.verdict(ep, r.known, r.control, alpha, res), nil
}

// conclusive reports whether the tables show a preference of the known
// identifier at level alpha, and none of the control pair.
func (c *OrderCheck) conclusive(known, control *orderTable, alpha float64) bool {
	return known.pairs() >= minOrderPairs && control.pairs() >= minOrderPairs &&
		known.p() < alpha && math.Abs(known.effect()) >= c.minEffect() && control.p() >= alpha
}

// orderRun is one endpoint's order test under way.
type orderRun struct {
	s  *Scanner
	d  *h2race.Dialer
	t  *Target
	ep *Endpoint
	// pairs are the identifiers compared, a with b: each known one with
	// its partner, counted in known, and the control pair, in control.
	pairs          []orderSides
	known, control *orderTable
}

type orderSides struct {
	a, b string
	tab  *orderTable
}

func newOrderRun(s *Scanner, d *h2race.Dialer, t *Target, ep *Endpoint, ids Identities) *orderRun {
	r := &orderRun{s: s, d: d, t: t, ep: ep, known: &orderTable{}, control: &orderTable{}}
	for i, k := range ids.Known {
		r.pairs = append(r.pairs, orderSides{k, ids.Partner[i], r.known})
	}
	r.pairs = append(r.pairs, orderSides{ids.Control[0], ids.Control[1], r.control})
	return r
}

// send sends rounds from to to: in each, every pair once, in a fresh
// random order, a or b first alternately from round to round.
func (r *orderRun) send(ctx context.Context, from, to int) error {
	for round := from; round < to; round++ {
		r.s.rand().Shuffle(len(r.pairs), func(i, j int) { r.pairs[i], r.pairs[j] = r.pairs[j], r.pairs[i] })
		for _, p := range r.pairs {
			aFirst := round%2 == 0
			first, second := p.a, p.b
			if !aFirst {
				first, second = second, first
			}
			ans, err := r.s.orderPair(ctx, r.d, r.t, r.ep, r.s.Input(first), r.s.Input(second))
			if err != nil {
				return fmt.Errorf("order test: %w", err)
			}
			if !aFirst {
				ans.swap()
			}
			p.tab.add(aFirst, ans)
		}
	}
	return nil
}

// rounds sizes the sample from the share of pilot pairs whose order was
// kept: enough pairs to detect an effect of Resolution with 95% power at
// level alpha (the normal approximation of the two-proportion test, with
// a margin), at least the pilot and at most the budget.
func (c *OrderCheck) rounds(kept float64, alpha float64, pairsPerRound, pilotRounds, maxRounds int) int {
	z := timing.NormalQuantile(1-alpha/2) + timing.NormalQuantile(timingPower)
	pairs := z * z * kept * (1 - kept) / (c.resolution() * c.resolution()) * sizeMargin
	n := int(math.Ceil(pairs / float64(pairsPerRound)))
	return min(max(n, pilotRounds), maxRounds)
}

// orderTable counts the pairs of two sides, a (the known identifier, or
// the first control) and b: by which was sent first (row 0: a) and
// whether the answers came in the order sent.
type orderTable struct {
	kept, flipped [2]int
	// dropped counts pairs answered with different statuses.
	dropped int
	// sample is the first counted pair's requests, a's and b's, for
	// evidence.
	sample *orderAnswer
}

func (o *orderTable) add(aFirst bool, a *orderAnswer) {
	if a.status[0] != a.status[1] {
		o.dropped++
		return
	}
	if o.sample == nil {
		o.sample = a
	}
	row := 1
	if aFirst {
		row = 0
	}
	if a.kept {
		o.kept[row]++
	} else {
		o.flipped[row]++
	}
}

func (o *orderTable) pairs() int {
	return o.kept[0] + o.kept[1] + o.flipped[0] + o.flipped[1]
}

// aLast counts the pairs in which a was answered last.
func (o *orderTable) aLast() int {
	return o.flipped[0] + o.kept[1]
}

// effect is the share of pairs in which a was answered last, each send
// order weighing half, minus one half: positive when a takes longer.
func (o *orderTable) effect() float64 {
	r0, r1 := o.kept[0]+o.flipped[0], o.kept[1]+o.flipped[1]
	if r0 == 0 || r1 == 0 {
		return 0
	}
	return (float64(o.flipped[0])/float64(r0) + float64(o.kept[1])/float64(r1) - 1) / 2
}

// keptShare is the share of o's and more's pairs whose order was kept,
// kept off 0 and 1 by half a pair, since a pilot that never (or always)
// saw the order change does not prove it never does.
func (o *orderTable) keptShare(more *orderTable) float64 {
	n := float64(o.pairs() + more.pairs())
	k := float64(o.kept[0] + o.kept[1] + more.kept[0] + more.kept[1])
	return min(max(k/n, 0.5/n), 1-0.5/n)
}

// p is the two-sided p-value of Fisher's exact test of independence of
// the send order and whether the order was kept.
func (o *orderTable) p() float64 {
	return timing.FisherExact(o.kept[0], o.flipped[0], o.kept[1], o.flipped[1])
}

// verdict tests the tables, notes what was measured and returns the
// finding, if any.
func (c *OrderCheck) verdict(ep *Endpoint, known, control *orderTable, alpha float64, res *EndpointResult) []Finding {
	if known.dropped > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("order test: %d of %d pairs left out, answered with different statuses", known.dropped, known.dropped+known.pairs()))
	}
	if known.pairs() < minOrderPairs || control.pairs() < minOrderPairs {
		res.Notes = append(res.Notes, "order test: too few comparable pairs")
		return nil
	}
	kp, cp := known.p(), control.p()
	res.Notes = append(res.Notes, fmt.Sprintf("order test: %s; %s", describeOrder("a known identifier", known, kp), describeOrder("of two unknown identifiers, the first", control, cp)))
	if cp < alpha {
		res.Notes = append(res.Notes, "order test: two unknown identifiers were answered in a preferred order: the order depends on something besides the account, so there is no order verdict")
		return nil
	}
	if !c.conclusive(known, control, alpha) {
		return nil
	}
	return []Finding{c.finding(ep, known, kp, cp, alpha)}
}

// describeOrder says how often who was answered last.
func describeOrder(who string, o *orderTable, p float64) string {
	return fmt.Sprintf("%s was answered last in %d of %d HTTP/2 pairs (%.1f%%, p = %.2g; sent first answered first in %.0f%%)",
		who, o.aLast(), o.pairs(), 100*(0.5+o.effect()), p, 100*float64(o.kept[0]+o.kept[1])/float64(o.pairs()))
}

func (c *OrderCheck) finding(ep *Endpoint, known *orderTable, kp, cp, alpha float64) Finding {
	dir, when, agree := "slower", "after", known.aLast()
	if known.effect() < 0 {
		dir, when, agree = "faster", "before", known.pairs()-known.aLast()
	}
	ev := Evidence{
		Channel:   "response order",
		Known:     Sample{Identifier: known.sample.in[0].Identifier, Request: known.sample.sent[0], Status: known.sample.status[0], Observed: fmt.Sprintf("answered last in %d of %d pairs", known.aLast(), known.pairs())},
		Unknown:   Sample{Identifier: known.sample.in[1].Identifier, Request: known.sample.sent[1], Status: known.sample.status[1], Observed: fmt.Sprintf("answered last in %d of %d pairs", known.pairs()-known.aLast(), known.pairs())},
		Pairs:     known.pairs(),
		Differing: agree,
	}
	msg := fmt.Sprintf("On the %s endpoint %s (%s %s), a known identifier is answered %s than an unknown one, by the HTTP/2 order test: "+
		"sent together over one connection, in one packet, its answer came %s the unknown one's in %d of %d pairs (%.1f%%, the send order alternating), "+
		"Fisher's exact p = %.2g (level %.2g); two unknown identifiers sent alike: p = %.2g.",
		ep.Kind.Describe(), ep.Name, ep.Method, ep.Path, dir, when, agree, known.pairs(), 100*(0.5+math.Abs(known.effect())), kp, alpha, cp)
	return NewFinding(RuleTiming, ep, msg, ev)
}

// hasKind reports whether a check limited to kinds (none: every kind)
// applies to ep.
func hasKind(kinds []Kind, ep *Endpoint) bool {
	return len(kinds) == 0 || slices.Contains(kinds, ep.Kind)
}

// checkLevel is the significance level of one endpoint's test: alpha
// shared among the endpoints of t a check limited to kinds tests
// (Bonferroni, so that alpha bounds the false alarms of the whole scan).
func checkLevel(t *Target, alpha float64, kinds []Kind) float64 {
	n := 0
	for _, ep := range t.Endpoints {
		if hasKind(kinds, ep) {
			n++
		}
	}
	return alpha / float64(max(n, 1))
}

// orderAnswer is what one pair of the order test gave: both requests, in
// the order sent (until swapped), their statuses, and whether the one sent
// first was answered first.
type orderAnswer struct {
	in     [2]Input
	sent   [2]Request
	status [2]int
	kept   bool
}

// swap exchanges the two sides; kept, being about the send order, stays.
func (a *orderAnswer) swap() {
	a.in[0], a.in[1] = a.in[1], a.in[0]
	a.sent[0], a.sent[1] = a.sent[1], a.sent[0]
	a.status[0], a.status[1] = a.status[1], a.status[0]
}

// orderPair runs the before steps of a probe of first and of second, then
// sends both endpoint requests over one new HTTP/2 connection, first's
// first.
func (s *Scanner) orderPair(ctx context.Context, d *h2race.Dialer, t *Target, ep *Endpoint, first, second Input) (*orderAnswer, error) {
	var ps [2]*prepared
	for i, in := range [2]Input{first, second} {
		p, err := s.prepare(ctx, t, ep, in)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	c, err := d.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	kept, status, err := c.Race([2]h2race.Request{ps[0].h2(), ps[1].h2()})
	if err != nil {
		return nil, fmt.Errorf("%s %s over HTTP/2: %w", ps[0].req.Method, ps[0].req.URL.Redacted(), err)
	}
	s.tick()
	s.tick()
	return &orderAnswer{in: [2]Input{ps[0].in, ps[1].in}, sent: [2]Request{ps[0].sent, ps[1].sent}, status: status, kept: kept}, nil
}

// h2Dialer returns the order test's dialer for u, with the timeout and
// TLS settings of the scanner's client.
func (s *Scanner) h2Dialer(u *url.URL) *h2race.Dialer {
	return h2race.NewDialer(u, s.client(), maxBody)
}

// h2 is p's endpoint request as the order test sends it: with the cookies
// its before steps got.
func (p *prepared) h2() h2race.Request {
	return h2race.Request{Req: p.req, Cookies: p.client.Jar.Cookies(p.req.URL), Body: []byte(p.sent.Body)}
}

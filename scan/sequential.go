package scan

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tacitauth/tacit/timing"
)

// Why a timing measurement ended (TimingResult.Stopped).
const (
	// StoppedDecided: an interim look decided (a leak, or a control
	// that differed).
	StoppedDecided = "decided early"
	// StoppedPlanned: the planned sample was reached.
	StoppedPlanned = "planned sample"
	// StoppedBudget: the time budget ran out first.
	StoppedBudget = "time budget"
	// StoppedInterrupted: the scan was cancelled (SIGINT, SIGTERM).
	StoppedInterrupted = "interrupted"
	// StoppedChanged: the answers left the class they started in (a
	// lock, a rate limit, errors) for the known identifiers.
	StoppedChanged = "answers changed"
)

// timingLook is one look at the pairs measured so far.
type timingLook struct {
	known, control timing.PairedComparison
	// enough is false when there are too few comparable pairs; why says
	// which.
	enough bool
	why    string
	// leak: the known identifier differs at the look's level and by at
	// least MinEffect, and the control does not. veto: the control
	// differs at that level.
	leak, veto bool
}

// look tests the pairs of b at level.
func (c *TimingCheck) look(b *batch, level float64) timingLook {
	kp, cp := timingPairs(b), controlPairs(b)
	var l timingLook
	var err error
	if l.known, err = timing.ComparePaired(kp.diffs(), timingConfidence); err != nil {
		l.why = "timing: too few comparable pairs: " + strings.TrimPrefix(err.Error(), "timing: ")
		return l
	}
	if l.control, err = timing.ComparePaired(cp.diffs(), timingConfidence); err != nil {
		l.why = "timing: too few comparable control pairs: " + strings.TrimPrefix(err.Error(), "timing: ")
		return l
	}
	l.enough = true
	l.veto = l.control.P < level
	// A difference the control shows too is not the account's: the
	// control must not reach half of it, significant or not.
	shared := 2*l.control.Effect.Abs() >= l.known.Effect.Abs()
	l.leak = !l.veto && !shared && l.known.P < level && l.known.Effect.Abs() >= c.minEffect()
	return l
}

// timingScan is what a TimingCheck knows of the scan under way.
type timingScan struct {
	// spent is the time the check has spent measuring, sent the
	// requests it has sent, in this scan.
	spent time.Duration
	sent  int
	// started is when the current endpoint's measurement began.
	started time.Time
	// counted is how many of the check's requests not yet sent the
	// scan's planned total holds (Scanner.Replan).
	counted int
	// s and t are the scanner and target of the scan, done the
	// scanner's probe count when the check last ran.
	s    *Scanner
	t    *Target
	done int
}

// begin starts measuring ep, and a new account of the scan when ep is
// the first endpoint of a new scan the check measures: another scanner
// or target, or the scanner's count of probes gone back (Scan resets it).
func (c *TimingCheck) begin(s *Scanner, t *Target, ep *Endpoint, ids Identities) {
	if c.scan.s != s || c.scan.t != t || s.done < c.scan.done {
		c.scan = timingScan{s: s, t: t, counted: c.Planned(t, ep, ids) + c.laterPlanned(t, ep, ids)}
	}
	c.scan.started = time.Now()
}

// laterPlanned is the requests Planned counted for the endpoints after
// ep (every endpoint if ep is nil).
func (c *TimingCheck) laterPlanned(t *Target, ep *Endpoint, ids Identities) int {
	n, after := 0, ep == nil
	for _, e := range t.Endpoints {
		if after {
			n += c.Planned(t, e, ids)
		}
		after = after || e == ep
	}
	return n
}

// recount corrects the scan's planned total to what the check can still
// send: at most planned requests (the current endpoint's rounds left and
// the later endpoints' caps), and no more than the time left of Budget
// allows at the rate seen so far. The progress line's estimate of the
// time left then holds the budget.
func (c *TimingCheck) recount(s *Scanner, planned int) {
	want := min(c.scan.counted, planned)
	if c.Budget > 0 && c.scan.sent > 0 {
		spent := c.scan.spent + time.Since(c.scan.started)
		perRequest := spent / time.Duration(c.scan.sent)
		if perRequest > 0 {
			want = min(want, int(max(c.Budget-spent, 0)/perRequest))
		}
	}
	want = max(want, 0)
	if want != c.scan.counted {
		s.Replan(want - c.scan.counted)
		c.scan.counted = want
	}
}

// share is the time ep may spend: what is left of Budget divided by the
// endpoints left to measure, ep included. Zero means no limit.
func (c *TimingCheck) share(t *Target, ep *Endpoint) time.Duration {
	if c.Budget <= 0 {
		return 0
	}
	left := 0
	for i, e := range t.Endpoints {
		if e == ep {
			for _, rest := range t.Endpoints[i:] {
				if c.applies(rest) {
					left++
				}
			}
			break
		}
	}
	return max((c.Budget-c.scan.spent)/time.Duration(max(left, 1)), time.Nanosecond)
}

// runSequential measures ep round by round and looks at the pairs at the
// interim looks of timing.Sequential, then at the planned size. It stops
// at the first look that decides, when its share of Budget runs out, or
// when ctx is done; whatever it measured stays in the endpoint's result.
func (c *TimingCheck) runSequential(ctx context.Context, s *Scanner, t *Target, ep *Endpoint, ids Identities, e *EndpointScan) ([]Finding, error) {
	res := e.Result
	per, k, maxRounds := len(ids.all()), len(ids.Known), c.maxRounds(ids)
	pilotRounds := min(c.pilot(), maxRounds)
	seq := timing.Sequential{Alpha: c.level(t), Max: maxRounds * k}
	interim := seq.Interim()
	started := c.scan.started
	var deadline time.Time
	if d := c.share(t, ep); d > 0 {
		deadline = started.Add(d)
	}
	later := c.laterPlanned(t, ep, ids)
	defer func() { c.scan.spent, c.scan.done = c.scan.spent+time.Since(started), s.done }()

	input := c.input(s)
	b := &batch{ids: ids, resp: map[string][]*Response{}, classes: newAnswerClasses()}
	final, next := maxRounds, 0
	var pilot []time.Duration
	stopped := StoppedPlanned
	var decided *timingLook
	for b.rounds < final {
		if ctx.Err() != nil {
			stopped = StoppedInterrupted
			break
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			stopped = StoppedBudget
			break
		}
		more, err := s.runBatch(ctx, t, ep, ids, 1, input)
		if err != nil {
			if ctx.Err() != nil {
				stopped = StoppedInterrupted
				break
			}
			return nil, fmt.Errorf("timing: %w", err)
		}
		b.classes.add(more, b.rounds)
		b.append(more)
		c.scan.sent += per
		c.scan.counted -= per
		if known, all := b.classes.moved(ids, b.rounds-1); known {
			// From here on the known side is answered before the
			// account logic runs, or not by it: timing would compare
			// that answer with itself.
			who := "for the known identifiers"
			if all {
				who = "for every identifier (a lock or rate limit?)"
			}
			b.classes.why = fmt.Sprintf("from pair %d on the answers changed to %s %s", (b.rounds-1)*k+1, b.classes.describe(b, ids.Known[0], b.rounds-1), who)
			stopped = StoppedChanged
			break
		}
		if b.rounds == pilotRounds {
			// The final size depends on the pilot's spread only, not
			// on its difference, which keeps the test's level.
			pilot = timingPairs(b).diffs()
			final = c.rounds(pilot, seq.FinalLevel(), k, pilotRounds, maxRounds)
		}
		c.recount(s, later+(final-b.rounds)*per)
		pairs := b.rounds * k
		if next < len(interim) && pairs >= interim[next] && b.rounds < final {
			for next < len(interim) && pairs >= interim[next] {
				next++
			}
			if l := c.look(b, seq.InterimLevel()); l.enough && (l.leak || l.veto) {
				decided = &l
				stopped = StoppedDecided
				break
			}
		}
	}
	c.recount(s, later)
	e.Requests += b.rounds
	level := seq.InterimLevel()
	if decided == nil && stopped == StoppedChanged && next < len(interim) {
		// An unplanned look in place of the interim looks the change
		// leaves unused: it spends one of their levels, so the whole
		// sequence still keeps Alpha. Cut short, the rounds are few:
		// every unknown identifier is compared with the next as the
		// control, as before a lock the channel comparison met.
		b.pathControl = true
		l := c.look(b, level)
		decided = &l
	}
	if decided == nil {
		// The final look, whenever it comes: at the planned size, or
		// on what was measured before the budget or an interrupt cut
		// the measurement short. Either way it is the one final look.
		level = seq.FinalLevel()
		l := c.look(b, level)
		decided = &l
	}
	if pilot == nil {
		pilot = timingPairs(b).diffs()
	}
	return c.conclude(ep, b, *decided, pilot, level, stopped, next, res), nil
}

// conclude fills res.Timing from the last look and returns the finding,
// if the look found a leak, or records why the endpoint is inconclusive.
func (c *TimingCheck) conclude(ep *Endpoint, b *batch, l timingLook, pilot []time.Duration, level float64, stopped string, looks int, res *EndpointResult) []Finding {
	kp, cp := timingPairs(b), controlPairs(b)
	if kp.dropped > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("timing: %d of %d pairs left out, answered with different statuses", kp.dropped, kp.dropped+len(kp.a)))
	}
	if kp.changed > 0 && b.classes != nil && b.classes.why == "" {
		res.Notes = append(res.Notes, fmt.Sprintf("timing: %d of %d pairs left out, answered with a page unlike the first", kp.changed, kp.changed+kp.dropped+len(kp.a)))
	}
	if stopped == StoppedChanged && !(l.enough && (l.leak || l.veto)) {
		// The measurement never reached its planned size: whatever the
		// comparable pairs say, they cannot vouch for the endpoint.
		res.Inconclusive = appendNew(res.Inconclusive, fmt.Sprintf("timing: %s: timing measured on %d comparable pairs, too few to call the endpoint clean", b.classes.why, len(kp.a)))
		if !l.enough {
			res.Notes = append(res.Notes, l.why)
			return nil
		}
	}
	if !l.enough {
		// No timing verdict: the scan cannot vouch for the endpoint.
		// Cut short, the cut is the reason and the count a detail;
		// otherwise the pairs themselves were too few to compare.
		if stopped == StoppedBudget || stopped == StoppedInterrupted {
			res.Inconclusive = appendNew(res.Inconclusive, fmt.Sprintf("timing: %s after %d pairs, too few to decide", stopReason(stopped), len(kp.a)))
			res.Notes = append(res.Notes, l.why)
			return nil
		}
		res.Inconclusive = appendNew(res.Inconclusive, l.why)
		return nil
	}
	known, control := l.known, l.control
	reached := timing.Resolution(pilot, int(float64(known.N)/sizeMargin), level, timingPower)
	res.Timing = &TimingResult{
		Known: durations(kp.a), Unknown: durations(kp.b), ControlA: durations(cp.a), ControlB: durations(cp.b),
		Effect: known.Effect, EffectLow: known.Low, EffectHigh: known.High, P: known.P,
		Resolution: max(reached, c.resolution()), Level: level, Looks: looks, Stopped: stopped,
	}
	switch {
	case l.veto:
		res.Inconclusive = appendNew(res.Inconclusive, fmt.Sprintf("timing: two unknown identifiers differed by %s (p = %.2g): latency depends on something besides the account, so there is no timing verdict",
			micros(control.Effect), control.P))
		return nil
	case l.leak:
		return []Finding{c.finding(ep, kp, known, control, level)}
	case stopped == StoppedChanged:
		return nil
	case stopped == StoppedInterrupted:
		res.Inconclusive = appendNew(res.Inconclusive, fmt.Sprintf("timing: %s after %d pairs, before a verdict: so far %s (%.0f%% interval %s to %s), p = %.2g; this sample resolves about %s, not the %s asked for",
			stopReason(stopped), known.N, micros(known.Effect), 100*timingConfidence, micros(known.Low), micros(known.High), known.P, micros(reached), micros(c.resolution())))
		return nil
	}
	switch {
	case reached <= c.resolution():
	case stopped == StoppedBudget:
		res.Notes = append(res.Notes, fmt.Sprintf("timing: the time budget allowed %d pairs, which resolve %s, not the %s asked for",
			known.N, micros(reached), micros(c.resolution())))
	default:
		res.Notes = append(res.Notes, fmt.Sprintf("timing: the budget of %d requests resolves %s, not the %s asked for",
			c.maxRequests(), micros(reached), micros(c.resolution())))
	}
	return nil
}

func stopReason(stopped string) string {
	if stopped == StoppedBudget {
		return "the time budget ran out"
	}
	return "the scan was interrupted"
}

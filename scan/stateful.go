package scan

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Answers that change with repetition. A target that counts failed
// sign-ins, reset requests or sign-ups per account, rather than per
// identifier, answers a known identifier differently once its count
// passes a threshold: a lockout message, a 429 with Retry-After, "a
// sign-up is already pending". Such a leak has an onset: a known
// identifier and its partner are answered alike for the first requests,
// then differently for every request after. Because the scan sends every
// identifier the same requests in the same rounds, the partner has always
// been through exactly what the known identifier has, so any divergence is
// the identifier's doing.
//
// One leak, one finding:
//
//   - A pair that differs from the first round of a batch on, or now
//     and then (in more than one round: see dropSingleRounds), is a
//     channel finding (USER_ENUM_STATUS_CODE, …; on a
//     password reset endpoint USER_ENUM_PASSWORD_RESET, whatever the
//     channel).
//   - A pair that is equal in the first round and differs from some round
//     to the end of the batch is an onset, whether the channel comparison's
//     own rounds show it (onsetFindings) or StateCheck's longer run does.
//     Its rule follows the endpoint: USER_ENUM_LOCKOUT for sign-in,
//     USER_ENUM_REGISTER for sign-up (a repeated valid sign-up answered
//     differently is the sign-up telling who is registered), and
//     USER_ENUM_RATE_LIMIT for reset, resend and the rest (the message
//     names the kind, as channel findings do; USER_ENUM_PASSWORD_RESET is
//     not used for an onset, because the fix is the rate limit's).
//   - StateCheck reports a difference that is already there at its first
//     request only when nothing else on the endpoint was reported: the
//     channel comparison ran just before with the same history and has
//     reported it.
//   - TimingCheck compares only pairs answered with the same status, so a
//     lockout or throttle that only one side gets is not also a timing
//     finding.

// Replan corrects the scan's planned total by delta probes, once a check
// knows better than its Planned (it stopped early, or sized its sample),
// and tells Progress.
func (s *Scanner) Replan(delta int) {
	if delta == 0 {
		return
	}
	s.total += delta
	if s.Progress != nil {
		s.Progress(s.done, max(s.total, s.done))
	}
}

// onset is where a known identifier's answers began to differ from its
// partner's for good.
type onset struct {
	known, round int
}

// onsets returns the known identifiers whose answers differ from their
// partner's in every round from some round to the last, for at least
// minRounds rounds, and are equal before it; earliest first. An onset at
// round 0 is a pair that differs throughout.
func onsets(b *batch, a analysis, minRounds int) []onset {
	differs := map[int][]bool{}
	for _, d := range a.diffs {
		if differs[d.known] == nil {
			differs[d.known] = make([]bool, b.rounds)
		}
		differs[d.known][d.round] = true
	}
	var out []onset
	for k, rounds := range differs {
		first := slices.Index(rounds, true)
		if b.rounds-first >= minRounds && !slices.Contains(rounds[first:], false) {
			out = append(out, onset{known: k, round: first})
		}
	}
	slices.SortFunc(out, func(x, y onset) int {
		if x.round != y.round {
			return x.round - y.round
		}
		return x.known - y.known
	})
	return out
}

// onsetFindings takes the pairs of a whose divergence begins after the
// first round out of a, and returns them as one finding of the
// endpoint's onset rule. earlier is how many requests each identifier
// had been sent on the endpoint before the batch.
func onsetFindings(ep *Endpoint, b *batch, a *analysis, earlier int) []Finding {
	var late []onset
	for _, o := range onsets(b, *a, 1) {
		if o.round > 0 {
			late = append(late, o)
		}
	}
	if len(late) == 0 {
		return nil
	}
	isLate := map[int]bool{}
	for _, o := range late {
		isLate[o.known] = true
	}
	var kept, moved []pairDiff
	for _, d := range a.diffs {
		if isLate[d.known] {
			moved = append(moved, d)
		} else {
			kept = append(kept, d)
		}
	}
	a.diffs = kept
	return []Finding{onsetFinding(ep, b, moved, a.pairs, late[0], earlier, false)}
}

// onsetFinding makes the finding of an onset: evidence from the first
// differing round of the earliest pair, every channel that differed there.
// already says the pair differed from the batch's first round.
func onsetFinding(ep *Endpoint, b *batch, ds []pairDiff, pairs int, first onset, earlier int, already bool) Finding {
	// evidence takes its example from the first difference.
	slices.SortStableFunc(ds, func(x, y pairDiff) int {
		xf := x.known == first.known && x.round == first.round
		yf := y.known == first.known && y.round == first.round
		switch {
		case xf && !yf:
			return -1
		case yf && !xf:
			return 1
		}
		return 0
	})
	ev := evidence(b, ds, pairs)
	var chans []string
	for _, d := range ds {
		if d.known == first.known && d.round == first.round {
			chans = appendNew(chans, d.channel)
		}
	}
	ev.Channel = strings.Join(chans, ", ")
	ev.Attempt = earlier + first.round + 1
	rule := onsetRule(ep.Kind)
	return NewFinding(rule, ep, onsetMessage(ep, rule, ev, earlier+b.rounds, already), ev)
}

// onsetRule is the rule of an onset on an endpoint of kind k.
func onsetRule(k Kind) string {
	switch k {
	case KindLogin:
		return RuleLockout
	case KindRegister:
		return RuleRegister
	}
	return RuleRateLimit
}

// onsetMessage says from which request on the answers differed, how, and
// what that suggests.
func onsetMessage(ep *Endpoint, rule string, ev Evidence, last int, already bool) string {
	what := "repeated requests"
	switch rule {
	case RuleLockout:
		what = "repeated failed sign-ins"
	case RuleRegister:
		what = "repeated sign-ups with valid input"
	}
	from := ordinal(ev.Attempt)
	if already {
		from += " (or earlier)"
	}
	msg := fmt.Sprintf("On the %s endpoint %s (%s %s), %s are answered differently for a known identifier than for an unknown one sent the same requests, from the %s request of each on to the last (the %s), in the %s",
		ep.Kind.Describe(), ep.Name, ep.Method, ep.Path, what, from, ordinal(last), ev.Channel)
	if ev.Known.Observed != "" || ev.Unknown.Observed != "" {
		msg += fmt.Sprintf(": %s for the known one, %s for the unknown one", quoteShort(ev.Known.Observed), quoteShort(ev.Unknown.Observed))
	}
	switch rule {
	case RuleLockout:
		return msg + ". The lockout or delay is keyed by account, so only real accounts get it."
	case RuleRegister:
		return msg + ". What a sign-up answers must not depend on whether the address already had an account."
	}
	return msg + ". The limit is keyed by account, so only real accounts hit it."
}

// ordinal writes n as "1st", "2nd", "11th".
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprint(n) + suffix
}

// DefaultStateAttempts is StateCheck's default number of requests per
// identifier: above the common lockout thresholds (3 to 10, tacit's own
// 10) with room for the divergence to show as lasting.
const DefaultStateAttempts = 20

// minLasting is how many rounds a divergence must last, to the end of
// StateCheck's run, to count: a limit per client address that starts in
// the middle of a round splits that round only, and a delay that runs on
// the clock may end for one address a moment before another's, for a
// round or two.
const minLasting = 3

// StateCheck sends each identifier the same request many times over
// (failed sign-ins with the scan's wrong password, reset, resend or
// valid sign-up requests), interleaved in random order per round, and
// reports where a known identifier's answers begin to differ from its
// partner's for good: status, headers such as Retry-After, cookies and
// body, after the same masking as the channel comparison. That is a
// lockout (USER_ENUM_LOCKOUT), a rate limit (USER_ENUM_RATE_LIMIT) or a
// sign-up that remembers (USER_ENUM_REGISTER) keyed by account instead of
// by identifier.
//
// It changes the target's state on purpose, so it runs only when
// Scanner.AllowStateChanges is set: it may lock the known accounts and it
// makes the target send mail. Put it before a TimingCheck, whose many
// requests may themselves lock accounts.
type StateCheck struct {
	// Attempts is how many requests each identifier gets; default
	// DefaultStateAttempts.
	Attempts int
}

func (c *StateCheck) attempts() int {
	if c.Attempts > 0 {
		return c.Attempts
	}
	return DefaultStateAttempts
}

// Planned is how many probes Run sends to ep if state changes are allowed.
func (c *StateCheck) Planned(_ *Target, _ *Endpoint, ids Identities) int {
	return c.attempts() * len(ids.all())
}

// Run probes ep repeatedly and returns the onset finding, if any. Without
// s.AllowStateChanges it sends nothing.
func (c *StateCheck) Run(ctx context.Context, s *Scanner, t *Target, ep *Endpoint, ids Identities, e *EndpointScan) ([]Finding, error) {
	if !s.AllowStateChanges {
		s.Replan(-c.Planned(t, ep, ids))
		return nil, nil
	}
	earlier := e.Requests
	b, err := s.runRepeated(ctx, t, ep, ids, c.attempts(), s.Input)
	if err != nil {
		return nil, fmt.Errorf("repeated requests: %w", err)
	}
	e.Requests += c.attempts()
	before := e.Findings
	a := b.analyse(newMasker())
	for _, u := range unstableNames(a.unstable) {
		e.Result.Unstable = appendNew(e.Result.Unstable, "repeated requests: "+u)
	}
	found := onsets(b, a, minLasting)
	if len(found) == 0 {
		return nil, nil
	}
	first := found[0]
	if first.round == 0 && len(before) > 0 {
		return nil, nil // there from the start, and reported already
	}
	if slices.ContainsFunc(before, func(f Finding) bool { return f.Rule == onsetRule(ep.Kind) && f.Evidence.Attempt > 0 }) {
		return nil, nil // a sign-up's second request showed it already
	}
	var ds []pairDiff
	for _, d := range a.diffs {
		if slices.ContainsFunc(found, func(o onset) bool { return o.known == d.known && d.round >= o.round }) {
			ds = append(ds, d)
		}
	}
	return []Finding{onsetFinding(ep, b, ds, a.pairs, first, earlier, first.round == 0)}, nil
}

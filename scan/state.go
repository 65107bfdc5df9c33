package scan

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tacitauth/tacit/timing"
)

// The target's state: what the scan's own requests, or earlier ones,
// leave behind on the target, and how the scan keeps that from passing
// for a leak or hiding one.
//
//   - Endpoints that can create state keyed by the identifier (sign-up,
//     email change: createsState) get unknown identifiers never sent
//     before in every probe, and their own identities, used by no other
//     endpoint. The first unknown identifiers are sent a second time at
//     the end (secondRequest): a difference between that second request
//     and the known identifier's second request is USER_ENUM_REGISTER; an
//     unknown identifier that now answers like the known one has been
//     registered by the scan, and the report says so.
//   - A throttled answer (429, 423, 503 with Retry-After, any answer with
//     Retry-After) or a bot check (428) did not reach the account logic. Waits up to MaxWait
//     are waited out (Probe); rounds that stay throttled are not counted
//     as compared, and an endpoint with too few compared rounds is
//     inconclusive (setAsideHistory).
//   - A difference that an identifier's history explains is not a leak:
//     a known identifier answered from its first request as unknown
//     identifiers are after some requests of their own (a lock or
//     throttle left by an earlier scan), or a known identifier throttled
//     on a sign-up endpoint where every unknown identifier is new (and so
//     cannot share its count) when a new identifier sent as many requests
//     is throttled alike (historySeries).
//   - Answers of 500 and up are failed requests: pairs with one are set
//     aside, and the endpoint is inconclusive (setAsideErrors), unless the
//     known identifier's every answer fails and no unknown one does, which
//     is a leak like any other status.
//   - Before an endpoint is called clean, a positive control shows that
//     the identifier reaches the application (positiveControl).

// createsState reports whether probing an endpoint of kind k may create
// state keyed by the identifier: a sign-up registers the address, an
// email change reserves it.
func createsState(k Kind) bool {
	return k == KindRegister || k == KindEmailChange
}

// maxPaceRetries bounds how often one probe is sent again after a
// throttled answer.
const maxPaceRetries = 1

// paceBudget bounds the waiting on one endpoint, in units of MaxWait: a
// target whose waits keep growing (a delay that doubles) would otherwise
// hold a scan for many minutes and still leave it throttled.
const paceBudget = 3

// minReached is how many rounds of the channel comparison must reach the
// account logic (no throttled or failed answer in the pair) for an
// endpoint to be called clean.
const minReached = 2

// historyMax bounds a history series: requests a new identifier is sent
// to see whether it reaches the known identifier's answer.
const historyMax = 20

// throttleOf reports whether r is a throttled or locked answer, and the
// wait its Retry-After asks for (0 when it gives none or an unreadable
// one).
func throttleOf(r *Response) (time.Duration, bool) {
	ra := strings.TrimSpace(r.Header.Get("Retry-After"))
	var wait time.Duration
	if ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			wait = time.Duration(secs) * time.Second
		} else if at, err := http.ParseTime(ra); err == nil {
			wait = max(time.Until(at), 0)
		}
	}
	switch {
	case r.Status == http.StatusTooManyRequests, r.Status == http.StatusLocked, ra != "",
		// 428: a bot check (proof of work, as tacit's pow on_limit
		// asks once a client reached its soft limit): the request did
		// not reach the account logic either.
		r.Status == http.StatusPreconditionRequired:
		return wait, true
	}
	return 0, false
}

// pace waits out a throttled answer's Retry-After if it is short enough,
// and says so on Log, with how long the rest of the scan would take at
// that pace. It reports whether the probe is to be sent again.
func (s *Scanner) pace(ctx context.Context, ep *Endpoint, r *Response, wait time.Duration) (bool, error) {
	if s.noPace || (s.pacing != nil && s.pacing.paceless) {
		return false, nil
	}
	over := s.pacing != nil && wait <= s.maxWait() && s.pacing.waited+wait > paceBudget*s.maxWait()
	if wait <= 0 || wait > s.maxWait() || over {
		if s.pacing != nil && wait > s.pacing.longestWait {
			s.pacing.longestWait = wait
		}
		if over && !s.pacing.paceless {
			s.pacing.paceless = true
			if s.Log != nil {
				s.Log(fmt.Sprintf("pacing: %s (%s %s): stopped waiting after %s of waits on this endpoint; what stays throttled is not compared",
					Sanitize(ep.Name), ep.Method, Sanitize(ep.Path), s.pacing.waited))
			}
		}
		return false, nil
	}
	if s.Log != nil {
		left := max(s.total-s.done, 1)
		s.Log(fmt.Sprintf("pacing: %s (%s %s) answered %d with Retry-After %s; waiting it out (probe %d of %d; if every remaining probe had to wait as long, about %s more)",
			Sanitize(ep.Name), ep.Method, Sanitize(ep.Path), r.Status, wait, s.done+1, s.total, (time.Duration(left) * wait).Round(time.Second)))
	}
	if s.pacing != nil {
		s.pacing.paced++
		s.pacing.waited += wait
	}
	t := time.NewTimer(wait + 50*time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
	}
	return true, nil
}

func (s *Scanner) maxWait() time.Duration {
	if s.MaxWait > 0 {
		return s.MaxWait
	}
	return DefaultMaxWait
}

// throttled reports whether id's answer in round r was throttled.
func (b *batch) throttled(id string, r int) bool {
	_, ok := throttleOf(b.resp[id][r])
	return ok
}

// setAsideErrors takes out of a the pairs in which either side failed
// (500 and up), and makes the endpoint inconclusive: a failed request
// says nothing about the identifier. A known identifier whose every
// answer failed while no unknown one did stays a difference: that is
// the status leaking.
func (s *Scanner) setAsideErrors(e *EndpointScan, b *batch, a *analysis) {
	failed, total := map[int]int{}, 0
	for _, rs := range b.resp {
		for _, r := range rs {
			total++
			if r.Status >= 500 {
				failed[r.Status]++
			}
		}
	}
	if len(failed) == 0 {
		return
	}
	unknownFailed := false
	for _, u := range b.ids.unknown() {
		for r := range b.rounds {
			unknownFailed = unknownFailed || b.erred(u, r)
		}
	}
	keep := map[int]bool{}
	for k, id := range b.ids.Known {
		all := true
		for r := range b.rounds {
			all = all && b.erred(id, r)
		}
		keep[k] = all && !unknownFailed
	}
	a.diffs = slices.DeleteFunc(a.diffs, func(d pairDiff) bool {
		return !keep[d.known] && (b.erred(b.ids.Known[d.known], d.round) || b.erred(b.ids.Partner[d.known], d.round))
	})
	if unknownFailed || len(keep) == 0 || !keep[0] {
		var parts []string
		for st, n := range failed {
			parts = append(parts, fmt.Sprintf("%d %s (%d)", st, http.StatusText(st), n))
		}
		slices.Sort(parts)
		e.Inconclusive("%d of %d answers were server errors: %s; a failed request says nothing about the identifier, so the pairs with one were not compared",
			sumValues(failed), total, strings.Join(parts, ", "))
	}
}

func sumValues(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// maskedView reduces and masks an answer sent outside the batch b, with
// every identifier of b and r's own replaced by placeholders.
func (a *analysis) maskedView(b *batch, r *Response) view {
	ids := append(b.ids.all(), r.Input.Identifier)
	randoms := []string{r.Input.Random}
	for _, rs := range b.resp {
		for _, x := range rs {
			ids = append(ids, x.Input.Identifier)
			randoms = append(randoms, x.Input.Random)
		}
	}
	return a.m.applyView(newView(b.kind, r, newReflector(ids, randoms).replace))
}

// differences returns the channels on which x and y differ, leaving out
// those the batch found unstable.
func (a *analysis) differences(x, y view) []channelDiff {
	var out []channelDiff
	for _, d := range compareViews(x, y) {
		if !a.unstable[d.key] {
			out = append(out, d)
		}
	}
	return out
}

// setAsideHistory takes out of a the differences an identifier's history
// explains, records them as notes or reasons, and makes the endpoint
// inconclusive if too few rounds reached the account logic.
func (s *Scanner) setAsideHistory(ctx context.Context, e *EndpointScan, t *Target, ep *Endpoint, b *batch, a *analysis) error {
	for k, known := range b.ids.Known {
		partner := b.ids.Partner[k]
		var rounds []int // rounds in which this pair differs
		for _, d := range a.diffs {
			if d.known == k && !slices.Contains(rounds, d.round) {
				rounds = append(rounds, d.round)
			}
		}
		if len(rounds) == 0 {
			continue
		}
		slices.Sort(rounds)
		if b.fresh {
			// Throttled both, neither reached the account logic: the
			// known identifier by its own count, which grows every
			// round, the new one by something else (the client's
			// count, the clock). How long each is told to wait
			// compares those histories, not the accounts.
			both := slices.DeleteFunc(slices.Clone(rounds), func(r int) bool { return !b.throttled(known, r) || !b.throttled(partner, r) })
			if len(both) > 0 {
				a.diffs = slices.DeleteFunc(a.diffs, func(d pairDiff) bool { return d.known == k && slices.Contains(both, d.round) })
				rounds = slices.DeleteFunc(rounds, func(r int) bool { return slices.Contains(both, r) })
				e.Result.Notes = append(e.Result.Notes, fmt.Sprintf("in %d of %d rounds %s and a new identifier were both throttled (%d), the known one after %d or more requests of its own, the new one at its first: their throttles count different requests, so those rounds were not compared",
					len(both), b.rounds, known, b.resp[known][both[0]].Status, s.sentByKind[ep.Kind]+both[0]+1))
			}
			if len(rounds) == 0 {
				continue
			}
		}
		drop := false
		switch {
		case b.fresh:
			// The known identifier's count grows; every unknown
			// one is new. A throttle on the known side is history
			// if a new identifier sent as many requests meets it.
			first := -1
			for _, r := range rounds {
				if b.throttled(known, r) && !b.throttled(partner, r) {
					first = r
					break
				}
			}
			if first < 0 {
				continue
			}
			limit := min(s.sentByKind[ep.Kind]+first+1, historyMax)
			j, err := s.historySeries(ctx, t, ep, b, a, b.resp[known][first], limit)
			if err != nil {
				return err
			}
			if j == 0 {
				continue
			}
			b.historyRounds(k, first)
			a.diffs = slices.DeleteFunc(a.diffs, func(d pairDiff) bool {
				return d.known == k && b.throttled(known, d.round)
			})
			e.Result.Notes = append(e.Result.Notes, fmt.Sprintf("from its %s request on this endpoint, %s was throttled (%d), as an identifier never sent before is after %d requests: a limit for every address, which the new identifiers of a sign-up cannot share; those rounds were not compared",
				ordinal(s.sentByKind[ep.Kind]+first+1), known, b.resp[known][first].Status, j))
			continue
		case rounds[0] == 0:
			j := b.convergence(a, k)
			if j == 0 {
				if _, ok := throttleOf(b.resp[known][0]); ok {
					var err error
					if j, err = s.historySeries(ctx, t, ep, b, a, b.resp[known][0], historyMax); err != nil {
						return err
					}
				}
			}
			if j == 0 {
				continue
			}
			drop = true
			e.Inconclusive("%s was answered from its first request as unknown identifiers are after %d requests of their own: a lock or throttle that requests before this scan left on it (an earlier scan?), not a difference between accounts; wait until it expires, or name another known identifier",
				known, j)
		}
		if drop {
			a.diffs = slices.DeleteFunc(a.diffs, func(d pairDiff) bool { return d.known == k })
		}
	}
	s.setAsideThrottleRaces(e, b, a)
	s.reached(e, b, a)
	s.lockOnset(e, b, a)
	return nil
}

// setAsideThrottleRaces takes out of a the rounds in which one side of a
// pair was throttled and the other not, when unknown identifiers were
// throttled too somewhere in the batch and the known identifier's
// throttling is neither constant nor lasting to the end: throttling that
// reaches unknown identifiers counts something besides the account (the
// client, the clock), and the order of a round decides who meets it. A
// known identifier throttled in every round, or from some round on for
// good, while its partner is not, stays a difference (a lockout).
func (s *Scanner) setAsideThrottleRaces(e *EndpointScan, b *batch, a *analysis) {
	if !b.unknownThrottled() {
		return
	}
	for k, known := range b.ids.Known {
		p := b.ids.Partner[k]
		var mixed []int
		knownSide := true
		for r := range b.rounds {
			if h, ok := b.history[k]; ok && r >= h {
				continue
			}
			if kt, pt := b.throttled(known, r), b.throttled(p, r); kt != pt {
				mixed = append(mixed, r)
				knownSide = knownSide && kt
			}
		}
		if len(mixed) == 0 {
			continue
		}
		lasting := knownSide && mixed[len(mixed)-1] == b.rounds-1 && mixed[len(mixed)-1]-mixed[0] == len(mixed)-1
		if lasting {
			continue
		}
		a.diffs = slices.DeleteFunc(a.diffs, func(d pairDiff) bool { return d.known == k && slices.Contains(mixed, d.round) })
		e.Inconclusive("in %d of %d rounds one of %s and its partner was throttled and the other not, and unknown identifiers were throttled too: a limit per client or on the clock, which the order of a round decides; those rounds were not compared",
			len(mixed), b.rounds, known)
	}
}

// historyRounds marks the rounds of known identifier k from first on as
// explained by history (for reached).
func (b *batch) historyRounds(k, first int) {
	if b.history == nil {
		b.history = map[int]int{}
	}
	b.history[k] = first
}

// convergence returns after how many requests unknown identifiers were
// answered as the known identifier k was in the first round, when they
// were not so answered in the first round themselves: the known
// identifier's first answer is then one that history gives. 0 if none.
func (b *batch) convergence(a *analysis, k int) int {
	kv := a.masked[b.ids.Known[k]][0]
	unknown := b.ids.unknown()
	for _, u := range unknown {
		if len(a.differences(a.masked[u][0], kv)) == 0 {
			return 0
		}
	}
	for r := 1; r < b.rounds; r++ {
		for _, u := range unknown {
			if len(a.differences(a.masked[u][r], kv)) == 0 {
				return r + 1
			}
		}
	}
	return 0
}

// historySeries sends one new unknown identifier up to limit requests and
// returns at which of them it was answered as target was (a throttled
// answer of the same status, or the same answer after masking); 0 if it
// never was.
func (s *Scanner) historySeries(ctx context.Context, t *Target, ep *Endpoint, b *batch, a *analysis, target *Response, limit int) (int, error) {
	_, throttled := throttleOf(target)
	tv := a.maskedView(b, target)
	id := s.unknownLike(target.Input.Identifier)
	for j := 1; j <= limit; j++ {
		r, err := s.Probe(ctx, t, ep, s.Input(id))
		if err != nil {
			return 0, fmt.Errorf("history control: %w", err)
		}
		if _, ok := throttleOf(r); ok && throttled && r.Status == target.Status {
			return j, nil
		}
		if len(a.differences(a.maskedView(b, r), tv)) == 0 {
			return j, nil
		}
	}
	return 0, nil
}

// reached makes the endpoint inconclusive when fewer than minReached
// rounds of some pair reached the account logic: rounds where either
// side was throttled or failed, or that history explains, do not count.
func (s *Scanner) reached(e *EndpointScan, b *batch, a *analysis) {
	need := min(b.rounds, minReached)
	throttled, total := 0, 0
	for _, rs := range b.resp {
		for _, r := range rs {
			total++
			if _, ok := throttleOf(r); ok {
				throttled++
			}
		}
	}
	wait := ""
	if s.pacing != nil && s.pacing.longestWait > 0 {
		wait = fmt.Sprintf(" and asked to wait up to %s (Retry-After), more than the %s the scan waits (--max-wait): a paced scan would wait about %s; re-run with --max-wait %s, or lift the target's limits for this client",
			s.pacing.longestWait, s.maxWait(), (time.Duration(throttled) * s.pacing.longestWait).Round(time.Second), s.pacing.longestWait)
	}
	short := false
	for k, known := range b.ids.Known {
		if slices.ContainsFunc(a.diffs, func(d pairDiff) bool { return d.known == k }) {
			continue // a difference was found: that verdict stands
		}
		n := 0
		for r := range b.rounds {
			if h, ok := b.history[k]; ok && r >= h {
				continue
			}
			p := b.ids.Partner[k]
			if !b.throttled(known, r) && !b.throttled(p, r) && !b.erred(known, r) && !b.erred(p, r) {
				n++
			}
		}
		if n < need {
			short = true
			e.Inconclusive("only %d of %d rounds reached the account logic for %s; %d of %d answers were throttled%s", n, b.rounds, known, throttled, total, wait)
		}
	}
	if !short && throttled > 0 && len(a.unstable) > 0 {
		// Throttled answers that come to some identifiers of a round
		// and not to others make channels vary by themselves.
		e.Inconclusive("%d of %d answers were throttled, some identifiers of a round and not others%s", throttled, total, wait)
	}
}

// lockOnset records, for the checks that follow, the request from which
// every identifier of the batch was answered differently than before and
// alike from then on: a lock or throttle for every address. Timing there
// would time that answer, not the account logic.
func (s *Scanner) lockOnset(e *EndpointScan, b *batch, a *analysis) {
	if b.rounds < 2 {
		return
	}
	all := b.ids.all()
	for j := 1; j < b.rounds; j++ {
		ok := true
		for _, id := range all {
			changed := len(compareViews(a.masked[id][j-1], a.masked[id][j])) > 0
			if _, thr := throttleOf(b.resp[id][j]); !changed && !thr {
				ok = false
				break
			}
			for r := j + 1; r < b.rounds && ok; r++ {
				ok = len(compareViews(a.masked[id][j], a.masked[id][r])) == 0
			}
			if !ok {
				break
			}
		}
		if !ok {
			continue
		}
		// The known identifiers' response times before it.
		var d []time.Duration
		for k, known := range b.ids.Known {
			for r := range j {
				d = append(d, b.resp[known][r].Duration-b.resp[b.ids.Partner[k]][r].Duration)
			}
		}
		e.lock = &lockInfo{after: j, answer: b.resp[b.ids.Known[0]][j].Status, before: d, pre: b.head(j)}
		return
	}
}

// lockInfo is a lock or throttle every identifier met during the channel
// comparison.
type lockInfo struct {
	after  int // requests each identifier was answered normally
	answer int // the status from then on
	before []time.Duration
	// pre is the batch's rounds before the lock: every identifier in
	// them had been sent as often as every other, and none was locked.
	pre *batch
}

// head is the first n rounds of b.
func (b *batch) head(n int) *batch {
	h := &batch{ids: b.ids, rounds: n, resp: map[string][]*Response{}, fresh: b.fresh, kind: b.kind}
	for id, rs := range b.resp {
		h.resp[id] = rs[:n]
	}
	for _, ref := range b.order {
		if ref.round < n {
			h.order = append(h.order, ref)
		}
	}
	return h
}

// timingBlocked says why a timing check cannot measure the endpoint of
// e, or "".
func timingBlocked(e *EndpointScan) string {
	if e.lock == nil {
		return ""
	}
	l := e.lock
	msg := fmt.Sprintf("every identifier was answered differently from its %s request on (%d from then on): a lock or throttle for every address, which the known identifiers are past, so response times would time that answer only",
		ordinal(l.after+1), l.answer)
	if len(l.before) > 0 {
		slower := 0
		for _, d := range l.before {
			if d > 0 {
				slower++
			}
		}
		msg += fmt.Sprintf("; in the %d pairs before it, the known identifier was answered %s slower on median (%d of %d slower)",
			len(l.before), micros(timing.Median(l.before)), slower, len(l.before))
	}
	// Each known identifier gives one pair per request before the lock;
	// the timing test needs timing.MinPairs of them.
	need := (timing.MinPairs + l.after - 1) / max(l.after, 1)
	// Pairs cut short by a lock can show a leak, never vouch for its
	// absence: only a scan the lock does not stop can call the timing
	// clean.
	msg += "; to call its timing clean, raise or lift the lock for the scan"
	if l.pre != nil && len(l.pre.ids.Known) < need {
		msg += fmt.Sprintf("; to find a leak of milliseconds before it, name at least %d known identifiers (each is answered %d times before its lock)", need, l.after)
	}
	return msg
}

// secondRequest sends the first unknown identifiers of a batch whose
// unknown identifiers were all new (a sign-up) a second time, and
// compares the answer with the known identifier's second request. A
// difference is USER_ENUM_REGISTER: a second sign-up tells who was
// registered before the first. An unknown identifier that now answers
// as the known one did has been registered by the scan: a note says so.
func (s *Scanner) secondRequest(ctx context.Context, e *EndpointScan, t *Target, ep *Endpoint, b *batch, a analysis) (Finding, bool, error) {
	if b.rounds < 2 {
		return Finding{}, false, nil
	}
	var first *pairDiff
	var ds []channelDiff
	var ev Evidence
	differing := 0
	for k, known := range b.ids.Known {
		p := b.ids.Partner[k]
		id := b.resp[p][0].Input.Identifier
		r, err := s.Probe(ctx, t, ep, s.Input(id))
		if err != nil {
			return Finding{}, false, fmt.Errorf("second request: %w", err)
		}
		if _, thr := throttleOf(r); (thr && b.unknownThrottled()) || r.Status >= 500 || b.erred(known, 1) {
			// Throttling that new identifiers meet too is the
			// client's, not this address's second sign-up.
			continue
		}
		v := a.maskedView(b, r)
		diff := a.differences(a.masked[known][1], v)
		if _, thr := throttleOf(b.resp[known][1]); thr {
			diff = nil // the known identifier's count, not its account
		}
		if len(diff) > 0 {
			differing++
			if first == nil {
				first = &pairDiff{known: k, round: 1}
				ds = diff
				ev = Evidence{Known: SampleOf(b.resp[known][1], ""), Unknown: SampleOf(r, ""), Attempt: 2}
			}
			continue
		}
		if len(a.differences(a.masked[p][0], v)) > 0 {
			e.Result.Notes = append(e.Result.Notes, fmt.Sprintf("%s, unknown when first sent, was answered as the known identifier when sent again: the endpoint registered it (or started its sign-up), which is why every probe sent an identifier never sent before", id))
		}
	}
	if first == nil {
		return Finding{}, false, nil
	}
	var chans, ka, pa []string
	for _, d := range ds {
		chans = appendNew(chans, d.channel)
		if d.a != "" || d.b != "" {
			ka, pa = append(ka, d.a), append(pa, d.b)
		}
		if ev.Diff == "" {
			ev.Diff = d.diff
		}
	}
	ev.Channel = strings.Join(chans, ", ")
	ev.Known.Observed, ev.Unknown.Observed = strings.Join(ka, "\n"), strings.Join(pa, "\n")
	ev.Pairs, ev.Differing = len(b.ids.Known), differing
	msg := fmt.Sprintf("On the %s endpoint %s (%s %s), a second request with the same unknown identifier is answered differently than the known identifier's second request, in the %s",
		ep.Kind.Describe(), ep.Name, ep.Method, ep.Path, ev.Channel)
	if ev.Known.Observed != "" || ev.Unknown.Observed != "" {
		msg += fmt.Sprintf(": %s for the known one, %s for the unknown one", quoteShort(ev.Known.Observed), quoteShort(ev.Unknown.Observed))
	}
	msg += ". Sending an address twice tells whether it had an account before; what a sign-up answers must not depend on it."
	return NewFinding(RuleRegister, ep, msg, ev), true, nil
}

// positiveControl shows that the identifier reaches the application:
// a malformed identifier, or an empty one, must be answered differently
// from a well-formed unknown one (compared with the first round, when
// the unknown identifiers had the same empty history). If neither is,
// the target file most likely sends the identifier under a name the
// application does not read, and "no difference" proves nothing: the
// endpoint is inconclusive.
func (s *Scanner) positiveControl(ctx context.Context, e *EndpointScan, t *Target, ep *Endpoint, b *batch, a analysis) error {
	if b.rounds == 0 || !ep.usesIdentifier() {
		return nil
	}
	if len(e.Result.Inconclusive) > 0 || len(a.unstable) > 0 {
		// Inconclusive already, for a reason of its own; a control
		// compared with such answers would only add a wrong one.
		return nil
	}
	var base []view
	for _, u := range b.ids.unknown() {
		if !b.erred(u, 0) && !b.throttled(u, 0) {
			base = append(base, a.masked[u][0])
		}
	}
	if len(base) == 0 {
		return nil // nothing reached the application; said already
	}
	var tried []string
	for _, id := range s.controlIdentifiers(t) {
		r, err := s.Probe(ctx, t, ep, s.Input(id))
		if err != nil {
			return fmt.Errorf("positive control: %w", err)
		}
		if _, ok := throttleOf(r); ok || r.Status >= 500 {
			continue
		}
		v := a.maskedView(b, r)
		if !slices.ContainsFunc(base, func(u view) bool { return len(a.differences(u, v)) == 0 }) {
			return nil
		}
		tried = append(tried, strconv.Quote(id))
	}
	if len(tried) > 0 {
		e.Inconclusive("the identifier seems to be ignored: %s got the same answer as a well-formed unknown identifier; check the identifier's field name and the before steps in the target file",
			strings.Join(tried, " and "))
	}
	return nil
}

// controlIdentifiers are the positive control's identifiers: a malformed
// one of the known identifiers' shape (an address with its @ doubled),
// then an empty one.
func (s *Scanner) controlIdentifiers(t *Target) []string {
	u := s.unknownLike(t.Known[0])
	if strings.Contains(u, "@") {
		return []string{strings.Replace(u, "@", "@@", 1), ""}
	}
	return []string{u + "\"'<>", ""}
}

// usesIdentifier reports whether the endpoint's request carries
// {{identifier}} anywhere.
func (ep *Endpoint) usesIdentifier() bool {
	return ep.uses(VarIdentifier)
}

// uses reports whether the endpoint's request carries the placeholder
// {{name}} anywhere.
func (ep *Endpoint) uses(name string) bool {
	found := false
	ep.templates(func(_, s string) {
		if slices.Contains(placeholders(s), name) {
			found = true
		}
	})
	return found
}

// unknownThrottled reports whether any unknown identifier of b was
// throttled: throttling that counts something besides the account.
func (b *batch) unknownThrottled() bool {
	for _, u := range b.ids.unknown() {
		for r := range b.rounds {
			if b.throttled(u, r) {
				return true
			}
		}
	}
	return false
}

// passwordControlled reports whether ep gets the password control: a
// sign-in endpoint that sends {{password}}, with a known identifier whose
// password the target file gives.
func passwordControlled(t *Target, ep *Endpoint, ids Identities) bool {
	if ep.Kind != KindLogin || !ep.uses(VarPassword) {
		return false
	}
	return slices.ContainsFunc(ids.Known, func(k string) bool { return t.Passwords[k] != "" })
}

// passwordProbes sends, before anything else in the scan, each sign-in
// endpoint's known identifiers that have a password (passwordControlled)
// one request with it, and returns the answers by endpoint and known
// identifier, or the error that stopped an endpoint's.
//
// They come first, before any failed sign-in, and alone: an application
// that clears an account's failures when it signs in (Devise's lockable,
// Laravel's login throttle) then has none to clear, and one that counts
// only failures counts none; sent after an endpoint's rounds, the right
// password would put the known identifier behind its partners on every
// sign-in endpoint scanned after it, and they would lock first. Only an
// application that counts every attempt, successful or not, sees the
// known identifier one request ahead per sign-in endpoint.
func (s *Scanner) passwordProbes(ctx context.Context, t *Target, ids Identities) (map[*Endpoint]map[int]*Response, map[*Endpoint]error) {
	right := map[*Endpoint]map[int]*Response{}
	errs := map[*Endpoint]error{}
	for _, ep := range t.Endpoints {
		if !passwordControlled(t, ep, ids) {
			continue
		}
		right[ep] = map[int]*Response{}
		for k, id := range ids.Known {
			if t.Passwords[id] == "" {
				continue
			}
			in := s.Input(id)
			in.Password = t.Passwords[id]
			r, err := s.Probe(ctx, t, ep, in)
			if err != nil {
				errs[ep] = fmt.Errorf("password control: %w", err)
				break
			}
			right[ep][k] = r
		}
	}
	return right, errs
}

// passwordControl is the sign-in endpoint's positive control: the right
// password of a known identifier (passwordProbes) must be answered
// differently from the wrong one of the same identifier in the first
// round of b. If no known identifier's is, the identifier or the password
// does not reach the application (a misspelt field, a missing before
// step), and "no difference" between identifiers proves nothing.
func (s *Scanner) passwordControl(e *EndpointScan, ep *Endpoint, b *batch, a analysis, right map[int]*Response) {
	if len(right) == 0 || b.rounds == 0 || len(e.Result.Inconclusive) > 0 {
		return
	}
	var same []string
	for k, r := range right {
		known := b.ids.Known[k]
		if _, ok := throttleOf(r); ok || r.Status >= 500 || b.erred(known, 0) || b.throttled(known, 0) {
			continue // nothing to learn from an answer that did not reach the logic
		}
		if len(a.differences(a.masked[known][0], a.maskedView(b, r))) > 0 {
			return
		}
		same = append(same, known)
	}
	if len(same) > 0 {
		slices.Sort(same)
		e.Inconclusive("the sign-in endpoint answered the right password like a wrong one (%s, %d %s both): the identifier or password seems not to reach the app; check the password's field name, the before steps and the password itself in the target file",
			strings.Join(same, ", "), b.resp[same[0]][0].Status, http.StatusText(b.resp[same[0]][0].Status))
	}
}

package scan

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Defaults of a Scanner's zero fields.
const (
	DefaultProbes       = 6
	DefaultMatrixProbes = 2
	DefaultMaxWait      = 10 * time.Second
)

// Scanner scans targets. The zero value works. A Scanner runs one scan at
// a time.
type Scanner struct {
	// Client sends the probes; nil means a client with a 30-second
	// timeout. Each probe uses a copy with its own cookie jar that does
	// not follow redirects.
	Client *http.Client
	// Probes is how many rounds each endpoint gets; each round probes
	// every identifier once. Default DefaultProbes.
	Probes int
	// MatrixProbes is how many rounds each input class of the
	// registration matrix gets. Default DefaultMatrixProbes.
	MatrixProbes int
	// Rand orders the probes and makes the unknown identifiers; nil
	// means one seeded from crypto/rand. Tests set a seeded one.
	Rand *rand.Rand
	// Progress, if set, is called after every probe with the number
	// done and the number planned.
	Progress func(done, total int)
	// Checks run after the channel comparison, in order, on every
	// endpoint: analyses with probes of their own (timing, lockout, rate
	// limits).
	Checks []Check
	// AllowStateChanges lets checks send requests meant to change the
	// target's state: StateCheck's repeated failed sign-ins (which may
	// lock the known accounts) and repeated reset, resend and sign-up
	// requests (which send mail). Off by default.
	AllowStateChanges bool
	// MaxWait is the longest Retry-After the scan waits out before
	// sending a throttled probe again, once per probe and for at most
	// three times MaxWait in all on one endpoint; default
	// DefaultMaxWait. A target
	// that asks for longer waits gets throttled probes, and the endpoints
	// they leave without enough comparable rounds are inconclusive, with
	// the time a paced scan would take.
	MaxWait time.Duration
	// Log, if set, is told what the scan waits for and how long that
	// will take (pacing by Retry-After), one line at a time.
	Log func(line string)

	password string
	// sentByKind counts, per endpoint kind, the requests each known
	// identifier has been sent so far in this scan: a throttle counted
	// per address may span endpoints of one kind (an API and a form).
	sentByKind map[Kind]int
	// noPace turns pacing off, for checks that measure throttling.
	noPace      bool
	done, total int
	// pacing is what Probe has waited on the endpoint being scanned;
	// nil outside Scan.
	pacing *pacing
	// seen collects what names the target's framework (framework.go).
	seen *observations
	// drawn are the unknown identifiers drawn so far, lower-cased: none
	// is drawn twice.
	drawn map[string]bool
}

// Check is an analysis that sends its own probes. It must probe the known
// identifiers and their partners equally often, in the same pattern, so
// that what it compares differs only in the identifier.
type Check interface {
	// Planned is how many probes Run sends to ep, for the progress bar.
	Planned(t *Target, ep *Endpoint, ids Identities) int
	// Run probes ep with s.Probe and returns its findings (see
	// NewFinding). e is the endpoint's scan so far: its result, to which
	// Run adds what it measured, the findings before it, and the requests
	// each identifier has been sent; Run adds those it sends.
	Run(ctx context.Context, s *Scanner, t *Target, ep *Endpoint, ids Identities, e *EndpointScan) ([]Finding, error)
}

func (s *Scanner) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (s *Scanner) rand() *rand.Rand {
	if s.Rand == nil {
		var seed [16]byte
		_, _ = crand.Read(seed[:]) // never fails (crypto/rand panics instead)
		s.Rand = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	}
	return s.Rand
}

func (s *Scanner) probes() int {
	if s.Probes > 0 {
		return s.Probes
	}
	return DefaultProbes
}

func (s *Scanner) matrixProbes() int {
	if s.MatrixProbes > 0 {
		return s.MatrixProbes
	}
	return DefaultMatrixProbes
}

// Input returns the input of a plain probe of identifier: the scan's
// strong password, which no account has.
func (s *Scanner) Input(identifier string) Input {
	if s.password == "" {
		s.password = s.strongPassword()
	}
	return Input{Identifier: identifier, Password: s.password}
}

// Scan probes every endpoint of t and returns the report. Endpoints that
// could not be scanned are listed in the report with their error, and
// Scan returns those errors joined; the report is still complete for the
// other endpoints.
func (s *Scanner) Scan(ctx context.Context, t *Target) (*Report, error) {
	start := time.Now()
	s.password = s.strongPassword()
	s.seen = newObservations()
	s.sentByKind = map[Kind]int{}
	ids := s.identities(t)
	s.done, s.total = 0, s.plan(t, ids)
	rep := &Report{Target: t.BaseURL.String(), Started: start, Findings: []Finding{}}
	right, rightErr := s.passwordProbes(ctx, t, ids)
	var errs []error
	for _, ep := range t.Endpoints {
		res := EndpointResult{Name: ep.Name, Kind: ep.Kind, Method: ep.Method, Path: ep.Path}
		before := s.done
		e := &EndpointScan{Result: &res, right: right[ep], rightErr: rightErr[ep]}
		s.pacing = &pacing{}
		epIDs := ids
		if createsState(ep.Kind) {
			// Identifiers this endpoint may register are used
			// nowhere else: a later endpoint would take them for
			// unknown.
			epIDs = s.identities(t)
		}
		fs, err := s.scanEndpoint(ctx, t, ep, epIDs, e)
		e.Requests = s.probes() + len(matrixClasses(t, ep))*s.matrixProbes() + passkeyRequests(ep)
		for _, c := range s.Checks {
			if err != nil {
				break
			}
			e.Findings = fs
			var more []Finding
			more, err = c.Run(ctx, s, t, ep, epIDs, e)
			fs = append(fs, more...)
		}
		s.pacing = nil
		res.Probes = s.done - before
		s.sentByKind[ep.Kind] += res.Probes / max(len(epIDs.all()), 1)
		switch {
		case err != nil && ctx.Err() != nil:
			interrupted(&res, err)
		case err != nil:
			res.Error = err.Error()
			errs = append(errs, fmt.Errorf("endpoint %s: %w", ep.Name, err))
		}
		setVerdict(&res, len(fs))
		rep.Endpoints = append(rep.Endpoints, res)
		rep.Findings = append(rep.Findings, fs...)
		if ctx.Err() != nil {
			break
		}
	}
	if err := finishPartial(ctx, t, rep); err != nil {
		errs = append(errs, err)
	}
	rep.Requests = s.done
	rep.Duration = time.Since(start)
	rep.advise(DetectFramework(s.seen.signals(t)))
	rep.sortFindings()
	return rep, errors.Join(errs...)
}

// plan counts the probes a scan will send.
func (s *Scanner) plan(t *Target, ids Identities) int {
	n := 0
	per := len(ids.all())
	for _, ep := range t.Endpoints {
		n += s.probes() * per
		n += len(matrixClasses(t, ep)) * s.matrixProbes() * per
		if createsState(ep.Kind) {
			n += len(ids.Known) // the second request of the first unknown identifiers
		}
		n += passkeyPlanned(ep, ids)
		if passwordControlled(t, ep, ids) {
			n += len(t.Passwords) // the password control's right passwords
		}
		for _, c := range s.Checks {
			n += c.Planned(t, ep, ids)
		}
	}
	return n
}

// tick counts one probe.
func (s *Scanner) tick() {
	s.done++
	if s.Progress != nil {
		s.Progress(s.done, max(s.total, s.done))
	}
}

// scanEndpoint probes ep with plain input, then runs the registration
// matrix if ep is a sign-up endpoint. One masker serves all of the
// endpoint's batches, so what the plain probes learned varies by itself
// (a load balancer's node name in a header) is known to the matrix's
// shorter batches too.
func (s *Scanner) scanEndpoint(ctx context.Context, t *Target, ep *Endpoint, ids Identities, e *EndpointScan) ([]Finding, error) {
	m, res := newMasker(), e.Result
	right, err := e.right, e.rightErr
	if err != nil {
		return nil, err
	}
	b, err := s.runBatch(ctx, t, ep, ids, s.probes(), s.Input)
	if err != nil {
		return nil, err
	}
	a := b.analyse(m)
	res.Unstable = unstableNames(a.unstable)
	res.Notes = notes(b, right)
	s.setAsideErrors(e, b, &a)
	if err := s.setAsideHistory(ctx, e, t, ep, b, &a); err != nil {
		return nil, err
	}
	s.dropSingleRounds(e, b, &a)
	fs := onsetFindings(ep, b, &a, 0)
	fs = append(fs, channelFindings(ep, b, a)...)
	if b.fresh {
		f, ok, err := s.secondRequest(ctx, e, t, ep, b, a)
		if err != nil {
			return nil, err
		}
		if ok {
			fs = append(fs, f)
		}
	}
	if f, ok, err := s.registerMatrix(ctx, t, ep, ids, m, res); err != nil {
		return nil, err
	} else if ok {
		fs = append(fs, f)
	}
	if ep.Kind == KindWebAuthnOptions {
		// The passkey analysis is this kind's positive control too:
		// an options endpoint may rightly ignore the identifier
		// (discoverable credentials only), and one that reads it shows
		// so in the ids it derives.
		more, err := s.passkeyAnalysis(ctx, e, t, ep, ids, b, len(fs) > 0)
		if err != nil {
			return nil, err
		}
		return append(fs, more...), nil
	}
	if len(fs) == 0 {
		if err := s.positiveControl(ctx, e, t, ep, b, a); err != nil {
			return nil, err
		}
		s.passwordControl(e, ep, b, a, right)
	}
	return fs, nil
}

// singleRoundMin is the least number of rounds in which a difference
// seen in one round only is set aside rather than reported.
const singleRoundMin = 4

// dropSingleRounds takes out of a the differences of every known
// identifier that differs from its partner in exactly one round of a
// batch of at least singleRoundMin rounds, and makes the endpoint
// inconclusive for each: neither a leak nor clean.
// A leak that shows only once in that many rounds is weak evidence, and
// it is exactly what a target's time-window throttle makes of a clean
// endpoint: when a wait runs out in the middle of a round, the identifiers
// asked before that moment are throttled and those after it are not. The
// control pair shows it only when the moment falls between its two
// requests; the known identifier and its partner, as often, and that
// would be a false alarm. A real leak shows again in a longer run.
func (s *Scanner) dropSingleRounds(e *EndpointScan, b *batch, a *analysis) {
	if b.rounds < singleRoundMin {
		return
	}
	rounds := map[int]map[int]bool{}
	for _, d := range a.diffs {
		if rounds[d.known] == nil {
			rounds[d.known] = map[int]bool{}
		}
		rounds[d.known][d.round] = true
	}
	single := map[int]bool{}
	for k, rs := range rounds {
		single[k] = len(rs) == 1
	}
	var kept []pairDiff
	channels := map[int][]string{}
	round := map[int]int{}
	for _, d := range a.diffs {
		if !single[d.known] {
			kept = append(kept, d)
			continue
		}
		round[d.known] = d.round
		if !slices.Contains(channels[d.known], d.channel) {
			channels[d.known] = append(channels[d.known], d.channel)
		}
	}
	a.diffs = kept
	for k := range b.ids.Known {
		if single[k] {
			e.Inconclusive("%s differed from an unknown identifier in one round of %d only (round %d: %s); not reported, since a throttle whose wait runs out mid-round looks the same: re-run with more --probes to confirm",
				b.ids.Known[k], b.rounds, round[k]+1, strings.Join(channels[k], ", "))
		}
	}
}

// channelFindings turns the differences of a batch into one finding per
// channel rule, with the first differing pair as evidence.
func channelFindings(ep *Endpoint, b *batch, a analysis) []Finding {
	var order []string
	byRule := map[string][]pairDiff{}
	for _, d := range a.diffs {
		if _, seen := byRule[d.rule]; !seen {
			order = append(order, d.rule)
		}
		byRule[d.rule] = append(byRule[d.rule], d)
	}
	var out []Finding
	for _, rule := range order {
		ev := evidence(b, byRule[rule], a.pairs)
		out = append(out, NewFinding(findingRule(ep.Kind, rule), ep, channelMessage(ep, ev), ev))
	}
	return out
}

// findingRule is the rule of a channel difference on an endpoint of kind
// k. On a password reset endpoint every channel is USER_ENUM_PASSWORD_RESET:
// the fix is the same whatever the channel (one answer for every address),
// and that is the name under which the leak is known. The evidence still
// names the channel.
func findingRule(k Kind, channelRule string) string {
	switch k {
	case KindReset:
		return RulePasswordReset
	case KindRegister:
		return RuleRegister
	case KindWebAuthnOptions:
		return RulePasskey
	}
	return channelRule
}

// channelMessage says what differed, where, and how often.
func channelMessage(ep *Endpoint, ev Evidence) string {
	verb := "differs"
	if strings.HasSuffix(ev.Channel, "s") {
		verb = "differ"
	}
	where := fmt.Sprintf("On the %s endpoint %s (%s %s), the %s %s between a known and an unknown identifier", ep.Kind.Describe(), ep.Name, ep.Method, ep.Path, ev.Channel, verb)
	if ev.Known.Observed == "" && ev.Unknown.Observed == "" {
		return fmt.Sprintf("%s (%d of %d pairs).", where, ev.Differing, ev.Pairs)
	}
	return fmt.Sprintf("%s: %s for the known one, %s for the unknown one (%d of %d pairs).",
		where, quoteShort(ev.Known.Observed), quoteShort(ev.Unknown.Observed), ev.Differing, ev.Pairs)
}

// evidence builds the evidence of one rule from its differences: the first
// differing pair's requests, every channel of that rule that differed in
// that pair, and how many pairs differed.
func evidence(b *batch, ds []pairDiff, pairs int) Evidence {
	first := ds[0]
	k, p := b.ids.Known[first.known], b.ids.Partner[first.known]
	kr, pr := b.resp[k][first.round], b.resp[p][first.round]
	ev := Evidence{Channel: first.channel, Known: SampleOf(kr, ""), Unknown: SampleOf(pr, ""), Pairs: pairs}
	var ka, pa []string
	differing := map[[2]int]bool{}
	for _, d := range ds {
		differing[[2]int{d.known, d.round}] = true
		if d.known != first.known || d.round != first.round {
			continue
		}
		if d.a != "" || d.b != "" {
			ka, pa = append(ka, d.a), append(pa, d.b)
		}
		if ev.Diff == "" {
			ev.Diff = d.diff
		}
	}
	ev.Known.Observed, ev.Unknown.Observed = strings.Join(ka, "\n"), strings.Join(pa, "\n")
	ev.Differing = len(differing)
	return ev
}

// NewFinding makes a finding of rule on ep, with the rule's severity.
func NewFinding(rule string, ep *Endpoint, message string, ev Evidence) Finding {
	r, _ := RuleByID(rule)
	return Finding{Rule: rule, Severity: r.Severity, Endpoint: ep.Name, Kind: ep.Kind, Method: ep.Method, Path: ep.Path, Message: message, Evidence: ev}
}

// SampleOf makes one side of the evidence from a probe's answer.
func SampleOf(r *Response, observed string) Sample {
	return withAnswer(Sample{Identifier: r.Input.Identifier, Request: r.Request, Status: r.Status, Observed: observed}, r)
}

func quoteShort(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	if len(s) > 120 {
		s = s[:117] + "…"
	}
	return s
}

// notes are hints when an endpoint's answers suggest a mistake in the
// target file rather than a uniform endpoint. right, the answers to the
// known accounts' right passwords, count too: a sign-in that refuses
// every wrong password with 403 (DokuWiki) but lets the right one in
// shows that the requests reach its account logic.
func notes(b *batch, right map[int]*Response) []string {
	counts := map[int]int{}
	total := 0
	for _, rs := range b.resp {
		for _, r := range rs {
			counts[r.Status]++
			total++
		}
	}
	for _, r := range right {
		if r != nil {
			counts[r.Status]++
			total++
		}
	}
	var out []string
	// 400 and 401 are what many sign-in endpoints answer to a wrong
	// password; these three rather mean the request never reached the
	// account logic.
	for _, st := range []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusForbidden} {
		if counts[st] == total {
			out = append(out, fmt.Sprintf("every answer was %d %s: check the path, method, body and before steps (a CSRF token?)", st, http.StatusText(st)))
		}
	}
	return out
}

package scan

import (
	"context"
	"slices"
	"strings"
)

// batch is the probes of one endpoint with one kind of input: the same
// number of rounds for every identifier of the scan, each round in a fresh
// random order. Because each identifier is used once per round, the
// known identifier and its partner have been used equally often before
// every comparison, so per-identifier throttling shows on both alike.
type batch struct {
	ids    Identities
	rounds int
	resp   map[string][]*Response // identifier → answer per round
	order  []probeRef             // the probes in the order they were sent
	// fresh says the unknown identifiers were new in every round.
	fresh bool
	kind  Kind
	// history maps a known identifier's index to the first round that
	// its own history explains (setAsideHistory).
	history map[int]int
	// classes, in a timing measurement, sorts the answers into classes;
	// only pairs of answers in their starting classes are compared.
	classes *answerClasses
	// pathControl, in a timing measurement, pairs every unknown
	// identifier with the next as the control, not only the control
	// pair (beforeLock).
	pathControl bool
}

// erred reports whether id's answer in round r was a server error: it
// says nothing about the identifier, only that the request failed.
func (b *batch) erred(id string, r int) bool {
	return b.resp[id][r].Status >= 500
}

type probeRef struct {
	id    string
	round int
}

// runBatch probes ep for rounds rounds. On an endpoint that can create
// state keyed by the identifier (createsState: a sign-up, an email
// change), every probe of an unknown identifier sends one never sent
// before: an earlier round's would have been registered by it and answer
// like the known one from then on, hiding the very leak the scan looks
// for. The batch still keys answers by the identities' unknown
// identifiers, as roles (partner of the known identifier i, control 1
// and 2); each answer's Input says what was sent.
func (s *Scanner) runBatch(ctx context.Context, t *Target, ep *Endpoint, ids Identities, rounds int, input func(id string) Input) (*batch, error) {
	return s.runRounds(ctx, t, ep, ids, rounds, input, createsState(ep.Kind))
}

// runRepeated probes ep for rounds rounds with the same identifiers every
// round, whatever its kind, and without waiting out throttled answers:
// for checks that look for what repetition changes, throttling first.
func (s *Scanner) runRepeated(ctx context.Context, t *Target, ep *Endpoint, ids Identities, rounds int, input func(id string) Input) (*batch, error) {
	s.noPace = true
	defer func() { s.noPace = false }()
	return s.runRounds(ctx, t, ep, ids, rounds, input, false)
}

func (s *Scanner) runRounds(ctx context.Context, t *Target, ep *Endpoint, ids Identities, rounds int, input func(id string) Input, fresh bool) (*batch, error) {
	b := &batch{ids: ids, rounds: rounds, resp: map[string][]*Response{}, fresh: fresh, kind: ep.Kind}
	all := ids.all()
	model := map[string]string{ids.Control[0]: t.Known[0], ids.Control[1]: t.Known[0]}
	for i, p := range ids.Partner {
		model[p] = ids.Known[i]
	}
	for round := range rounds {
		order := slices.Clone(all)
		s.rand().Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, id := range order {
			send := id
			if k, unknown := model[id]; unknown && fresh {
				send = s.unknownLike(k)
			}
			r, err := s.Probe(ctx, t, ep, input(send))
			if err != nil {
				return nil, err
			}
			b.resp[id] = append(b.resp[id], r)
			b.order = append(b.order, probeRef{id: id, round: round})
		}
	}
	return b, nil
}

// pairDiff is a channel on which a known identifier's answer differed from
// its partner's in one round.
type pairDiff struct {
	known, round int
	channelDiff
}

// analysis is what a batch showed.
type analysis struct {
	diffs []pairDiff
	// unstable are channel keys on which two unknown identifiers still
	// differed after masking; they are not compared.
	unstable map[string]bool
	pairs    int // known/unknown pairs compared
	// masked are the batch's views after masking, by identifier and
	// round; m the masker that masked them.
	masked map[string][]view
	m      *masker
}

// analyse compares each known identifier's answers with its partner's,
// after masking what m has learned varies by itself. It first teaches m
// from the answers that should be equal: every unknown identifier is in
// the same state (no account), so any two of their answers in one round
// differ only by what varies by itself; and dates and counters that tick
// between two probes show in answers consecutive in time.
func (b *batch) analyse(m *masker) analysis {
	views := b.views()
	unknown := b.ids.unknown()
	for r := range b.rounds {
		forRing(unknown, func(u, w string) {
			if !b.erred(u, r) && !b.erred(w, r) {
				m.learnViews(views[u][r], views[w][r], false)
			}
		})
	}
	// Across rounds, only generated values (dates, counters, ids) are
	// learned: words may differ there for a reason, such as a sign-up
	// that was new in the first round and pending after.
	var prev *probeRef
	for i, ref := range b.order {
		if !slices.Contains(unknown, ref.id) {
			continue
		}
		if prev != nil {
			m.learnViews(views[prev.id][prev.round], views[ref.id][ref.round], true)
		}
		prev = &b.order[i]
	}
	for _, id := range b.ids.Known {
		for r := 0; r+1 < b.rounds; r++ {
			m.learnViews(views[id][r], views[id][r+1], true)
		}
	}
	masked := map[string][]view{}
	for id, vs := range views {
		for _, v := range vs {
			masked[id] = append(masked[id], m.applyView(v))
		}
	}

	a := analysis{unstable: map[string]bool{}, masked: masked, m: m}
	for r := range b.rounds {
		forRing(unknown, func(u, w string) {
			if b.erred(u, r) != b.erred(w, r) {
				return // a failed request, set aside by setAsideErrors
			}
			for _, d := range compareViews(masked[u][r], masked[w][r]) {
				a.unstable[d.key] = true
			}
		})
	}
	for i, k := range b.ids.Known {
		p := b.ids.Partner[i]
		for r := range b.rounds {
			a.pairs++
			for _, d := range compareViews(masked[k][r], masked[p][r]) {
				if !a.unstable[d.key] {
					a.diffs = append(a.diffs, pairDiff{known: i, round: r, channelDiff: d})
				}
			}
		}
	}
	return a
}

// forRing calls f with each item and the next, the last with the first:
// every item is compared, in linear work.
func forRing(items []string, f func(a, b string)) {
	if len(items) < 2 {
		return
	}
	for i := range items {
		if j := (i + 1) % len(items); len(items) > 2 || i == 0 {
			f(items[i], items[j])
		}
	}
}

// views reduces every answer, with every identifier and random value the
// batch sent replaced by its placeholder.
func (b *batch) views() map[string][]view {
	ids := b.ids.all()
	var randoms []string
	for _, rs := range b.resp {
		for _, r := range rs {
			ids = append(ids, r.Input.Identifier)
			randoms = append(randoms, r.Input.Random)
		}
	}
	refl := newReflector(ids, randoms)
	out := map[string][]view{}
	for id, rs := range b.resp {
		for _, r := range rs {
			out[id] = append(out[id], newView(b.kind, r, refl.replace))
		}
	}
	return out
}

func (m *masker) learnViews(x, y view, generatedOnly bool) {
	for key, tx := range x.text {
		if ty, ok := y.text[key]; ok && tx != ty {
			m.learn(key, tx, ty, generatedOnly)
		}
	}
}

func (m *masker) applyView(v view) view {
	out := view{status: v.status, afterStatus: v.afterStatus, text: make(map[string]string, len(v.text))}
	for k, t := range v.text {
		out.text[k] = m.apply(k, t)
	}
	return out
}

// unstableNames lists unstable channel keys as a reader names them.
func unstableNames(keys map[string]bool) []string {
	var out []string
	for k := range keys {
		switch {
		case k == "status":
			out = append(out, "status code")
		case k == "location":
			out = append(out, "redirect target")
		case k == "after:status":
			out = append(out, channelAfter+": status code")
		case k == "after:url":
			out = append(out, channelAfter+": address")
		case k == "after:body":
			out = append(out, channelAfter)
		case strings.HasPrefix(k, "header:"):
			out = append(out, "header "+strings.TrimPrefix(k, "header:"))
		case strings.HasPrefix(k, "cookie:"):
			out = append(out, "cookie "+strings.TrimPrefix(k, "cookie:"))
		default:
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

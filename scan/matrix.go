package scan

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// The registration matrix (docs/DESIGN.md §2, "Sign-up, full form"): a sign-up
// form must run every validation before, and independent of, looking up the
// address, so the same invalid input gets the same errors for any address.
// Each input class below is sent for the known identifiers and their
// partners alike; any difference is USER_ENUM_REGISTER.

// A missing address is not a class: without the identifier, the known and
// unknown requests would be the same request.

// inputClass is one kind of invalid sign-up input.
type inputClass struct {
	name string
	// needs says what the endpoint must send for the class to apply:
	// "password" ({{password}} once), "confirm" (twice: password and
	// confirmation) or "email" (an address as identifier).
	needs string
	input func(s *Scanner, in Input) Input
}

var inputClasses = []inputClass{
	{name: "missing password", needs: "password", input: func(_ *Scanner, in Input) Input {
		in.Password = ""
		return in
	}},
	{name: "malformed email", needs: "email", input: func(_ *Scanner, in Input) Input {
		// Doubling the @ makes any address invalid in the same way,
		// whoever owns it.
		in.Identifier = strings.Replace(in.Identifier, "@", "@@", 1)
		return in
	}},
	{name: "too short password", needs: "password", input: func(_ *Scanner, in Input) Input {
		in.Password = "Xy7!"
		return in
	}},
	{name: "password missing character classes", needs: "password", input: func(_ *Scanner, in Input) Input {
		// Long, lower-case letters only, and not a dictionary word.
		in.Password = "qzvkwtrplmxbhgnd"
		return in
	}},
	{name: "mismatched confirmation", needs: "confirm", input: func(s *Scanner, in Input) Input {
		other := in.Password + "-different"
		in.Confirm = &other
		return in
	}},
	{name: "common password", needs: "password", input: func(_ *Scanner, in Input) Input {
		in.Password = "password1"
		return in
	}},
}

// matrixClasses returns the input classes that apply to ep: none unless it
// is a sign-up endpoint.
func matrixClasses(t *Target, ep *Endpoint) []inputClass {
	if ep.Kind != KindRegister {
		return nil
	}
	passwords := 0
	ep.templates(func(_, s string) {
		for _, name := range placeholders(s) {
			if name == VarPassword {
				passwords++
			}
		}
	})
	email := strings.Contains(t.Known[0], "@")
	var out []inputClass
	for _, c := range inputClasses {
		switch {
		case c.needs == "password" && passwords >= 1,
			c.needs == "confirm" && passwords >= 2,
			c.needs == "email" && email:
			out = append(out, c)
		}
	}
	return out
}

// registerMatrix runs every input class on a sign-up endpoint and returns
// one USER_ENUM_REGISTER finding for all classes that differ.
func (s *Scanner) registerMatrix(ctx context.Context, t *Target, ep *Endpoint, ids Identities, m *masker, res *EndpointResult) (Finding, bool, error) {
	var first *Evidence
	var parts []string
	for _, c := range matrixClasses(t, ep) {
		b, err := s.runBatch(ctx, t, ep, ids, s.matrixProbes(), func(id string) Input { return c.input(s, s.Input(id)) })
		if err != nil {
			return Finding{}, false, fmt.Errorf("sign-up input %q: %w", c.name, err)
		}
		a := b.analyse(m)
		if b.fresh {
			// The known identifier's count of sign-ups grows while
			// every unknown one is new: a throttle on the known side
			// only is its history (setAsideHistory), not its account.
			n := len(a.diffs)
			a.diffs = slices.DeleteFunc(a.diffs, func(d pairDiff) bool {
				k := b.ids.Known[d.known]
				return b.throttled(k, d.round) && !b.throttled(b.ids.Partner[d.known], d.round)
			})
			if n > len(a.diffs) {
				res.Notes = appendNew(res.Notes, fmt.Sprintf("sign-up input %q: the known identifier was throttled and the new unknown ones were not; those pairs were not compared", c.name))
			}
		}
		for _, u := range unstableNames(a.unstable) {
			res.Unstable = appendNew(res.Unstable, c.name+": "+u)
		}
		if len(a.diffs) == 0 {
			continue
		}
		ev := evidence(b, a.diffs, a.pairs)
		ev.Input = c.name
		var chans []string
		for _, d := range a.diffs {
			if d.known == a.diffs[0].known && d.round == a.diffs[0].round {
				chans = appendNew(chans, d.channel)
			}
		}
		ev.Channel = strings.Join(chans, ", ")
		if first == nil {
			first = &ev
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", c.name, ev.Channel))
	}
	if first == nil {
		return Finding{}, false, nil
	}
	msg := fmt.Sprintf("On the sign-up endpoint %s (%s %s), invalid input is answered differently for a known identifier than for an unknown one: %s. Validation must not depend on whether the address has an account.",
		ep.Name, ep.Method, ep.Path, strings.Join(parts, "; "))
	return NewFinding(RuleRegister, ep, msg, *first), true, nil
}

func appendNew(list []string, s string) []string {
	for _, have := range list {
		if have == s {
			return list
		}
	}
	return append(list, s)
}

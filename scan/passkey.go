package scan

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The passkey analysis (endpoints of kind webauthn_options).
//
// A passkey sign-in that asks for an identifier first answers with
// WebAuthn request options whose allowCredentials lists the account's
// credential ids. A server that lists real ids for a real account has to
// list something for an unknown identifier too, and how it does so is
// where it leaks (WebAuthn Level 3, §14.6.2 and §14.6.3; web-auth
// webauthn-framework#215): an empty or missing list, ids of another
// length, random ids that change on every request where real ones stay,
// or one fixed list for every unknown identifier. Such ids differ from
// answer to answer on a clean server as well, so the channel comparison
// leaves allowCredentials out of the body (newView) and this analysis
// compares it by what an attacker can tell apart:
//
//	allowCredentials count   how many ids (or none, or no list at all)
//	credential id length     the ids' decoded lengths
//	credential id stability  whether one identifier's ids stay the same across requests
//	credential id constancy  whether every unknown identifier gets the same ids
//	credential descriptor    what is listed beside each id: type, transports
//
// A property is a leak when every unknown identifier's answers agree on it
// and no known identifier's answer does: the unknown side is one value the
// known side never takes. Unknown identifiers that vary among themselves
// (ids derived from an HMAC of the identifier, one or two of them, of the
// lengths real ids have) can never be told from a real account this way,
// and no finding is made. Besides the channel comparison's partners and
// controls, the analysis asks passkeySpread more unknown identifiers twice
// each (and every identifier of the scan as often, so that the known ones
// and their partners keep the same history for the checks that follow),
// so that "every unknown identifier agrees" rests on a dozen identifiers,
// not three.
//
// An endpoint that takes no identifier (a sign-in with discoverable
// credentials only) is sent the same request every time: nothing can
// differ by address, but its answers must still be request options of one
// shape, with the same allowCredentials count, every time.
//
// Answers that are not request options (errors, throttling) are not
// compared; too few options to compare make the endpoint inconclusive,
// never clean.

// passkeySpread is how many extra unknown identifiers the analysis asks,
// and passkeyRepeats how often each of them and each known identifier.
const (
	passkeySpread  = 10
	passkeyRepeats = 2
)

// passkeyMinUnknown is the fewest unknown identifiers whose options must
// agree before a difference from the known ones is a finding.
const passkeyMinUnknown = 3

// passkeyPlanned is how many probes the passkey analysis sends to ep.
func passkeyPlanned(ep *Endpoint, ids Identities) int {
	return passkeyRequests(ep) * (len(ids.all()) + passkeySpread)
}

// passkeyRequests is how many requests the passkey analysis sends each
// identifier of the scan on ep.
func passkeyRequests(ep *Endpoint) int {
	if ep.Kind != KindWebAuthnOptions || !ep.usesIdentifier() {
		return 0
	}
	return passkeyRepeats
}

// requestOptions is what the analysis reads from an answer.
type requestOptions struct {
	// listed says the options have an allowCredentials member at all.
	listed bool
	ids    []string // sorted
	// lengths are the ids' decoded lengths (their text's length when
	// they are no base64url), sorted.
	lengths []int
	// keys are the options' member names but allowCredentials, sorted.
	keys []string
	// descriptors are the distinct credential descriptors without their
	// ids (type, transports, …), as canonical JSON, sorted.
	descriptors []string
}

// parseRequestOptions reads WebAuthn request options from a body: a JSON
// object with a challenge, or one under "publicKey".
func parseRequestOptions(body []byte) (requestOptions, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return requestOptions{}, false
	}
	obj := top
	if pk, ok := top["publicKey"]; ok {
		var inner map[string]json.RawMessage
		if json.Unmarshal(pk, &inner) != nil {
			return requestOptions{}, false
		}
		obj = inner
	}
	var challenge string
	if json.Unmarshal(obj["challenge"], &challenge) != nil || challenge == "" {
		return requestOptions{}, false
	}
	var o requestOptions
	for k := range obj {
		if k != "allowCredentials" {
			o.keys = append(o.keys, k)
		}
	}
	slices.Sort(o.keys)
	raw, ok := obj["allowCredentials"]
	if !ok || string(raw) == "null" {
		return o, true
	}
	var creds []map[string]any
	if json.Unmarshal(raw, &creds) != nil {
		return requestOptions{}, false
	}
	o.listed = true
	for _, c := range creds {
		id, ok := c["id"].(string)
		if !ok {
			b, _ := json.Marshal(c["id"]) // a byte array or anything else, as it came
			id = string(b)
		}
		o.ids = append(o.ids, id)
		o.lengths = append(o.lengths, idLength(id))
		delete(c, "id")
		d, _ := json.Marshal(c) // decoded JSON always encodes, keys sorted
		if !slices.Contains(o.descriptors, string(d)) {
			o.descriptors = append(o.descriptors, string(d))
		}
	}
	slices.Sort(o.ids)
	slices.Sort(o.lengths)
	slices.Sort(o.descriptors)
	return o, true
}

// idLength is the length in bytes of a credential id as base64url (the
// JSON serialisation of WebAuthn Level 3), padded or not, or as standard
// base64; else its length as text.
func idLength(id string) int {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.DecodeString(id); err == nil {
			return len(b)
		}
	}
	return len(id)
}

// count describes the list's size for reports and comparison.
func (o requestOptions) count() string {
	switch {
	case !o.listed:
		return "no allowCredentials"
	case len(o.ids) == 0:
		return "an empty allowCredentials"
	case len(o.ids) == 1:
		return "1 credential id"
	}
	return strconv.Itoa(len(o.ids)) + " credential ids"
}

func (o requestOptions) lengthText() string {
	var s []string
	for _, l := range slices.Compact(slices.Clone(o.lengths)) {
		s = append(s, strconv.Itoa(l))
	}
	return strings.Join(s, ", ") + " bytes"
}

func (o requestOptions) idText() string {
	if len(o.ids) == 0 {
		return "none"
	}
	var s []string
	for _, id := range o.ids {
		if len(id) > 40 {
			id = id[:37] + "…"
		}
		s = append(s, strconv.Quote(id))
	}
	return strings.Join(s, ", ")
}

// passkeyAnswer is one answer the analysis looked at.
type passkeyAnswer struct {
	r    *Response
	opts requestOptions
	ok   bool // the answer was request options
}

// passkeySide is the answers of one side (known or unknown), by
// identifier in the order first seen.
type passkeySide struct {
	order []string
	by    map[string][]passkeyAnswer
}

func (p *passkeySide) add(id string, r *Response) {
	if p.by == nil {
		p.by = map[string][]passkeyAnswer{}
	}
	if _, seen := p.by[id]; !seen {
		p.order = append(p.order, id)
	}
	o, ok := parseRequestOptions(r.Body)
	p.by[id] = append(p.by[id], passkeyAnswer{r: r, opts: o, ok: ok && r.Status < 400})
}

// options returns the answers that were request options.
func (p *passkeySide) options() []passkeyAnswer {
	var out []passkeyAnswer
	for _, id := range p.order {
		for _, a := range p.by[id] {
			if a.ok {
				out = append(out, a)
			}
		}
	}
	return out
}

// identifiers returns how many identifiers had request options.
func (p *passkeySide) identifiers() int {
	n := 0
	for _, id := range p.order {
		if slices.ContainsFunc(p.by[id], func(a passkeyAnswer) bool { return a.ok }) {
			n++
		}
	}
	return n
}

// othersText lists the statuses of the sides' answers that were not
// request options, with how many: "429 Too Many Requests (32)".
func othersText(sides ...*passkeySide) string {
	counts := map[int]int{}
	var order []int
	for _, p := range sides {
		for _, id := range p.order {
			for _, a := range p.by[id] {
				if a.ok {
					continue
				}
				if counts[a.r.Status] == 0 {
					order = append(order, a.r.Status)
				}
				counts[a.r.Status]++
			}
		}
	}
	var out []string
	for _, st := range order {
		out = append(out, fmt.Sprintf("%d %s (%d)", st, http.StatusText(st), counts[st]))
	}
	return strings.Join(out, ", ")
}

// passkeyAnalysis judges the allowCredentials of a webauthn_options
// endpoint: the channel comparison's answers b, and passkeySpread more
// unknown identifiers. found says the channel comparison found a leak
// already: then a lack of options to compare is no reason to call the
// endpoint inconclusive.
func (s *Scanner) passkeyAnalysis(ctx context.Context, e *EndpointScan, t *Target, ep *Endpoint, ids Identities, b *batch, found bool) ([]Finding, error) {
	var known, unknown passkeySide
	for _, k := range ids.Known {
		for _, r := range b.resp[k] {
			known.add(k, r)
		}
	}
	for _, u := range ids.unknown() {
		for _, r := range b.resp[u] {
			unknown.add(u, r)
		}
	}
	if !ep.usesIdentifier() {
		var all passkeySide
		for _, id := range ids.all() {
			for _, r := range b.resp[id] {
				all.add(id, r)
			}
		}
		passkeySameShape(e, ep, &all)
		return nil, nil
	}
	if err := s.passkeySpreadProbes(ctx, t, ep, ids, &known, &unknown); err != nil {
		return nil, err
	}
	ko, uo := known.options(), unknown.options()
	if len(ko) == 0 || unknown.identifiers() < passkeyMinUnknown {
		if !found {
			e.Inconclusive("the passkey options endpoint answered %d of %d known and %d of %d unknown probes with request options (the others: %s); allowCredentials not compared",
				len(ko), len(ko)+countOthers(&known), len(uo), len(uo)+countOthers(&unknown), othersText(&known, &unknown))
		}
		return nil, nil
	}
	if n := countOthers(&known) + countOthers(&unknown); n > 0 && !found {
		e.Inconclusive("the passkey options endpoint answered %d probes with something else than request options (%s); allowCredentials compared on the others only", n, othersText(&known, &unknown))
	}
	var fs []Finding
	pairs := len(ko)
	finding := func(channel, message string, k, u passkeyAnswer, kObs, uObs string) {
		ev := Evidence{Channel: channel, Known: SampleOf(k.r, kObs), Unknown: SampleOf(u.r, uObs), Pairs: pairs, Differing: pairs}
		where := fmt.Sprintf("On the passkey options endpoint %s (%s %s), ", ep.Name, ep.Method, ep.Path)
		fs = append(fs, NewFinding(RulePasskey, ep, where+message, ev))
	}

	// The answer's shape: status and option names. The channel
	// comparison judged the partners; the spread is judged here when it
	// found nothing.
	if !found {
		if k, u, ok := sideSplit(ko, uo, func(a passkeyAnswer) string {
			return strconv.Itoa(a.r.Status) + " " + strings.Join(a.opts.keys, ",")
		}); ok {
			finding("options shape", fmt.Sprintf("the request options of a known identifier have other members or status (%d: %s) than those of every unknown identifier (%d: %s).",
				k.r.Status, strings.Join(k.opts.keys, ", "), u.r.Status, strings.Join(u.opts.keys, ", ")),
				k, u, strings.Join(k.opts.keys, ", "), strings.Join(u.opts.keys, ", "))
		}
	}
	// (a) presence and count.
	if k, u, ok := sideSplit(ko, uo, func(a passkeyAnswer) string { return a.opts.count() }); ok {
		finding("allowCredentials count", fmt.Sprintf("allowCredentials tells whether an account exists: %s for a known identifier, %s for every one of %d unknown identifiers.",
			k.opts.count(), u.opts.count(), unknown.identifiers()), k, u, k.opts.count(), u.opts.count())
	}
	// (b) id lengths.
	withIDs := func(as []passkeyAnswer) []passkeyAnswer {
		return slices.DeleteFunc(slices.Clone(as), func(a passkeyAnswer) bool { return len(a.opts.ids) == 0 })
	}
	if k, u, ok := lengthSplit(withIDs(ko), withIDs(uo)); ok {
		finding("credential id length", fmt.Sprintf("the credential ids are %s long for a known identifier and %s for every one of the unknown identifiers: imaginary ids must be as long as real ones.",
			k.opts.lengthText(), u.opts.lengthText()), k, u, k.opts.lengthText(), u.opts.lengthText())
	}
	// The descriptors but for their ids: type, transports.
	descr := func(a passkeyAnswer) string { return strings.Join(a.opts.descriptors, ", ") }
	if k, u, ok := sideSplit(withIDs(ko), withIDs(uo), descr); ok && len(withIDs(uo)) >= passkeyMinUnknown {
		finding("credential descriptor", fmt.Sprintf("the credentials listed for a known identifier are described as %s, those of every unknown identifier as %s: imaginary credentials must look like real ones.",
			quoteShort(descr(k)), quoteShort(descr(u))), k, u, descr(k), descr(u))
	}
	// (c) stability across repeated requests for one identifier.
	stability := func(p *passkeySide) map[string]string {
		out := map[string]string{}
		for _, id := range p.order {
			var seen []string
			for _, a := range p.by[id] {
				if a.ok && len(a.opts.ids) > 0 {
					seen = append(seen, strings.Join(a.opts.ids, "\x00"))
				}
			}
			if len(seen) < 2 {
				continue
			}
			if len(slices.Compact(slices.Sorted(slices.Values(seen)))) == 1 {
				out[id] = "stable"
			} else {
				out[id] = "changing"
			}
		}
		return out
	}
	ks, us := stability(&known), stability(&unknown)
	if kv, uv, ok := agreeApart(ks, us); ok {
		k, u := firstWithIDs(&known, ks), firstWithIDs(&unknown, us)
		say := map[string]string{"stable": "the same ids on every request", "changing": "different ids on every request"}
		finding("credential id stability", fmt.Sprintf("a known identifier gets %s and each of %d unknown identifiers %s: imaginary ids must be derived from the identifier, not drawn anew.",
			say[kv], len(us), say[uv]), k, u, say[kv]+": "+k.opts.idText(), say[uv]+": "+u.opts.idText())
	}
	// (d) the same ids for every unknown identifier.
	firstIDs := func(p *passkeySide) map[string]string {
		out := map[string]string{}
		for _, id := range p.order {
			for _, a := range p.by[id] {
				if a.ok && len(a.opts.ids) > 0 {
					out[id] = strings.Join(a.opts.ids, "\x00")
					break
				}
			}
		}
		return out
	}
	kf, uf := firstIDs(&known), firstIDs(&unknown)
	if uv, ok := anyValue(uf); ok && len(uf) >= passkeyMinUnknown && len(kf) > 0 && allEqual(uf) && !containsValue(kf, uv) {
		k, u := firstWithIDs(&known, kf), firstWithIDs(&unknown, uf)
		finding("credential id constancy", fmt.Sprintf("every one of %d unknown identifiers gets the same credential ids (%s), which no known identifier gets: imaginary ids must differ from identifier to identifier.",
			len(uf), u.opts.idText()), k, u, "its own ids: "+k.opts.idText(), "shared by every unknown identifier: "+u.opts.idText())
	}
	return fs, nil
}

// passkeySpreadProbes asks passkeySpread fresh unknown identifiers and
// every identifier of the scan passkeyRepeats times each, in a random
// order per repeat.
func (s *Scanner) passkeySpreadProbes(ctx context.Context, t *Target, ep *Endpoint, ids Identities, known, unknown *passkeySide) error {
	all := ids.all()
	for i := range passkeySpread {
		all = append(all, s.unknownLike(t.Known[i%len(t.Known)]))
	}
	for range passkeyRepeats {
		order := slices.Clone(all)
		s.rand().Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, id := range order {
			r, err := s.Probe(ctx, t, ep, s.Input(id))
			if err != nil {
				return fmt.Errorf("passkey analysis: %w", err)
			}
			if slices.Contains(ids.Known, id) {
				known.add(id, r)
			} else {
				unknown.add(id, r)
			}
		}
	}
	return nil
}

// passkeySameShape checks the answers of an endpoint that takes no
// identifier: request options every time, of one shape and one
// allowCredentials count. Anything else makes the endpoint inconclusive.
func passkeySameShape(e *EndpointScan, ep *Endpoint, all *passkeySide) {
	opts := all.options()
	if n := countOthers(all); n > 0 {
		e.Inconclusive("the passkey options endpoint answered %d of %d probes with something else than request options (%s)",
			n, len(opts)+n, othersText(all))
	}
	shapes := map[string]bool{}
	var list []string
	for _, a := range opts {
		sh := fmt.Sprintf("status %d, members %s, %s", a.r.Status, strings.Join(a.opts.keys, ", "), a.opts.count())
		if !shapes[sh] {
			list = append(list, sh)
		}
		shapes[sh] = true
	}
	if len(shapes) > 1 {
		e.Inconclusive("the passkey options endpoint takes no identifier, yet its options varied in shape between identical requests: %s", strings.Join(list, "; "))
	}
}

func countOthers(p *passkeySide) int {
	n := 0
	for _, id := range p.order {
		for _, a := range p.by[id] {
			if !a.ok {
				n++
			}
		}
	}
	return n
}

// sideSplit reports whether every unknown answer has one value of key,
// which no known answer has; it returns a known and an unknown answer as
// evidence.
func sideSplit(ko, uo []passkeyAnswer, key func(passkeyAnswer) string) (k, u passkeyAnswer, ok bool) {
	if len(ko) == 0 || len(uo) == 0 {
		return k, u, false
	}
	uv := key(uo[0])
	for _, a := range uo {
		if key(a) != uv {
			return k, u, false
		}
	}
	for _, a := range ko {
		if key(a) == uv {
			return k, u, false
		}
	}
	return ko[0], uo[0], true
}

// lengthSplit reports whether every unknown id has one length, which no
// known id has.
func lengthSplit(ko, uo []passkeyAnswer) (k, u passkeyAnswer, ok bool) {
	if len(ko) == 0 || len(uo) < passkeyMinUnknown {
		return k, u, false
	}
	l := uo[0].opts.lengths[0]
	for _, a := range uo {
		for _, x := range a.opts.lengths {
			if x != l {
				return k, u, false
			}
		}
	}
	for _, a := range ko {
		if slices.Contains(a.opts.lengths, l) {
			return k, u, false
		}
	}
	return ko[0], uo[0], true
}

// agreeApart reports whether the known identifiers all have one value,
// the unknown ones (at least passkeyMinUnknown) all another.
func agreeApart(known, unknown map[string]string) (kv, uv string, ok bool) {
	if len(known) == 0 || len(unknown) < passkeyMinUnknown || !allEqual(known) || !allEqual(unknown) {
		return "", "", false
	}
	for _, v := range known {
		kv = v
	}
	for _, v := range unknown {
		uv = v
	}
	return kv, uv, kv != uv
}

func allEqual(m map[string]string) bool {
	first, set := "", false
	for _, v := range m {
		if set && v != first {
			return false
		}
		first, set = v, true
	}
	return true
}

func anyValue(m map[string]string) (string, bool) {
	for _, v := range m {
		return v, true
	}
	return "", false
}

func containsValue(m map[string]string, v string) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}

// firstWithIDs returns the first request options of the side's first
// identifier in m that list ids.
func firstWithIDs(p *passkeySide, m map[string]string) passkeyAnswer {
	for _, id := range p.order {
		if _, ok := m[id]; !ok {
			continue
		}
		for _, a := range p.by[id] {
			if a.ok && len(a.opts.ids) > 0 {
				return a
			}
		}
	}
	return passkeyAnswer{}
}

// withoutAllowCredentials returns body without the allowCredentials
// member of its options (at the top or under "publicKey"), the rest byte
// for byte as it came; a body that is no JSON object as it is.
func withoutAllowCredentials(body []byte) []byte {
	spans := allowCredentialsSpans(body, 0, true)
	if len(spans) == 0 {
		return body
	}
	out := slices.Clone(body)
	for i := len(spans) - 1; i >= 0; i-- {
		a, b := spans[i][0], spans[i][1]
		if !bytes.HasPrefix(bytes.TrimLeft(out[a:b], " \t\r\n"), []byte(",")) {
			// The first member: take the comma after it instead.
			rest := bytes.TrimLeft(out[b:], " \t\r\n")
			if bytes.HasPrefix(rest, []byte(",")) {
				b = len(out) - len(rest) + 1
			}
		}
		out = append(out[:a], out[b:]...)
	}
	return out
}

// allowCredentialsSpans finds the byte ranges of the allowCredentials
// members of the JSON object data (offset by base), looking into its
// "publicKey" object when top is set.
func allowCredentialsSpans(data []byte, base int, top bool) [][2]int {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var spans [][2]int
	for dec.More() {
		start := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		valStart := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil
		}
		switch {
		case key == "allowCredentials":
			spans = append(spans, [2]int{base + start, base + int(dec.InputOffset())})
		case key == "publicKey" && top:
			// raw is the value without the white space before it.
			off := valStart + bytes.Index(data[valStart:], raw[:1])
			spans = append(spans, allowCredentialsSpans(raw, base+off, false)...)
		}
	}
	return spans
}

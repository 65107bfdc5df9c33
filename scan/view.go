package scan

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// view is an answer reduced to what a requester can observe and the scan
// compares (docs/DESIGN.md §1), with reflected input already replaced by
// placeholders. Text channels are keyed like masker channels.
type view struct {
	status int
	// afterStatus is the status of the page after the redirect
	// (Response.After), 0 when the probe followed none.
	afterStatus int
	// text holds the text channels: "body", "location" (when there is a
	// Location header), "header:<Name>", "cookie:<name>", and for the
	// page after the redirect "after:body" and, when more than one
	// redirect led there, "after:url".
	text map[string]string
}

// ignoredHeaders are not compared as headers: Date changes every second by
// design, Set-Cookie and Location are channels of their own, and
// Content-Length follows the body, which is compared itself.
var ignoredHeaders = map[string]bool{"Date": true, "Set-Cookie": true, "Location": true, "Content-Length": true}

// newView reduces r, an answer of an endpoint of kind k. reflect replaces
// reflected input in every text. A passkey options endpoint's body is
// compared without its allowCredentials, which the passkey analysis
// judges on its own terms (passkey.go): ids that differ by identifier are
// what a clean server sends too.
func newView(k Kind, r *Response, reflect func(string) string) view {
	body := r.Body
	if k == KindWebAuthnOptions {
		body = withoutAllowCredentials(body)
	}
	v := view{status: r.Status, text: map[string]string{"body": reflect(string(body))}}
	for name, vals := range r.Header {
		name = http.CanonicalHeaderKey(name)
		switch {
		case name == "Location":
			v.text["location"] = reflect(strings.Join(vals, ", "))
		case !ignoredHeaders[name]:
			v.text["header:"+name] = reflect(strings.Join(vals, ", "))
		}
	}
	for name, line := range cookieLines(r.Header) {
		v.text["cookie:"+name] = reflect(line)
	}
	if l := r.After; l != nil {
		v.afterStatus = l.Status
		v.text["after:body"] = reflect(string(l.Body))
		if l.Hops > 1 {
			// One hop's address is the redirect target, compared
			// already.
			v.text["after:url"] = reflect(l.URL)
		}
	}
	return v
}

// cookieLines reduces each Set-Cookie to its name and attributes. The
// value is a random secret on most sites, so only whether it is empty (a
// deletion) is kept; Expires is a date, so only its presence. Attributes
// are sorted: their order carries nothing and some servers vary it.
func cookieLines(h http.Header) map[string]string {
	out := map[string]string{}
	for _, line := range h.Values("Set-Cookie") {
		parts := strings.Split(line, ";")
		name, value, _ := strings.Cut(strings.TrimSpace(parts[0]), "=")
		var attrs []string
		for _, a := range parts[1:] {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			k, val, hasVal := strings.Cut(a, "=")
			k = canonicalAttr(k)
			switch {
			case k == "Expires":
				a = "Expires=…"
			case hasVal:
				a = k + "=" + val
			default:
				a = k
			}
			attrs = append(attrs, a)
		}
		sort.Strings(attrs)
		shown := "…"
		if value == "" || value == `""` {
			shown = "(empty)"
		}
		s := strings.Join(append([]string{name + "=" + shown}, attrs...), "; ")
		if prev, ok := out[name]; ok {
			s = prev + "\n" + s
		}
		out[name] = s
	}
	return out
}

func canonicalAttr(k string) string {
	for _, c := range []string{"Path", "Domain", "Expires", "Max-Age", "Secure", "HttpOnly", "SameSite", "Partitioned", "Priority"} {
		if strings.EqualFold(k, c) {
			return c
		}
	}
	return k
}

// reflector replaces every identifier of a batch, in the encodings a page
// may show it in, with {{identifier}}, and the batch's random values with
// {{random}}, ignoring ASCII case. All identifiers are replaced in every
// answer, so an address that a page shows anyway (a contact address that
// happens to be a known one) is masked on both sides alike.
type reflector struct {
	needles []needle // longest first
}

type needle struct {
	lower, repl string
}

func newReflector(identifiers, randoms []string) *reflector {
	repl := map[string]string{}
	for _, id := range identifiers {
		for _, e := range encodings(id) {
			repl[asciiLower(e)] = maskIdentifier
		}
	}
	for _, r := range randoms {
		for _, e := range encodings(r) {
			repl[asciiLower(e)] = maskRandom
		}
	}
	r := &reflector{}
	for k, v := range repl {
		if k != "" {
			r.needles = append(r.needles, needle{lower: k, repl: v})
		}
	}
	// Longest first, so an encoded form wins over the raw text inside it.
	slices.SortFunc(r.needles, func(a, b needle) int { return len(b.lower) - len(a.lower) })
	return r
}

// encodings are the forms a value takes when a page, URL or JSON document
// shows it.
func encodings(s string) []string {
	j, _ := json.Marshal(s) // a string always encodes
	return []string{
		s,
		url.QueryEscape(s),
		url.PathEscape(s),
		html.EscapeString(s),
		// html/template also escapes '+'.
		strings.ReplaceAll(html.EscapeString(s), "+", "&#43;"),
		strings.Trim(string(j), `"`),
	}
}

// replace returns s with every needle replaced. It searches a lower-cased
// copy for each needle (a batch has a few dozen) and keeps, where matches
// overlap, the one that starts first and then the longest: a
// case-insensitive regular expression of the alternatives was two orders of
// magnitude slower on large pages.
func (r *reflector) replace(s string) string {
	low := asciiLower(s)
	type hit struct {
		start, end int
		repl       string
	}
	var hits []hit
	for _, n := range r.needles {
		for off := 0; ; {
			i := strings.Index(low[off:], n.lower)
			if i < 0 {
				break
			}
			hits = append(hits, hit{off + i, off + i + len(n.lower), n.repl})
			off += i + len(n.lower)
		}
	}
	if len(hits) == 0 {
		return s
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	var out strings.Builder
	pos := 0
	for _, h := range hits {
		if h.start < pos {
			continue
		}
		out.WriteString(s[pos:h.start])
		out.WriteString(h.repl)
		pos = h.end
	}
	out.WriteString(s[pos:])
	return out.String()
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay valid.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// channelDiff is one channel on which two views differ.
type channelDiff struct {
	// key identifies the channel for stability tracking: "status",
	// "location", "header:X", "cookie:x", "body".
	key string
	// rule is the finding's rule; channel its name in evidence.
	rule, channel string
	// a and b are the two sides' values as shown in evidence.
	a, b string
	diff string
}

// compareViews returns every channel on which a and b differ.
func compareViews(a, b view) []channelDiff {
	var out []channelDiff
	if a.status != b.status {
		out = append(out, channelDiff{key: "status", rule: RuleStatusCode, channel: "status code",
			a: strconv.Itoa(a.status), b: strconv.Itoa(b.status)})
	}
	// The pages after the redirects are compared when both answers
	// redirected to the same place: a redirect elsewhere, or none, is
	// the difference, and the page it leads to only its consequence
	// (one leak, one finding).
	after := a.afterStatus != 0 && b.afterStatus != 0 && a.text["location"] == b.text["location"]
	if after && a.afterStatus != b.afterStatus {
		out = append(out, channelDiff{key: "after:status", rule: RuleResponseContent, channel: channelAfter,
			a: "status " + strconv.Itoa(a.afterStatus), b: "status " + strconv.Itoa(b.afterStatus)})
	}
	for _, key := range unionKeys(a.text, b.text) {
		if strings.HasPrefix(key, "after:") && !after {
			continue
		}
		va, inA := a.text[key]
		vb, inB := b.text[key]
		if inA == inB && va == vb {
			continue
		}
		switch {
		case key == "body":
			out = append(out, compareBodies(va, vb))
		case key == "after:body":
			d := compareBodies(va, vb)
			d.key, d.channel = key, channelAfter
			if d.rule == RuleLength {
				d.channel = channelAfter + " (length)"
			}
			out = append(out, d)
		case key == "after:url":
			out = append(out, channelDiff{key: key, rule: RuleResponseContent, channel: channelAfter,
				a: "ends at " + shown(va, inA), b: "ends at " + shown(vb, inB)})
		case key == "location":
			out = append(out, channelDiff{key: key, rule: RuleRedirect, channel: "redirect target",
				a: shown(va, inA), b: shown(vb, inB)})
		case strings.HasPrefix(key, "header:"):
			name := strings.TrimPrefix(key, "header:")
			out = append(out, channelDiff{key: key, rule: RuleHeaders, channel: "headers",
				a: headerShown(name, va, inA), b: headerShown(name, vb, inB)})
		case strings.HasPrefix(key, "cookie:"):
			out = append(out, channelDiff{key: key, rule: RuleCookies, channel: "cookies",
				a: cookieShown(strings.TrimPrefix(key, "cookie:"), va, inA), b: cookieShown(strings.TrimPrefix(key, "cookie:"), vb, inB)})
		}
	}
	return out
}

// channelAfter names the channel of the page after a redirect in
// evidence and messages.
const channelAfter = "page after redirect"

func shown(v string, present bool) string {
	if !present {
		return "(none)"
	}
	return v
}

func headerShown(name, v string, present bool) string {
	if !present {
		return name + " absent"
	}
	return name + ": " + v
}

func cookieShown(name, v string, present bool) string {
	if !present {
		return "no Set-Cookie " + name
	}
	return "Set-Cookie: " + v
}

func unionKeys(a, b map[string]string) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// compareBodies classifies a body difference. Bodies that are equal once
// white space and invisible characters are removed differ only in length
// (USER_ENUM_LENGTH: a reader sees nothing, Content-Length shows it). Any
// other difference is content; when it lies wholly inside <title>, the
// channel is "page title".
func compareBodies(a, b string) channelDiff {
	d := channelDiff{key: "body", rule: RuleResponseContent, channel: "body", diff: textDiff(a, b)}
	if stripInvisible(a) == stripInvisible(b) {
		d.rule, d.channel = RuleLength, "body length"
		d.a, d.b = strconv.Itoa(len(a))+" bytes", strconv.Itoa(len(b))+" bytes"
		d.diff = quotedDiff(a, b)
		return d
	}
	ta, tb := title(a), title(b)
	if ta != tb {
		d.a, d.b = "<title>"+ta+"</title>", "<title>"+tb+"</title>"
		if titleRE.ReplaceAllString(a, "") == titleRE.ReplaceAllString(b, "") {
			d.channel = "page title"
		}
	}
	return d
}

func title(s string) string {
	if m := titleRE.FindStringSubmatch(s); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}

func stripInvisible(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '\f', '\v', '\u00a0', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
			return -1
		}
		return r
	}, s)
}

package web

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// This file reduces a response to everything a requester can observe that
// must not depend on who owns an address (docs/DESIGN.md §1), and compares two
// such reductions. Ignored: the Date header and the per-request random
// values (X-Request-Id, cookie values, CSRF tokens), which are masked.

// snapshot is a response after normalisation.
type snapshot struct {
	Status  int
	Headers []string // "Name: value", sorted; without Date, X-Request-Id, Set-Cookie
	Cookies []string // Set-Cookie lines, value and Expires masked
	Body    string   // with masks applied
}

// ignoredHeaders differ on every request by design.
var ignoredHeaders = map[string]bool{"Date": true, "X-Request-Id": true, "Set-Cookie": true}

// csrfInput matches the hidden CSRF field of a form.
var csrfInput = regexp.MustCompile(`name="csrf_token" value="[^"]*"`)

// normalise builds the snapshot of a response. masks maps literal strings
// in the body (such as the address the request was about, which forms show
// again) to the placeholder that replaces them.
func normalise(resp *http.Response, body []byte, masks map[string]string) snapshot {
	s := snapshot{Status: resp.StatusCode}
	for name, vals := range resp.Header {
		if ignoredHeaders[name] {
			continue
		}
		for _, v := range vals {
			s.Headers = append(s.Headers, name+": "+v)
		}
	}
	sort.Strings(s.Headers)
	for _, line := range resp.Header.Values("Set-Cookie") {
		s.Cookies = append(s.Cookies, maskCookie(line))
	}
	sort.Strings(s.Cookies)
	text := csrfInput.ReplaceAllString(string(body), `name="csrf_token" value="<csrf>"`)
	text = maskProof(text)
	// Longest first, so a mask inside another does not break it.
	keys := make([]string, 0, len(masks))
	for k := range masks {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		text = strings.ReplaceAll(text, k, masks[k])
	}
	s.Body = text
	return s
}

var (
	proofData = regexp.MustCompile(`data-proof="[^"]*"`)
	proofHex  = regexp.MustCompile(`[0-9a-f]{24}\?expires=[0-9]+|[0-9a-f]{64}`)
)

// maskProof masks the random parts of a form's proof-of-work challenge
// (salt, expiry, challenge, signature), keeping the rest of it, the cost
// included, to compare.
func maskProof(text string) string {
	return proofData.ReplaceAllStringFunc(text, func(attr string) string {
		return proofHex.ReplaceAllString(attr, "<random>")
	})
}

// maskCookie keeps a Set-Cookie line's name and attributes exactly, and
// masks the value (its presence still shows) and the Expires date.
func maskCookie(line string) string {
	parts := strings.Split(line, ";")
	name, value, _ := strings.Cut(strings.TrimSpace(parts[0]), "=")
	out := []string{name + "=<value>"}
	if value == "" {
		out[0] = name + "=<empty>"
	}
	for _, attr := range parts[1:] {
		attr = strings.TrimSpace(attr)
		if k, _, ok := strings.Cut(attr, "="); ok && strings.EqualFold(k, "Expires") {
			attr = k + "=<time>"
		}
		out = append(out, attr)
	}
	return strings.Join(out, "; ")
}

// lines renders a snapshot for diffing, one observable per line.
func (s snapshot) lines() []string {
	out := []string{"status " + strconv.Itoa(s.Status)}
	for _, h := range s.Headers {
		out = append(out, "header "+h)
	}
	for _, c := range s.Cookies {
		out = append(out, "cookie "+c)
	}
	out = append(out, fmt.Sprintf("body length %d", len(s.Body)))
	for _, l := range strings.Split(s.Body, "\n") {
		out = append(out, "body | "+l)
	}
	return out
}

// diffSnapshots returns "" when a and b are equal, else a line diff:
// "-" lines only in a, "+" lines only in b, a few equal lines of context.
func diffSnapshots(a, b snapshot) string {
	la, lb := a.lines(), b.lines()
	if strings.Join(la, "\n") == strings.Join(lb, "\n") {
		return ""
	}
	return lineDiff(la, lb)
}

// lineDiff is a longest-common-subsequence diff; responses are small.
func lineDiff(a, b []string) string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte
		line string
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', a[i]})
			i++
		default:
			ops = append(ops, op{'+', b[j]})
			j++
		}
	}
	// Print changes with two lines of context.
	const ctx = 2
	var out strings.Builder
	lastPrinted := -1
	for k, o := range ops {
		near := false
		for d := -ctx; d <= ctx; d++ {
			if k+d >= 0 && k+d < len(ops) && ops[k+d].kind != ' ' {
				near = true
			}
		}
		if !near {
			continue
		}
		if lastPrinted >= 0 && k > lastPrinted+1 {
			out.WriteString("   …\n")
		}
		fmt.Fprintf(&out, " %c %s\n", o.kind, o.line)
		lastPrinted = k
	}
	return out.String()
}

// sameResponse fails the test when two replies differ in anything a
// requester can observe. maskA and maskB are the address each request was
// about; both are shown as <email>.
func sameResponse(t testing.TB, what string, a, b reply, maskA, maskB string) {
	t.Helper()
	sa := normalise(a.Response, a.body, map[string]string{maskA: "<email>"})
	sb := normalise(b.Response, b.body, map[string]string{maskB: "<email>"})
	if d := diffSnapshots(sa, sb); d != "" {
		t.Errorf("%s: responses differ (- %s, + %s):\n%s", what, maskA, maskB, d)
	}
}

package scan

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxEvidenceBody bounds the answer body kept in a finding's evidence:
// account pages are far smaller, and a report must not carry megabytes.
const maxEvidenceBody = 64 << 10

// withAnswer completes a sample with what is needed to check it by hand:
// the answer's headers and body (its first 64 KiB), and the curl command
// that sends the request again.
func withAnswer(s Sample, r *Response) Sample {
	for _, name := range slices.Sorted(mapKeys(r.Header)) {
		for _, v := range r.Header[name] {
			s.Headers = append(s.Headers, Field{Name: name, Value: v})
		}
	}
	s.Body = string(r.Body)
	if len(r.Body) > maxEvidenceBody {
		s.Body, s.BodyTruncated = string(r.Body[:maxEvidenceBody]), true
	}
	s.Curl = s.Request.Curl()
	return s
}

func mapKeys(h http.Header) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}
}

// Curl returns a shell command (POSIX sh) that sends the request again as
// the scan sent it: the method, every header, the cookies the before
// steps got (so a CSRF token in the body still matches its cookie) and
// the body, byte for byte. It prints the answer's status line, headers and
// body. Tokens that the target accepts once only, or for a short time, may
// have expired by the time it is run; the before steps then have to be
// run again.
func (r Request) Curl() string {
	args := []string{"curl", "-sS", "-i", "-g", "-X", shellQuote(r.Method)}
	has := func(name string) bool {
		return slices.ContainsFunc(r.Header, func(f Field) bool { return strings.EqualFold(f.Name, name) })
	}
	header := func(name, value string) { args = append(args, "-H", shellQuote(name+": "+value)) }
	if !has("User-Agent") {
		header("User-Agent", UserAgent)
	}
	if r.ContentType != "" && !has("Content-Type") {
		header("Content-Type", r.ContentType)
	}
	for _, h := range r.Header {
		header(h.Name, h.Value)
	}
	if len(r.Cookies) > 0 && !has("Cookie") {
		pairs := make([]string, len(r.Cookies))
		for i, c := range r.Cookies {
			pairs[i] = c.Name + "=" + c.Value
		}
		header("Cookie", strings.Join(pairs, "; "))
	}
	if r.Body != "" {
		args = append(args, "--data-binary", shellQuote(r.Body))
	}
	args = append(args, "--", shellQuote(r.URL))
	return strings.Join(args, " ")
}

// shellQuote quotes s for POSIX sh so that it is one word with exactly
// s's bytes, whatever they are: quotes, $( ), backticks, newlines. Single
// quotes keep everything literal but themselves, each written as a
// backslash and a quote between two quoted runs.
// Control characters other than newline and tab, and bytes that are not
// UTF-8, are written as printf octal escapes outside the quotes, so that
// a command printed on a terminal cannot carry an escape sequence from a
// hostile target (in a CSRF token its page set, say) and still sends it.
func shellQuote(s string) string {
	var b strings.Builder
	open := false
	quote := func(on bool) {
		if on != open {
			b.WriteByte('\'')
			open = on
		}
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r < 0x20 && r != '\n' && r != '\t', r == 0x7f, r >= 0x80 && r <= 0x9f:
			quote(false)
			b.WriteString(`"$(printf '`)
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, `\%03o`, c)
			}
			b.WriteString(`')"`)
		case r == '\'':
			quote(false)
			b.WriteString(`\'`)
		default:
			quote(true)
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	if b.Len() == 0 {
		return "''"
	}
	quote(false)
	return b.String()
}

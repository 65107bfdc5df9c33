package scan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

// extract returns the value x names in a step's answer. jar holds the
// cookies the probe has so far, for a cookie set by an earlier answer.
func (x Extraction) extract(resp *http.Response, body []byte, jar []*http.Cookie) (string, error) {
	switch x.From {
	case FromInput:
		return htmlAttr(body, "input", "name", x.Arg, "value")
	case FromMeta:
		return htmlAttr(body, "meta", "name", x.Arg, "content")
	case FromCookie:
		return cookieValue(resp, jar, x.Arg)
	case FromHeader:
		if vals := resp.Header.Values(x.Arg); len(vals) > 0 {
			return vals[0], nil
		}
		return "", fmt.Errorf("no %s header", http.CanonicalHeaderKey(x.Arg))
	case FromJSON:
		return jsonPath(body, x.Arg)
	case FromRegex:
		return x.regex(resp, body)
	}
	return "", fmt.Errorf("unknown source %q", x.From)
}

// htmlAttr finds the first element tag whose attribute key equals name and
// returns its attribute want. It parses the page as a browser would
// (golang.org/x/net/html), so attribute order, quoting and entities do not
// matter.
func htmlAttr(body []byte, tag, key, name, want string) (string, error) {
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return "", fmt.Errorf("no <%s %s=%q> in the page", tag, key, name)
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			if t.Data != tag {
				continue
			}
			if v, ok := attr(t, key); !ok || v != name {
				continue
			}
			v, _ := attr(t, want)
			return v, nil
		}
	}
}

func attr(t html.Token, key string) (string, bool) {
	for _, a := range t.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// cookieValue prefers the answer's own Set-Cookie, then the probe's jar.
func cookieValue(resp *http.Response, jar []*http.Cookie, name string) (string, error) {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c.Value, nil
		}
	}
	for _, c := range jar {
		if c.Name == name {
			return c.Value, nil
		}
	}
	return "", fmt.Errorf("no cookie %s was set", name)
}

// jsonPath follows a dotted path ("ui.nodes.0.attributes.value", also
// written "$.ui.nodes[0].attributes.value") into a JSON body. A string is
// returned as is; any other value as its JSON text.
func jsonPath(body []byte, path string) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("the body is not JSON: %w", err)
	}
	for _, part := range pathParts(path) {
		switch cur := v.(type) {
		case map[string]any:
			next, ok := cur[part]
			if !ok {
				return "", fmt.Errorf("JSON path %s: no key %q", path, part)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(cur) {
				return "", fmt.Errorf("JSON path %s: no item %q in a list of %d", path, part, len(cur))
			}
			v = cur[i]
		default:
			return "", fmt.Errorf("JSON path %s: %q is past the end of the value", path, part)
		}
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, _ := json.Marshal(v) // decoded JSON always encodes
	return string(b), nil
}

func pathParts(path string) []string {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	path = strings.NewReplacer("[", ".", "]", "").Replace(path)
	var out []string
	for _, p := range strings.Split(path, ".") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// regex matches the body, then the headers written as "Name: value"
// lines, so a value can be taken from a redirect's Location too.
func (x Extraction) regex(resp *http.Response, body []byte) (string, error) {
	m := x.re.FindSubmatch(body)
	if m == nil {
		var h bytes.Buffer
		_ = resp.Header.Write(&h) // a bytes.Buffer does not fail
		m = x.re.FindSubmatch(h.Bytes())
	}
	if m == nil {
		return "", fmt.Errorf("nothing in the body or headers matches %q", x.Arg)
	}
	if len(m) > 1 {
		return string(m[1]), nil
	}
	return string(m[0]), nil
}

package web

import (
	"net/http"
	"strings"
	"testing"
)

// The comparison must see every difference a requester could see, or the
// uniformity tests prove nothing.
func TestNormaliseSeesDifferences(t *testing.T) {
	base := func() (*http.Response, []byte) {
		h := http.Header{}
		h.Set("Content-Type", "text/html")
		h.Set("Date", "Mon, 01 Jan 2026 00:00:00 GMT")
		h.Set("X-Request-Id", "abc")
		h.Add("Set-Cookie", "tacit_csrf=AAAA; Path=/; HttpOnly; SameSite=Lax")
		return &http.Response{StatusCode: 200, Header: h},
			[]byte(`<p>hi a@example.com</p><input name="csrf_token" value="AAAA">`)
	}
	ref := func() snapshot {
		r, b := base()
		return normalise(r, b, map[string]string{"a@example.com": "<email>"})
	}
	cases := map[string]func(r *http.Response, b []byte) ([]byte, string){
		"status": func(r *http.Response, b []byte) ([]byte, string) { r.StatusCode = 401; return b, "a@example.com" },
		"header": func(r *http.Response, b []byte) ([]byte, string) {
			r.Header.Set("Retry-After", "1")
			return b, "a@example.com"
		},
		"cookie attribute": func(r *http.Response, b []byte) ([]byte, string) {
			r.Header.Set("Set-Cookie", "tacit_csrf=AAAA; Path=/; HttpOnly")
			return b, "a@example.com"
		},
		"cookie name": func(r *http.Response, b []byte) ([]byte, string) {
			r.Header.Set("Set-Cookie", "tacit_session=AAAA; Path=/; HttpOnly; SameSite=Lax")
			return b, "a@example.com"
		},
		"extra cookie": func(r *http.Response, b []byte) ([]byte, string) {
			r.Header.Add("Set-Cookie", "x=1")
			return b, "a@example.com"
		},
		"body": func(r *http.Response, b []byte) ([]byte, string) {
			return []byte(strings.Replace(string(b), "hi", "ho", 1)), "a@example.com"
		},
		"body length": func(r *http.Response, b []byte) ([]byte, string) { return append(b, ' '), "a@example.com" },
	}
	for name, change := range cases {
		r, b := base()
		b, mask := change(r, b)
		got := normalise(r, b, map[string]string{mask: "<email>"})
		if diffSnapshots(ref(), got) == "" {
			t.Errorf("%s: difference not seen", name)
		}
	}
	// And what must be ignored is ignored.
	r, _ := base()
	r.Header.Set("Date", "Tue, 02 Jan 2026 00:00:00 GMT")
	r.Header.Set("X-Request-Id", "def")
	r.Header.Set("Set-Cookie", "tacit_csrf=BBBB; Path=/; HttpOnly; SameSite=Lax")
	b := []byte(`<p>hi b@example.com</p><input name="csrf_token" value="BBBB">`)
	if d := diffSnapshots(ref(), normalise(r, b, map[string]string{"b@example.com": "<email>"})); d != "" {
		t.Errorf("random values not masked:\n%s", d)
	}
}

func TestLineDiff(t *testing.T) {
	got := lineDiff([]string{"a", "b", "c"}, []string{"a", "x", "c"})
	want := "   a\n - b\n + x\n   c\n"
	if got != want {
		t.Errorf("lineDiff = %q, want %q", got, want)
	}
}

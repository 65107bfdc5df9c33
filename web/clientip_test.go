package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return normalisePrefixes(out)
}

func TestClientIP(t *testing.T) {
	proxies := prefixes("10.0.0.0/8", "2001:db8:cafe::/48")
	cases := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies: the peer", "192.0.2.7:5555", nil, nil, "192.0.2.7"},
		{"no proxies: the header is ignored", "192.0.2.7:5555", []string{"198.51.100.1"}, nil, "192.0.2.7"},
		{"untrusted peer: the header is ignored", "192.0.2.7:5555", []string{"198.51.100.1"}, proxies, "192.0.2.7"},
		{"untrusted peer claiming to be a proxy", "192.0.2.7:5555", []string{"10.0.0.1"}, proxies, "192.0.2.7"},
		{"one proxy", "10.0.0.1:443", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"client-written entries on the left are skipped", "10.0.0.1:443", []string{"203.0.113.9, 1.2.3.4, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"a chain of proxies", "10.0.0.1:443", []string{"203.0.113.9, 198.51.100.1, 10.1.1.1, 10.2.2.2"}, proxies, "198.51.100.1"},
		{"several header lines form one list", "10.0.0.1:443", []string{"203.0.113.9, 198.51.100.1", "10.1.1.1"}, proxies, "198.51.100.1"},
		{"the last line is the nearest", "10.0.0.1:443", []string{"10.1.1.1", "198.51.100.1"}, proxies, "198.51.100.1"},
		{"spaces", "10.0.0.1:443", []string{"  203.0.113.9 ,198.51.100.1  "}, proxies, "198.51.100.1"},
		{"proxy without a header: the proxy", "10.0.0.1:443", nil, proxies, "10.0.0.1"},
		{"empty header: the proxy", "10.0.0.1:443", []string{""}, proxies, "10.0.0.1"},
		{"only proxies: the left-most", "10.0.0.1:443", []string{"10.9.9.9, 10.8.8.8"}, proxies, "10.9.9.9"},
		{"garbage from the nearest hop: the proxy", "10.0.0.1:443", []string{"198.51.100.1, unknown"}, proxies, "10.0.0.1"},
		{"garbage behind a proxy hop: that hop", "10.0.0.1:443", []string{"198.51.100.1, nonsense, 10.3.3.3"}, proxies, "10.3.3.3"},
		{"garbage further left is never reached", "10.0.0.1:443", []string{"nonsense, 198.51.100.1"}, proxies, "198.51.100.1"},
		{"entry with a port", "10.0.0.1:443", []string{"198.51.100.1:4711"}, proxies, "198.51.100.1"},
		{"IPv6 peer and entries", "[2001:db8:cafe::1]:443", []string{"2001:db8:1::5, 2001:db8:cafe::2"}, proxies, "2001:db8:1::5"},
		{"bracketed IPv6 entry with a port", "10.0.0.1:443", []string{"[2001:db8:1::5]:80"}, proxies, "2001:db8:1::5"},
		{"IPv4-mapped peer is IPv4", "[::ffff:10.0.0.1]:443", []string{"::ffff:198.51.100.1"}, proxies, "198.51.100.1"},
		{"IPv4-mapped untrusted peer", "[::ffff:192.0.2.7]:443", nil, proxies, "192.0.2.7"},
		{"zone dropped", "[fe80::1%eth0]:443", nil, nil, "fe80::1"},
		{"mapped prefix matches IPv4", "10.0.0.1:443", []string{"198.51.100.1"}, prefixes("::ffff:10.0.0.0/104"), "198.51.100.1"},
		{"single address prefix", "127.0.0.1:1", []string{"198.51.100.1"}, prefixes("127.0.0.1/32"), "198.51.100.1"},
		{"not an address", "@unix", []string{"198.51.100.1"}, proxies, "@unix"},
	}
	for _, c := range cases {
		if got := clientIP(c.remote, c.xff, c.trusted); got != c.want {
			t.Errorf("%s: clientIP(%q, %q) = %q, want %q", c.name, c.remote, c.xff, got, c.want)
		}
	}
}

// TestClientOfThroughMiddleware: handlers see the address the middleware
// found, and the User-Agent.
func TestClientOfThroughMiddleware(t *testing.T) {
	var got string
	h := withClientIP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := clientOf(r)
		got = c.IP + " " + c.UserAgent
	}), prefixes("192.0.2.0/24"))
	req := httptest.NewRequest(http.MethodGet, "/", nil) // RemoteAddr 192.0.2.1:1234
	req.Header.Set("X-Forwarded-For", "203.0.113.5")
	req.Header.Set("User-Agent", "probe/1")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got != "203.0.113.5 probe/1" {
		t.Errorf("client = %q", got)
	}
	// Without the middleware, the peer.
	if c := clientOf(req); c.IP != "192.0.2.1" {
		t.Errorf("clientOf without middleware = %q", c.IP)
	}
}

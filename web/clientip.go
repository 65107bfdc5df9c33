package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/tacitauth/tacit/flow"
)

// The client address keys the per-client throttling rules, so it must be
// one the client cannot choose. X-Forwarded-For is written by whoever sent
// the request: a client can put anything in it, and each proxy on the way
// appends the address it received the request from. Only the entries
// appended by proxies we run can be believed, and those are the right-most
// ones. So the address is the TCP peer's, unless the peer is a trusted
// proxy; then the header is read from the right, skipping trusted proxies,
// and the first address that is not one is the client.

type clientIPKey struct{}

// withClientIP works out the client address of each request once and
// keeps it in the request's context for clientOf.
func withClientIP(next http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := clientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), trusted)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey{}, ip)))
	})
}

// clientIP returns the client address of a request that arrived from
// remoteAddr ("host:port") with the given X-Forwarded-For header lines.
func clientIP(remoteAddr string, forwardedFor []string, trusted []netip.Prefix) string {
	peer, ok := parseIP(remoteAddr)
	if !ok {
		// Not an IP (a Unix socket, a test's made-up address): it is
		// still the server's own view of the peer, never the client's.
		return remoteAddr
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	hops := forwardedHops(forwardedFor)
	nearest := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseIP(hops[i])
		if !ok {
			// A trusted proxy wrote something that is not an address.
			// Nothing to its left can be believed; the last proxy we
			// know is the best client address left, and the client
			// cannot choose it.
			return nearest.String()
		}
		if !isTrusted(hop, trusted) {
			return hop.String()
		}
		nearest = hop
	}
	// Every hop is a trusted proxy: the request started inside.
	return nearest.String()
}

// forwardedHops splits X-Forwarded-For header lines into entries, left to
// right. Several lines count as one list joined by commas (RFC 9110 §5.3).
func forwardedHops(lines []string) []string {
	var hops []string
	for _, line := range lines {
		for _, h := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}

// parseIP reads an address with or without a port ("192.0.2.1",
// "192.0.2.1:443", "[2001:db8::1]:443", "2001:db8::1"). IPv4-mapped IPv6
// addresses become IPv4 and zones are dropped, so one client has one
// spelling and so one throttling key.
func parseIP(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// normalisePrefixes writes IPv4-mapped IPv6 prefixes as IPv4 and drops
// host bits, to match the addresses parseIP returns.
func normalisePrefixes(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientOf describes the requester to the flows: the address withClientIP
// found, the User-Agent for the session list, and the device token
// withDevice found.
func clientOf(r *http.Request) flow.Client {
	ip, ok := r.Context().Value(clientIPKey{}).(string)
	if !ok {
		// A handler called outside NewServer (unit tests): no proxies
		// are trusted.
		ip = clientIP(r.RemoteAddr, nil, nil)
	}
	dev, _ := r.Context().Value(deviceKey{}).(string)
	return flow.Client{IP: ip, UserAgent: r.UserAgent(), Device: dev}
}

package main

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/web"
)

// accountSettings tune password reset and email change.
var accountSettings = []setting{
	durationSetting("reset_ttl", "how long a password reset link works",
		func(c *Config) *time.Duration { return &c.ResetTTL }),
	durationSetting("email_change_ttl", "how long an email change confirmation link works",
		func(c *Config) *time.Duration { return &c.EmailChangeTTL }),
	boolSetting("notify_unknown", "true to answer a reset request for an address without an account by mailing it so (lets anyone mail any address, within limit_mail)",
		func(c *Config) *bool { return &c.NotifyUnknown }),
}

// limitRule is one throttling rule of flow.Limits as a setting.
type limitRule struct {
	key   string
	about string // what the rule counts
	field func(*flow.Limits) *flow.Limit
}

// limitRules lists the throttling rules in the order they print.
var limitRules = []limitRule{
	{"limit_login", "failed sign-ins per address",
		func(l *flow.Limits) *flow.Limit { return &l.Login }},
	{"limit_login_ip", "failed sign-ins per client address",
		func(l *flow.Limits) *flow.Limit { return &l.LoginIP }},
	{"limit_signup", "sign-up requests per address",
		func(l *flow.Limits) *flow.Limit { return &l.Signup }},
	{"limit_resend", "verification resend requests per address",
		func(l *flow.Limits) *flow.Limit { return &l.Resend }},
	{"limit_reset", "password reset requests per address",
		func(l *flow.Limits) *flow.Limit { return &l.Reset }},
	{"limit_reset_submit_ip", "password reset submissions with a bad link, per client address",
		func(l *flow.Limits) *flow.Limit { return &l.ResetSubmit }},
	{"limit_requests_ip", "sign-up, resend and reset requests per client address",
		func(l *flow.Limits) *flow.Limit { return &l.RequestsIP }},
	{"limit_passkey_ip", "passkey ceremonies begun per client address: sign-ins, second steps, passkeys added (each stores a ceremony for 5 minutes)",
		func(l *flow.Limits) *flow.Limit { return &l.PasskeyIP }},
	{"limit_mfa", "wrong MFA codes per account (asked only after the right password)",
		func(l *flow.Limits) *flow.Limit { return &l.MFA }},
	{"limit_client_auth", "failed OpenID Connect client authentications (a wrong client secret) per client id; held back with 429",
		func(l *flow.Limits) *flow.Limit { return &l.ClientSecret }},
	{"limit_client_auth_ip", "failed OpenID Connect client authentications per client address",
		func(l *flow.Limits) *flow.Limit { return &l.ClientSecretIP }},
	{"limit_mail", "mails to one address per window; past free the rest are silently not sent",
		func(l *flow.Limits) *flow.Limit { return &l.Mail }},
}

// limitSettings returns one setting per throttling rule.
func limitSettings() []setting {
	out := make([]setting, len(limitRules))
	for i, r := range limitRules {
		out[i] = limitSetting(r.key, r.about+"; see throttle rules below", r.field)
	}
	return out
}

// throttleSettings bound the throttle counters and the mail outbox, and
// say whom to believe about a client's address.
var throttleSettings = []setting{
	wholeSetting("limit_mfa_lock", "wrong second-step codes in a row that lock an account's second step until a password reset, never forgotten by time (0: off)",
		0, 1<<31-1, func(c *Config) *int { return &c.Limits.MFALock }),
	wholeSetting("throttle_max_keys", "most throttle counters kept; past it the least recently hit that hold nothing back are dropped, and if delays and locks alone exceed it, requests needing a new counter are throttled",
		1, 1<<32-1, func(c *Config) *int { return &c.ThrottleMaxKeys }),
	{key: "trusted_proxies",
		about: "reverse proxies whose X-Forwarded-For gives the client address: comma list of IPs or CIDRs (default none: the connection's address is the client's)",
		set:   setTrustedProxies, get: getTrustedProxies},
	durationSetting("activity_keep", "how long each account's activity (sign-ins, changes) is kept before housekeeping deletes it",
		func(c *Config) *time.Duration { return &c.ActivityKeep }),
	{key: "forward_auth_proxies",
		about: "proxies whose X-Original-URL and X-Forwarded-Proto/Host/Uri/Method say which request /auth/check and /auth/request are asked about: comma list of IPs or CIDRs",
		set: func(c *Config, v string) error {
			p, err := parseProxies(v)
			c.ForwardAuth.Proxies = p
			return err
		},
		get: func(c *Config) string { return formatProxies(c.ForwardAuth.Proxies) }},
	{key: "forward_auth_hosts",
		about: "what forward auth asks of each host: comma list of HOST=POLICY, HOST a name or *.domain, POLICY public, session, mfa or deny; first match applies, unlisted hosts are denied (default empty: every host needs a session)",
		set:   setForwardAuthHosts, get: getForwardAuthHosts},
	wholeSetting("outbox_max_rows", "most mail outbox rows kept; past it handled mail goes first, then the oldest pending mail anyone can cause (never a security notice)",
		1, 1<<32-1, func(c *Config) *int { return &c.OutboxMaxRows }),
}

// LimitsOff returns the keys of the throttling rules that are switched
// off, for a warning at start-up.
func (c *Config) LimitsOff() []string {
	var off []string
	for _, r := range limitRules {
		if r.field(&c.Limits).Free <= 0 {
			off = append(off, r.key)
		}
	}
	return off
}

// setTrustedProxies reads a comma list of addresses and prefixes. A prefix
// with host bits set (10.0.0.5/8) is refused rather than masked: the
// writer meant either one host or the network, and guessing which would
// trust more, or fewer, clients than intended.
func setTrustedProxies(c *Config, v string) error {
	p, err := parseProxies(v)
	c.TrustedProxies = p
	return err
}

// parseProxies reads a comma list of addresses and prefixes (see
// setTrustedProxies). An empty list is an empty, non-nil slice: no proxy.
func parseProxies(v string) ([]netip.Prefix, error) {
	out := []netip.Prefix{}
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := parseProxy(part)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// setForwardAuthHosts reads HOST=POLICY pairs.
func setForwardAuthHosts(c *Config, v string) error {
	var rules []web.HostRule
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		host, p, ok := strings.Cut(part, "=")
		host, pol := strings.TrimSpace(host), web.Policy(strings.TrimSpace(p))
		name := strings.TrimPrefix(host, "*.")
		if !ok || name == "" || strings.ContainsAny(name, "*/:@ ") {
			return fmt.Errorf("must be a comma list of HOST=POLICY such as app.example.com=session,*.example.com=mfa, got %q", part)
		}
		switch pol {
		case web.PolicyPublic, web.PolicySession, web.PolicyMFA, web.PolicyDeny:
		default:
			return fmt.Errorf("policy of %s must be public, session, mfa or deny, got %q", host, pol)
		}
		rules = append(rules, web.HostRule{Host: strings.ToLower(host), Policy: pol})
	}
	c.ForwardAuth.Hosts = rules
	return nil
}

func getForwardAuthHosts(c *Config) string {
	parts := make([]string, len(c.ForwardAuth.Hosts))
	for i, h := range c.ForwardAuth.Hosts {
		parts[i] = h.Host + "=" + string(h.Policy)
	}
	return strings.Join(parts, ",")
}

// parseProxy reads one IP address (a one-host prefix) or CIDR prefix.
func parseProxy(s string) (netip.Prefix, error) {
	bad := fmt.Errorf("must be a comma list of IP addresses or CIDR prefixes such as 10.0.0.0/8, got %q", s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, bad
		}
		return unmapPrefix(netip.PrefixFrom(a, a.BitLen())), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, bad
	}
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("%q has bits set past the prefix length; write %s for the network or %s for the one host",
			s, p.Masked(), p.Addr())
	}
	return unmapPrefix(p), nil
}

// unmapPrefix writes an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) as
// the IPv4 prefix it means, the form in which the web server compares
// IPv4 peers, so that tacit config prints the range in force. A masked
// mapped prefix is at least /96: a shorter one clears the ffff.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.Addr().Is4In6() {
		return p
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
}

// getTrustedProxies prints one-host prefixes as bare addresses, the way
// they are usually written.
func getTrustedProxies(c *Config) string { return formatProxies(c.TrustedProxies) }

func formatProxies(list []netip.Prefix) string {
	parts := make([]string, len(list))
	for i, p := range list {
		if p.IsSingleIP() {
			parts[i] = p.Addr().String()
		} else {
			parts[i] = p.String()
		}
	}
	return strings.Join(parts, ",")
}

// trustsEveryone reports whether a trusted prefix covers all addresses
// of a family. Then any client can write its own X-Forwarded-For and
// dodge every per-client-address limit.
func (c *Config) trustsEveryone() bool {
	for _, p := range c.TrustedProxies {
		if p.Bits() == 0 {
			return true
		}
	}
	return false
}

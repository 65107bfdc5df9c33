// Package scan is tacit's black-box scanner for account enumeration: it
// probes any web application's account endpoints with identifiers that have
// an account and identifiers that do not, and reports every observable
// difference (DESIGN.md §1) as a finding with a stable rule ID and
// remediation text.
//
// # How a scan works
//
// A scan is differential. For each endpoint it sends rounds of probes: each
// known identifier, an unknown identifier paired with it, and two more
// unknown identifiers (the control). The order inside a round is random,
// and every identifier is used exactly once per round, so a target that
// counts requests per identifier treats both sides of a comparison alike.
// Each probe has its own cookie jar and runs the endpoint's before steps
// afresh.
//
// Answers are reduced to what a requester observes: status code, redirect
// target, headers (but Date), Set-Cookie names and attributes, and the body.
// Reflected input becomes {{identifier}}. What differs between answers for
// unknown identifiers in the same round — CSRF tokens, nonces, request ids,
// dates — and generated-looking values that change from one probe to the
// next are learned and masked as {{varies}} (mask.go): nothing about the
// target is configured. Whatever still differs between a known identifier
// and its partner is a finding, one per channel:
//
//	status code       USER_ENUM_STATUS_CODE
//	redirect target   USER_ENUM_REDIRECT
//	headers           USER_ENUM_HEADERS
//	cookies           USER_ENUM_COOKIES
//	body, page title  USER_ENUM_RESPONSE_CONTENT (evidence channel "body" or "page title")
//	body length       USER_ENUM_LENGTH (bodies equal but for white space or invisible characters)
//
// A content difference implies a length difference, so USER_ENUM_LENGTH is
// reported only when nothing visible differs. A channel that still differs
// between two unknown identifiers after masking is noise: it is not
// compared, and the report lists it as unstable. Sign-up endpoints (kind
// register) also get the registration matrix (matrix.go): every class of
// invalid input for known and unknown addresses alike; any difference is
// USER_ENUM_REGISTER. Findings keep their channel's rule whatever the
// endpoint kind; the message names the kind ("On the password reset
// endpoint …").
//
// # Target files
//
//	base_url: https://app.example        # endpoint paths are joined to it
//	known: [alice@app.example]           # identifiers that have accounts
//	headers: {X-Scanner: tacit}          # optional, sent with every request
//	endpoints:
//	  - name: login                      # unique
//	    kind: login                      # login, register, reset, resend, email_change, other
//	    method: POST                     # default POST with a body, else GET
//	    path: /login                     # may carry a query: /login?flow={{flow}}
//	    form:                            # or json: (any YAML value; strings are templates)
//	      csrf_token: "{{csrf}}"
//	      email: "{{identifier}}"
//	      password: "{{password}}"
//	    headers: {X-Requested-With: XMLHttpRequest}
//	    before:                          # optional, run in the probe's cookie jar
//	      - path: /login                 # same keys as a request, plus extract:
//	        extract:
//	          csrf: {input: csrf_token}  # or meta:, cookie:, header:, json: a.b.0.c, regex:
//
// Placeholders: {{identifier}} (the probed identifier), {{password}} (a
// strong password no account has; the second and later {{password}} of a
// request are its confirmation), {{random}} (fresh per probe) and every
// variable a before step extracts. In the path and query they are
// URL-escaped. Unknown identifiers are generated: random addresses on the
// known address's domain. A mistake in the file is one line naming the key
// (TargetError).
//
// The result is a Report, rendered by WriteText or WriteJSON. Checks that
// need probes of their own (timing, lockout, rate limits) plug in through
// Scanner.Checks and use Scanner.Probe.
package scan

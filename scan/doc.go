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
// compared, and the report lists it as unstable. The message names the
// endpoint's kind and the channel ("On the sign-in endpoint login (POST
// /login), the status code differs …").
//
// On a password reset endpoint (kind reset) each of these channel findings
// is USER_ENUM_PASSWORD_RESET instead, still one per channel, with the
// channel in the message and the evidence: whatever the channel, the fix
// is one answer for every address ("If an account exists for that address,
// we have sent instructions"), and "enumeration via password reset" is
// what the leak is known as.
//
// # Other checks
//
// Sign-up endpoints (kind register) also get the registration matrix
// (matrix.go): each class of invalid input the endpoint's fields can carry
// (missing password, malformed email, too short password, password missing
// character classes, mismatched confirmation, common password) is sent for
// known and unknown addresses alike. Every class that is answered
// differently goes into one USER_ENUM_REGISTER finding, whose evidence
// names the first such class (Evidence.Input) and its channels.
//
// A pair that is answered alike at first and differently from some request
// on to the last is an onset (stateful.go): a lockout, rate limit or
// pending sign-up counted per account instead of per identifier. Its rule
// follows the endpoint's kind: USER_ENUM_LOCKOUT for sign-in,
// USER_ENUM_REGISTER for sign-up, USER_ENUM_RATE_LIMIT for the others,
// password reset included (the fix is the limit's); Evidence.Attempt is the
// request at which it began. The channel comparison's own rounds show an
// early onset; StateCheck repeats every request (DefaultStateAttempts per
// identifier) to find later ones, and runs only with
// Scanner.AllowStateChanges, since it may lock accounts and sends mail.
//
// TimingCheck measures paired, interleaved response times of a known
// identifier and its partner, with two unknown identifiers as a control,
// and reports a significant difference as USER_ENUM_TIMING whatever the
// endpoint's kind. It compares only pairs answered with the same status.
// Its test is group-sequential: it stops at the first look that decides
// (a difference of milliseconds within the 50-round pilot), and within
// TimingCheck.Budget, which judges an endpoint at the resolution it
// reached (inconclusive with too few pairs). An endpoint a cancelled scan
// leaves undecided is inconclusive and keeps what was measured, and a
// cancelled scan lists the endpoints it never reached (NotReached).
//
// Every finding's evidence holds both requests as sent, cookies from the
// before steps included, both answers (their first 64 KiB) and a curl
// command for each (Request.Curl) that sends it again.
//
// OrderCheck (tacit scan --order-test) is the HTTP/2 "timeless" timing
// attack: each pair sends a known identifier's request and its partner's
// over one new HTTP/2 connection, their last bytes in one packet, the send
// order alternating; Fisher's exact test asks whether which answer comes
// first depends on the identifier, the control pair vetoes, and a target
// without HTTP/2 gets a note. Its findings are USER_ENUM_TIMING with the
// evidence channel "response order".
//
// One leak is one finding. A pair that differs from the first round on, or
// now and then, is a channel finding; one that differs for good from a
// later request on is an onset, and only that. A pair that differs in a
// single round of four or more is neither: it is a note on the endpoint,
// because a time-window throttle whose wait runs out in the middle of a
// round answers a clean endpoint's identifiers differently in just that
// way. StateCheck does not
// report a difference present from its first request when the endpoint
// already has a finding, and TimingCheck leaves out pairs that differ in
// status, which another finding covers. Every rule, and what reports it:
//
//	USER_ENUM_RESPONSE_CONTENT  channel comparison: body, page title (not on reset endpoints)
//	USER_ENUM_STATUS_CODE       channel comparison: status code (not on reset endpoints)
//	USER_ENUM_REDIRECT          channel comparison: redirect target (not on reset endpoints)
//	USER_ENUM_HEADERS           channel comparison: headers (not on reset endpoints)
//	USER_ENUM_COOKIES           channel comparison: cookies (not on reset endpoints)
//	USER_ENUM_LENGTH            channel comparison: body length (not on reset endpoints)
//	USER_ENUM_TIMING            TimingCheck and OrderCheck, any kind
//	USER_ENUM_REGISTER          registration matrix; onset on sign-up
//	USER_ENUM_PASSWORD_RESET    channel comparison on reset endpoints, any channel
//	USER_ENUM_LOCKOUT           onset on sign-in
//	USER_ENUM_RATE_LIMIT        onset on reset, resend, email_change and other
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
// The result is a Report, rendered by WriteText, WriteJSON, WriteSARIF or
// WriteHTML. Checks that need probes of their own, such as TimingCheck and
// StateCheck, plug in through Scanner.Checks and use Scanner.Probe.
package scan

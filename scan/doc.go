// Package scan is tacit's black-box scanner for account enumeration: it
// probes any web application's account endpoints with identifiers that have
// an account and identifiers that do not, and reports every observable
// difference (docs/DESIGN.md §1) as a finding with a stable rule ID and
// remediation text.
//
// # How a scan works
//
// A scan is differential. For each endpoint it sends rounds of probes: each
// known identifier, an unknown identifier paired with it, and two more
// unknown identifiers (the control); on sign-up and email change
// endpoints the unknown identifiers are new in every round (see The
// target's state). The order inside a round is random,
// and every identifier is used exactly once per round, so a target that
// counts requests per identifier treats both sides of a comparison alike.
// Each probe has its own cookie jar and runs the endpoint's before steps
// afresh.
//
// Answers are reduced to what a requester observes: status code, redirect
// target, headers (but Date), Set-Cookie names and attributes, and the body.
// An answer to a POST that redirects to the same origin is followed, as a
// browser would: a GET in the probe's cookie jar, at most three redirects,
// never to another host. Many applications (Laravel, Django, Rails) answer
// every form with the same redirect and show what happened on the next
// page, from the session (a flash message: "We can't find a user with that
// email address."); so the page the redirects end on (its status, address
// and body) is compared too, as the channel "page after redirect", when
// both answers redirected to the same place.
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
//	page after redirect  USER_ENUM_RESPONSE_CONTENT (USER_ENUM_LENGTH for white space only)
//
// On a sign-up endpoint (kind register) each channel finding is
// USER_ENUM_REGISTER instead, one per channel, the channel in the evidence.
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
// On a passkey options endpoint (kind webauthn_options) each channel
// finding is USER_ENUM_PASSKEY, the channel in the evidence, and the body
// is compared without its allowCredentials, which the passkey analysis
// judges (see Passkey options).
//
// # The target's state
//
// Real applications keep state that the scan's own requests change. A
// sign-up creates the account at once, so an endpoint that can create
// state keyed by the identifier (kinds register and email_change) gets,
// in every probe of every round, for the partners and the controls alike,
// unknown identifiers never sent before, and identities of its own that
// no other endpoint uses. At the end the first unknown identifiers are
// sent once more: a difference from the known identifier's second request
// is USER_ENUM_REGISTER ("already pending"), and an unknown identifier
// that now answers like the known one is noted as registered by the scan.
//
// A difference that an identifier's history explains is not a leak. The
// known identifier is compared only with unknown identifiers given the
// same history: on other endpoints every identifier gets the same
// requests in the same rounds; a known identifier answered from its first
// request as unknown ones are after some requests of their own (a lock
// left by an earlier scan) makes the endpoint inconclusive, not leaky; a
// throttled known identifier on a sign-up, where every unknown identifier
// is new, is set aside when a new identifier sent as many requests is
// throttled alike; throttling that reaches unknown identifiers too and
// comes to one side of a pair now and then (a limit per client or on the
// clock, whose timing the order of a round decides) is set aside and
// makes the endpoint inconclusive, while a known identifier throttled in
// every round, or from some round on for good, is still a lockout.
// Throttled answers (429, 423, Retry-After) and bot checks (428) did not reach
// the account logic: waits up to Scanner.MaxWait (--max-wait, default
// 10s) are waited out, said on Scanner.Log, and the probe sent again; an
// endpoint with fewer than two rounds that reached the logic is
// inconclusive, with the wait a paced scan would need. A lock every
// identifier meets during the channel comparison stops the timing check,
// which would time the lock page only. It judges instead the comparison's
// rounds before the lock, where each known identifier and its partner had
// the same history: with several known identifiers named, each adds the
// pairs it got below its own lock (4 accounts locked at their 6th
// attempt give 20 pairs, enough for a leak of milliseconds). A leak there
// is reported; otherwise the endpoint is inconclusive, with the known
// identifiers' response times before the lock and how many known
// identifiers would give enough pairs.
//
// # Verdicts
//
// Every endpoint gets exactly one verdict (EndpointResult.Verdict): leak
// (a finding), clean, or inconclusive, with the reasons
// (EndpointResult.Inconclusive): answers of 500 and up (those pairs are
// not compared), too few rounds that reached the account logic, channels
// that vary by themselves, a difference in a single round of four or
// more, a known identifier locked before the scan, a timing check without
// a verdict, an endpoint that could not be scanned, or an identifier that
// seems to be ignored. The last is the positive control: before an
// endpoint is called clean, a malformed identifier (an address with its @
// doubled) or an empty one must be answered differently from a
// well-formed unknown one; if neither is, the target file most likely
// names the identifier's field wrong. On a sign-in endpoint whose known
// identifier comes with its password in the target file, the right
// password must also be answered differently from a wrong one, or the
// endpoint is inconclusive ("the sign-in endpoint answered the right
// password like a wrong one"): a password field the file misspells hides
// every difference a password makes. The right passwords are sent first
// in the scan, before any failed sign-in: an application that clears an
// account's failures when it signs in has none to clear yet, and the
// known identifier does not fall behind its partners on the sign-in
// endpoints scanned later. tacit scan exits 2 when any endpoint
// is inconclusive, and every report format says so.
//
// Every string a target sends is printed with its C0 and C1 control
// characters escaped (Sanitize): a hostile target cannot drive the
// tester's terminal through a report. That holds for the evidence's full
// answers too, and a curl command writes such bytes as printf escapes
// (Request.Curl), so that it still sends them.
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
// endpoint's kind. It compares only pairs answered with the same status,
// and only pairs whose answers (status and masked body) are of the class
// each identifier's first answer was. When the known identifiers' answers
// leave that class (a lock, a rate limit, errors) it stops there, judges
// the comparable pairs in place of an interim look (with every unknown
// identifier against the next as the control, the rounds being few), and
// an endpoint that look does not call leaky is inconclusive, never clean.
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
// single round of four or more is neither: it makes the endpoint
// inconclusive, because a time-window throttle whose wait runs out in the
// middle of a round answers a clean endpoint's identifiers differently in
// just that way. StateCheck does not
// report a difference present from its first request when the endpoint
// already has a finding, and TimingCheck leaves out pairs that differ in
// status, which another finding covers. Every rule, and what reports it:
//
//	USER_ENUM_RESPONSE_CONTENT  channel comparison: body, page title (not on reset, sign-up or passkey options endpoints)
//	USER_ENUM_STATUS_CODE       channel comparison: status code (likewise)
//	USER_ENUM_REDIRECT          channel comparison: redirect target (likewise)
//	USER_ENUM_HEADERS           channel comparison: headers (likewise)
//	USER_ENUM_COOKIES           channel comparison: cookies (likewise)
//	USER_ENUM_LENGTH            channel comparison: body length (likewise)
//	USER_ENUM_TIMING            TimingCheck and OrderCheck, any kind
//	USER_ENUM_REGISTER          channel comparison on sign-up endpoints, any channel; second request; registration matrix; onset on sign-up
//	USER_ENUM_PASSWORD_RESET    channel comparison on reset endpoints, any channel
//	USER_ENUM_LOCKOUT           onset on sign-in
//	USER_ENUM_RATE_LIMIT        onset on reset, resend, email_change, other and webauthn_options
//	USER_ENUM_PASSKEY           channel comparison on passkey options endpoints, any channel; passkey analysis (allowCredentials)
//
// # Target files
//
//	base_url: https://app.example        # endpoint paths are joined to it
//	known: [alice@app.example]           # identifiers that have accounts, or
//	                                     # [{identifier: alice@app.example, password: …}]
//	headers: {X-Scanner: tacit}          # optional, sent with every request
//	endpoints:
//	  - name: login                      # unique
//	    kind: login                      # login, register, reset, resend, email_change, other, webauthn_options
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
// # Passkey options
//
// An endpoint of kind webauthn_options answers WebAuthn request options
// (PublicKeyCredentialRequestOptions as JSON, possibly as {"publicKey":
// …}) for a passkey sign-in. Where it takes an identifier ({"email":
// "{{identifier}}"}, {"username": …}, any field as for other kinds) its
// allowCredentials lists the account's credential ids, and whatever it
// lists for an unknown identifier must not tell the two apart (WebAuthn
// Level 3, §14.6.2 and §14.6.3). Such ids differ between any two
// identifiers on a clean server too, so the channel comparison leaves
// allowCredentials out of the body and the passkey analysis (passkey.go)
// compares it: besides the channel comparison's rounds it asks ten more
// unknown identifiers and each known identifier twice each, and reports as
// USER_ENUM_PASSKEY, one finding per evidence channel, a property on
// which every unknown identifier agrees and no known identifier does:
//
//	allowCredentials count   how many ids, none, or no allowCredentials at all
//	credential id length     the ids' decoded lengths
//	credential descriptor    what each id comes with: type, transports
//	credential id stability  ids the same on every request for one side, new on every request for the other
//	credential id constancy  the same ids for every unknown identifier, others for the known ones
//	options shape            the options' members or status (the extra identifiers; the channel comparison covers the rest)
//
// Imaginary ids derived from an HMAC of the normalised identifier, as many
// and as long as real ones, vary among unknown identifiers as real ones
// do, and an endpoint that lists no ids for anyone (discoverable
// credentials only) has nothing to compare: both are clean. An error such
// as "no credentials" for an unknown identifier is a status or body
// difference of the channel comparison. Answers that are not request
// options (errors, throttling, a wrong path) are not compared, and too
// few options make the endpoint inconclusive, never clean. The positive
// control does not apply: an options endpoint may rightly ignore the
// identifier. An endpoint that takes no identifier (tacit's own, POST
// /api/passkey/login/options) is sent the same request in every probe: its
// answers must be request options of one shape and one allowCredentials
// count every time, or the endpoint is inconclusive.
//
// # Discovery
//
// Discoverer writes a target file from a start URL (tacit scan init URL):
// it follows same-origin links breadth first, those that read like "Sign
// in", "Sign up", "Forgot password" or "Register" first, within a page
// budget, and tries well-known sign-in paths when no link leads to one. A
// POST form with an identifier field (type email, or a name, id,
// autocomplete or label saying mail, login or user) is a sign-in form with
// one password field, a sign-up form with two (password and confirmation)
// or with sign-up words, and a reset or resend form with none and the
// words of one. Every form's page is fetched first by a before step; a
// hidden field whose value changes between two fetches in fresh cookie
// jars, or whose name says token (csrf, authenticity_token, sectok, …), is
// taken from the page on every probe. A sign-up form that asks for a user
// name and an address takes the identifier in the field the sign-in form
// (or the known identifier) suggests. DiscoverHAR does the same from a
// browser's HAR recording, where a POST answered with WebAuthn request
// options is also a webauthn_options endpoint, with its identifier field
// or none (a passkey sign-in is built by JavaScript, so the links and
// forms of a start page never show one; a target file may name it by
// hand). Without a known identifier the file lists
// KnownPlaceholder, which LoadTarget refuses. CheckSignIn signs in with the
// known account's real and a wrong password: a positive control that the
// target reaches the application.
//
// # Framework advice
//
// A scan notes the cookie names, form fields, paths and generator headers
// of every answer (framework.go) and DetectFramework matches them against
// a table: django-allauth, Django, Devise, Rails, Laravel, Spring
// Security, ASP.NET Core Identity, Keycloak, Amazon Cognito, WordPress,
// Express, MediaWiki, DokuWiki and tacit. The report names the framework
// and the clues (Report.Framework), and each finding carries the
// framework's own fix (Finding.Advice: ACCOUNT_PREVENT_ENUMERATION,
// config.paranoid, PreventUserExistenceErrors, …) beside the rule's
// generic remediation, in every report format.
//
// The result is a Report, rendered by package report (scan/report) as
// text, JSON, SARIF or HTML. Checks that need probes of their own, such
// as TimingCheck and StateCheck, plug in through Scanner.Checks: they
// send with Scanner.Probe, and get the endpoint's scan so far, and record
// what they measured, through the EndpointScan each Run is handed (see
// ExampleCheck for a check written outside the package).
package scan

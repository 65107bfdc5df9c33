package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/report"
)

// scanStatus is how "tacit scan" ends when it does not end cleanly: 1
// when it found something at or above --fail-on, 2 when it could not scan
// (an unreachable target, a bad target file, endpoints that could not be
// scanned). exitCode reads the status through exitStatus.
type scanStatus struct {
	status int
	err    error
}

func (e scanStatus) Error() string   { return e.err.Error() }
func (e scanStatus) Unwrap() error   { return e.err }
func (e scanStatus) exitStatus() int { return e.status }

// scanFailure is a scan that could not be done: exit status 2.
func scanFailure(format string, args ...any) error {
	return scanStatus{2, fmt.Errorf(format, args...)}
}

// scanOptions are the flags of "tacit scan".
type scanOptions struct {
	file, preset, known string
	format, output      string
	failOn              string
	probes              int
	timeout, maxWait    time.Duration
	timingBudget        time.Duration
	printTarget         bool
	timing, order       bool
	state               bool
	url                 string // the preset's base URL, or the start URL of a discovery: the one argument
	discover            bool   // scan what discovery finds from url
	maxPages            int    // the discovery's page budget
}

// formats are the report formats --format takes, by name.
var formats = map[string]func(io.Writer, *scan.Report) error{
	"text": report.WriteText, "json": report.WriteJSON, "sarif": report.WriteSARIF, "html": report.WriteHTML,
}

func (o *scanOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.file, "f", "", "target file (YAML)")
	fs.StringVar(&o.preset, "preset", "", "scan a known kind of server at the URL given as argument: tacit")
	fs.StringVar(&o.known, "known", "", "an identifier that has an account (with --preset or a URL to discover)")
	fs.IntVar(&o.maxPages, "max-pages", scan.DefaultDiscoverPages, "pages a discovery fetches at most")
	fs.StringVar(&o.format, "format", "text", "report format: text, json, sarif or html")
	fs.StringVar(&o.output, "o", "", "write the report to this file instead of stdout")
	fs.StringVar(&o.failOn, "fail-on", "low", "exit 1 on a finding of this severity or above: low, medium, high or none")
	fs.IntVar(&o.probes, "probes", scan.DefaultProbes, "rounds of probes per endpoint")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit of each request")
	fs.DurationVar(&o.maxWait, "max-wait", scan.DefaultMaxWait, "longest Retry-After to wait out before sending a throttled probe again")
	fs.BoolVar(&o.printTarget, "print-target", false, "print the target file the scan would use, then exit")
	fs.BoolVar(&o.timing, "timing", false, "also compare response times (many more requests)")
	fs.DurationVar(&o.timingBudget, "timing-budget", 0, "with --timing, the most time the timing check may take in all (e.g. 10m), shared among the endpoints")
	fs.BoolVar(&o.order, "order-test", false, "also compare the order of answers to requests sent together over HTTP/2 (many more requests)")
	fs.BoolVar(&o.state, "state", false, "also repeat requests to find lockouts and rate limits (changes the target's state)")
}

// parseScanArgs reads scan's flags, which may come before or after the
// URL argument.
func parseScanArgs(args []string) (scanOptions, error) {
	var o scanOptions
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by the caller
	o.flags(fs)
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return o, err
			}
			return o, usageError{"scan: " + err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return o, o.check(rest)
}

// check refuses combinations that cannot make a scan.
func (o *scanOptions) check(rest []string) error {
	if _, ok := formats[o.format]; !ok {
		return usageError{fmt.Sprintf("scan: --format %q: want text, json, sarif or html", o.format)}
	}
	if o.failOn != "none" {
		if _, err := scan.ParseSeverity(o.failOn); err != nil {
			return usageError{fmt.Sprintf("scan: --fail-on %q: want low, medium, high or none", o.failOn)}
		}
	}
	if o.timingBudget < 0 || (o.timingBudget > 0 && !o.timing) {
		return usageError{"scan: --timing-budget goes with --timing and must be positive"}
	}
	if o.probes < 2 {
		return usageError{"scan: --probes must be at least 2"}
	}
	switch {
	case o.file != "" && o.preset != "":
		return usageError{"scan: give a target file (-f) or a preset (--preset), not both"}
	case o.file != "":
		if len(rest) > 0 {
			return usageError{fmt.Sprintf("scan: unexpected argument %q (the target file names the URL)", rest[0])}
		}
		if o.known != "" {
			return usageError{"scan: --known goes with --preset or a URL to discover; a target file lists its known identifiers"}
		}
	case o.preset == "" && len(rest) == 1:
		o.url, o.discover = rest[0], true
	case o.preset == "" && len(rest) > 1:
		return usageError{fmt.Sprintf("scan: unexpected argument %q (give one URL to discover)", rest[1])}
	case o.preset == "":
		return usageError{"scan: give a target file (-f target.yaml), a URL to discover forms from, or a preset (--preset tacit URL)"}
	case o.preset != "tacit":
		return usageError{fmt.Sprintf("scan: unknown preset %q; the one preset is tacit", o.preset)}
	case len(rest) != 1:
		return usageError{"scan: --preset tacit takes one argument, the server's URL"}
	default:
		o.url = rest[0]
	}
	return nil
}

// runScan is "tacit scan": it loads or builds the target, scans it,
// writes the report and says by its status whether the target passed.
func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "init" {
		return runScanInit(ctx, args[1:], stdout, stderr)
	}
	o, err := parseScanArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, scanUsage)
		return nil
	}
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: o.timeout}
	text, err := o.targetText(ctx, client, stderr)
	if err != nil {
		return err
	}
	target, err := scan.LoadTarget(strings.NewReader(text))
	if err != nil {
		return scanFailure("%s: %w", o.targetName(), err)
	}
	if o.printTarget {
		_, err := io.WriteString(stdout, text)
		return err
	}
	s := o.scanner(client)
	progress := &scan.Progress{W: stderr, Terminal: isTerminal(stderr)}
	s.Progress = progress.Update
	// What the scan waits for goes to stderr even off a terminal: a
	// scan paced by the target's Retry-After may take minutes, and a CI
	// log must say why. On a terminal it goes above the progress line.
	s.Log = func(line string) { progress.Log(scan.Sanitize(line)) }
	rep, scanErr := s.Scan(ctx, target)
	progress.Finish()
	if err := o.writeReport(rep, stdout); err != nil {
		return scanFailure("%w", err)
	}
	return o.verdict(rep, scanErr)
}

// scanner is the scanner the flags ask for.
func (o *scanOptions) scanner(client *http.Client) *scan.Scanner {
	s := &scan.Scanner{Client: client, Probes: o.probes, MaxWait: o.maxWait}
	if o.timing {
		s.Checks = append(s.Checks, &scan.TimingCheck{Budget: o.timingBudget})
	}
	if o.order {
		s.Checks = append(s.Checks, &scan.OrderCheck{})
	}
	if o.state {
		s.AllowStateChanges = true
		s.Checks = append(s.Checks, &scan.StateCheck{})
	}
	return s
}

// targetName names the target in errors: the file, or the preset's URL.
func (o *scanOptions) targetName() string {
	if o.file != "" {
		return o.file
	}
	return o.url
}

// targetText returns the target file's text: the file as it is, or the
// one the preset builds.
func (o *scanOptions) targetText(ctx context.Context, client *http.Client, stderr io.Writer) (string, error) {
	if o.discover {
		return discoverTarget(ctx, client, o.url, o.known, o.maxPages, stderr)
	}
	if o.file == "" {
		return tacitPreset(ctx, client, o.url, o.known, !o.printTarget, stderr)
	}
	b, err := os.ReadFile(o.file)
	if err != nil {
		return "", scanFailure("%w", err)
	}
	return string(b), nil
}

func (o *scanOptions) writeReport(rep *scan.Report, stdout io.Writer) error {
	var b bytes.Buffer
	if err := formats[o.format](&b, rep); err != nil {
		return err
	}
	if o.output == "" {
		_, err := stdout.Write(b.Bytes())
		return err
	}
	if err := os.WriteFile(o.output, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	return nil
}

// verdict is the scan's exit status as an error. An incomplete scan is a
// failure to scan (2) even with findings: what it did not see may be
// worse, and the fix is to the scan, not only to the target.
func (o *scanOptions) verdict(rep *scan.Report, scanErr error) error {
	if msg := partialScan(rep); msg != "" {
		return scanFailure("%s", msg)
	}
	var failed []scan.EndpointResult
	for _, e := range rep.Endpoints {
		if e.Error != "" {
			failed = append(failed, e)
		}
	}
	if scanErr != nil && len(failed) == 0 {
		return scanFailure("%w", scanErr) // cancelled before an endpoint failed
	}
	if len(failed) > 0 {
		return scanFailure("%d of %d endpoints could not be scanned; %s: %s", len(failed), len(rep.Endpoints), failed[0].Name, scan.Sanitize(failed[0].Error))
	}
	// An endpoint the scan cannot vouch for is not a pass, whatever else
	// was found: exit 2, as for one it could not scan.
	if inc := rep.InconclusiveEndpoints(); len(inc) > 0 {
		return scanFailure("inconclusive: %d of %d endpoints could not be called leaky or clean; %s: %s%s", len(inc), len(rep.Endpoints), inc[0].Name, scan.Sanitize(strings.Join(inc[0].Inconclusive, "; ")), o.limitsHint(inc))
	}
	if o.failOn == "none" {
		return nil
	}
	floor, _ := scan.ParseSeverity(o.failOn)
	n := 0
	for _, f := range rep.Findings {
		if f.Severity.Rank() >= floor.Rank() {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	noun := "findings"
	if n == 1 {
		noun = "finding"
	}
	return scanStatus{1, fmt.Errorf("%d %s at or above --fail-on %s", n, noun, o.failOn)}
}

// presetLimits are the settings that let the preset's scan compare every
// channel of a tacit server: the per-client rules off (every probe comes
// from one machine) and the per-address ones above the dozen or so
// requests the scan sends each address on the two endpoints of a kind.
// .ci/run and the tests serve with the same.
const presetLimits = "TACIT_LIMIT_LOGIN_IP=off TACIT_LIMIT_REQUESTS_IP=off TACIT_LIMIT_RESET_SUBMIT_IP=off and free=50 lock=100 in TACIT_LIMIT_LOGIN, TACIT_LIMIT_SIGNUP, TACIT_LIMIT_RESET and TACIT_LIMIT_RESEND"

// limitsHint is what the preset adds to an inconclusive scan that tacit's
// own limits throttled: which settings to change while scanning. tacit's
// default limits are right for production and too tight for one machine
// sending every address a dozen times, and no plan of the scan's fits
// them: the per-client rule lets one machine make 30 requests an hour
// before it delays, the per-address ones 3 sign-ups, resets or resends,
// and the preset's 7 endpoints (8 with passkeys) need about 190 requests, 12 or more per
// address and kind. The scan cannot lift them itself.
func (o *scanOptions) limitsHint(inc []scan.EndpointResult) string {
	if o.preset != "tacit" {
		return ""
	}
	throttled := 0
	for _, e := range inc {
		if strings.Contains(strings.Join(e.Inconclusive, " "), "throttled") {
			throttled++
		}
	}
	if throttled == 0 {
		return ""
	}
	return fmt.Sprintf("\ntacit's limits throttled %d of these endpoints: to have every channel compared, serve while scanning with %s (as .ci/run does)", throttled, presetLimits)
}

// isTerminal reports whether w is a terminal, where a progress bar is
// welcome; in a pipe or a CI log it would be noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// scanUsage is the help of "tacit scan".
const scanUsage = `Usage:
  tacit scan [flags] -f target.yaml
  tacit scan [flags] --preset tacit [--known ADDRESS[:PASSWORD]] URL
  tacit scan [flags] --known ADDRESS[:PASSWORD] URL
  tacit scan init [--known ADDRESS[:PASSWORD]] [-o target.yaml] URL
  tacit scan init --har FILE [--known ADDRESS] [-o target.yaml]

Scans a web application's account endpoints for account enumeration: any
way its answers tell an identifier that has an account from one that has
not. The target file names the endpoints and the known identifiers (see the
documentation of package scan for its format).

With a URL and no target file, the scan first discovers the application's
forms: from the URL it follows links on the same host (those that read
like "Sign in", "Sign up", "Forgot password" first, at most --max-pages
pages), finds the sign-in, sign-up and password reset forms, guesses their
identifier and password fields, and takes hidden fields that change (CSRF
tokens) from the form's page on every probe. It prints what it found to
stderr, then scans it; --known names an account, as it must. "tacit scan
init" writes the discovered target file instead, to review and edit; with
--har it reads the requests of a HAR file saved from a browser's developer
tools while signing in, signing up and asking for a reset. Without --known
the file lists a placeholder that must be replaced before it scans.

Every report names the framework the scan recognised from cookie, field
and path names (Django and django-allauth, Rails and Devise, Laravel,
Spring Security, ASP.NET Core Identity, Keycloak, Cognito, WordPress,
Express, MediaWiki, DokuWiki, tacit), the clues, and that framework's own
fix for each finding.

--preset tacit scans a tacit server with no file: its JSON API (sign-in,
sign-up, password reset, verification resend), its HTML forms (sign-in,
sign-up, password reset) and, when passkeys are on (a base URL with a host
name), the passkey sign-in's options. With the dev mailbox on (mail: dev), it makes an
account of its own first; otherwise --known names an existing account, one
with no sign-up, reset or failed sign-in in the last hour (a throttle
counter it has and unknown addresses lack shows as a difference), and its
password if given. With the account's password the scan checks on each
sign-in endpoint that it signs in, as a wrong one does not.
Every probe comes from this machine, so switch the per-client throttle
rules (limit_login_ip, limit_requests_ip, limit_reset_submit_ip) off on the
server while it is scanned, and let the per-address ones (limit_login,
limit_signup, limit_reset, limit_resend) through more than 12 times: a
throttled answer never reaches the account logic, and an endpoint whose
every address is throttled is inconclusive.

Flags:
  -f FILE            target file
  --preset tacit     scan the tacit server at URL
  --known ADDRESS    an address that has an account (with --preset or a URL;
                     may be ADDRESS:PASSWORD to check that the sign-in
                     endpoints sign the account in; with a URL, several
                     separated by commas)
  --max-pages N      pages the discovery fetches at most (default 20)
  --format FORMAT    text (default), json, sarif or html
  -o FILE            write the report to FILE instead of stdout
  --fail-on LEVEL    exit 1 on a finding of LEVEL or above: low (default),
                     medium, high, or none
  --probes N         rounds of probes per endpoint (default 6)
  --timeout D        time limit of each request (default 30s)
  --max-wait D       longest Retry-After to wait out before sending a
                     throttled probe again (default 10s; at most three
                     times that of waits an endpoint); the waits are said
                     on stderr, and an endpoint left with too few
                     unthrottled rounds is inconclusive, with the wait a
                     paced scan would need
  --print-target     print the target file the scan would use, then exit
  --timing           also compare response times, with interleaved pairs,
                     stopping as soon as a difference is decided (a few
                     milliseconds within 200 requests) and otherwise sized
                     to find a 50µs difference (up to 10,000 requests an
                     endpoint: failed sign-ins for the known accounts,
                     mails from reset and resend endpoints); progress and
                     the time left go to stderr
  --timing-budget D  with --timing, the most time the timing check may take
                     in all, shared among the endpoints (e.g. 10m); an
                     endpoint whose share runs out is judged at the
                     resolution it reached, or inconclusive if it got too
                     few pairs to test
  --order-test       also send a known and an unknown identifier's requests
                     together over one HTTP/2 connection, their last bytes in
                     one packet, and see whose answer comes first (the
                     "timeless" timing attack: network jitter cannot hide a
                     difference); up to 10,000 requests an endpoint, like
                     --timing; skipped, with a note, on a target without
                     HTTP/2, and on an endpoint --timing already reported
  --state            also send each identifier the same request 20 times, to
                     find lockouts and rate limits that treat known accounts
                     differently (may lock the known accounts and sends mail:
                     use test accounts)

Every endpoint gets one verdict: leak (a finding), clean (every channel
compared, the identifier shown to reach the application), or inconclusive,
with the reason (server errors, throttled answers, channels that vary by
themselves, an identifier that seems to be ignored, a sign-in that answers
the known account's right password like a wrong one, a known identifier
locked before the scan, a timing measurement cut short). Answers to a POST
that redirect to the same origin are followed (GET, at most 3 hops), and
the page they lead to is compared too: a flash message shown after the
redirect is a channel.

Exit status: 0 no finding at or above --fail-on and no inconclusive
endpoint, 1 such a finding, 2 the scan could not be done or is
inconclusive (bad flags or target file, unreachable target, endpoints that
could not be scanned or not be called leaky or clean) or was cut short
(SIGINT, SIGTERM or --timing-budget: the report lists every endpoint, those
not decided as inconclusive).
`

// The tacit preset.

// presetDomain is the domain of the account the preset signs up: .example
// is reserved (RFC 2606), so its mail can never reach anyone.
const presetDomain = "tacit-scan.example"

// signupLink finds the link of a sign-up mail: /register/complete
// (choose a password) in email-first mode, /verify in full-form mode.
var signupLink = regexp.MustCompile(`(/register/complete|/verify)\?token=([A-Za-z0-9_-]+)`)

// confirmLink finds the link of an email change confirmation.
var confirmLink = regexp.MustCompile(`/email/confirm\?token=([A-Za-z0-9_-]+)`)

// mailWait bounds how long the preset waits for its sign-up mail; the
// server's mail worker delivers it within moments.
const mailWait = 15 * time.Second

// tacitPreset builds the target of a tacit server at base. Unless known
// names an account (ADDRESS or ADDRESS:PASSWORD), it signs one up through
// the dev mailbox (only when signUp is set: --print-target shows the
// address it would use). The target gives the account's password where
// it is known, so the scan checks that it signs in.
func tacitPreset(ctx context.Context, client *http.Client, base, known string, signUp bool, stderr io.Writer) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageError{fmt.Sprintf("scan: %q is not an http or https URL", base)}
	}
	base = strings.TrimSuffix(u.String(), "/")
	jar, _ := cookiejar.New(nil) // never fails without options
	withJar := *client
	withJar.Jar = jar // the session of the account the preset makes
	p := &presetClient{ctx: ctx, client: &withJar, base: base}
	fullForm, err := p.fullForm()
	if err != nil {
		return "", err
	}
	var account knownAccount
	if known != "" {
		account.id, account.password, _ = strings.Cut(known, ":")
	} else {
		if account, err = p.ownAccount(fullForm, signUp); err != nil {
			return "", err
		}
		if signUp && isTerminal(stderr) {
			fmt.Fprintf(stderr, "signed up %s through the dev mailbox\n", account.id)
		}
	}
	passkeys, err := p.passkeysOn()
	if err != nil {
		return "", err
	}
	return tacitTarget(base, account, fullForm, passkeys), nil
}

// passkeysOn reports whether the server offers passkey sign-in: its
// options endpoint answers 404 passkeys_off when the base URL's host is an
// IP address, and an endpoint that answers nothing but that cannot be
// compared.
func (p *presetClient) passkeysOn() (bool, error) {
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, p.base+passkeyOptionsPath, nil)
	if err != nil {
		return false, scanFailure("%s: %w", p.base, err)
	}
	status, _, err := p.do(req)
	return status == http.StatusOK, err
}

// passkeyOptionsPath is tacit's passkey sign-in options endpoint: it takes
// no body and answers every caller with an empty allowCredentials
// (discoverable credentials only). The second step's options
// (/api/login/mfa/passkey/options) list an account's passkeys, but only
// to the holder of its password and second-step cookie: an outsider gets
// the same refusal as for any failed sign-in, and no options to compare.
const passkeyOptionsPath = "/api/passkey/login/options"

// presetClient talks to the tacit server the preset prepares.
type presetClient struct {
	ctx    context.Context
	client *http.Client
	base   string
}

// fullForm reports whether the server's sign-up form asks for the
// password (registration_mode full_form); it also finds out whether the
// server answers at all.
func (p *presetClient) fullForm() (bool, error) {
	status, body, err := p.get("/register")
	if err != nil {
		return false, err
	}
	if status != http.StatusOK {
		return false, scanFailure("%s: GET /register answered %d; is this a tacit server?", p.base, status)
	}
	return strings.Contains(body, `name="password_confirm"`), nil
}

// ownAccount makes a fresh account through the dev mailbox and returns
// its address, the known identifier of the scan, and its password (none
// unless signUp).
//
// The account is signed up under a throwaway address and then moved to
// the scanned one by an email change. Signing up the scanned address
// directly would count one sign-up request against it, and tacit throttles
// sign-ups per address for an hour: the known address would reach the
// limit one round before its unknown partners, a difference the scan
// rightly reports. An email change counts against the old address, so the
// scanned address starts with no history, like its partners.
func (p *presetClient) ownAccount(fullForm, signUp bool) (knownAccount, error) {
	status, _, err := p.get("/_dev/mailbox")
	if err != nil {
		return knownAccount{}, err
	}
	if status != http.StatusOK {
		return knownAccount{}, scanFailure("%s: the dev mailbox is off (GET /_dev/mailbox answered %d), so the scan cannot sign up an account of its own; name one with --known ADDRESS", p.base, status)
	}
	known := presetAddress("scan-")
	if !signUp {
		return knownAccount{id: known}, nil
	}
	password := strongPassword()
	if err := p.signUp(presetAddress("scan-setup-"), password, fullForm); err != nil {
		return knownAccount{}, err
	}
	if err := p.moveTo(known, password); err != nil {
		return knownAccount{}, err
	}
	// Signing in proves the move; a successful sign-in clears the
	// address's failed sign-in count, which was zero anyway.
	if err := p.post("/api/login", map[string]string{"email": known, "password": password}, http.StatusOK); err != nil {
		return knownAccount{}, err
	}
	return knownAccount{id: known, password: password}, nil
}

// presetAddress is a fresh address on presetDomain.
func presetAddress(prefix string) string {
	return prefix + strings.ToLower(crand.Text()[:12]) + "@" + presetDomain
}

// signUp makes an account for email with password through the JSON API
// and the mailed link, which also signs it in (the session cookie goes to
// p's cookie jar).
func (p *presetClient) signUp(email, password string, fullForm bool) error {
	fields := map[string]string{"email": email}
	if fullForm {
		fields["password"], fields["password_confirm"] = password, password
	}
	if err := p.post("/api/register", fields, http.StatusAccepted); err != nil {
		return err
	}
	link, err := p.mailedLink(email, signupLink)
	if err != nil {
		return err
	}
	if link[1] == "/verify" {
		return p.post("/api/verify", map[string]string{"token": link[2], "password": password}, http.StatusOK)
	}
	return p.post("/api/register/complete", map[string]string{"token": link[2], "password": password, "password_confirm": password}, http.StatusCreated)
}

// moveTo changes the signed-in account's address to email and confirms
// the change with the mailed link.
func (p *presetClient) moveTo(email, password string) error {
	if err := p.post("/api/email/change", map[string]string{"email": email, "password": password}, http.StatusAccepted); err != nil {
		return err
	}
	link, err := p.mailedLink(email, confirmLink)
	if err != nil {
		return err
	}
	return p.post("/api/email/confirm", map[string]string{"token": link[1]}, 0)
}

// strongPassword is a random password any sensible policy accepts: 26
// random characters from crypto/rand with lower and upper case, plus a
// digit and a symbol. Nobody needs to know it: the account only has to
// exist.
func strongPassword() string {
	t := crand.Text()
	return strings.ToLower(t[:13]) + t[13:] + "7!"
}

// mailedLink waits for a mail to email in the dev mailbox whose text
// matches link, and returns the match.
func (p *presetClient) mailedLink(email string, link *regexp.Regexp) ([]string, error) {
	deadline := time.Now().Add(mailWait)
	for {
		status, body, err := p.get("/_dev/mailbox")
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, scanFailure("%s: GET /_dev/mailbox answered %d", p.base, status)
		}
		var mails []struct{ To, Text string }
		if err := json.Unmarshal([]byte(body), &mails); err != nil {
			return nil, scanFailure("%s: read the dev mailbox: %w", p.base, err)
		}
		for _, m := range mails {
			if m.To != email {
				continue
			}
			if match := link.FindStringSubmatch(m.Text); match != nil {
				return match, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, scanFailure("%s: no mail with a link for %s in the dev mailbox after %s", p.base, email, mailWait)
		}
		select {
		case <-p.ctx.Done():
			return nil, scanFailure("%w", p.ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (p *presetClient) get(path string) (int, string, error) {
	req, err := http.NewRequestWithContext(p.ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return 0, "", scanFailure("%s: %w", p.base, err)
	}
	return p.do(req)
}

// post sends fields as JSON and wants the status want (0: any success).
func (p *presetClient) post(path string, fields map[string]string, want int) error {
	b, _ := json.Marshal(fields) // a map of strings always encodes
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, p.base+path, bytes.NewReader(b))
	if err != nil {
		return scanFailure("%s: %w", p.base, err)
	}
	req.Header.Set("Content-Type", "application/json")
	status, body, err := p.do(req)
	if err != nil {
		return err
	}
	if status == want || (want == 0 && status/100 == 2) {
		return nil
	}
	hint := ""
	if status == http.StatusTooManyRequests {
		hint = "; the server throttles this client: switch its per-client throttle rules off while it is scanned"
	}
	return scanFailure("%s: making the scan's own account: POST %s answered %d %s%s", p.base, path, status, strings.TrimSpace(body), hint)
}

func (p *presetClient) do(req *http.Request) (int, string, error) {
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, "", scanFailure("%s is unreachable: %w", p.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, "", scanFailure("%s: %s %s: read answer: %w", p.base, req.Method, req.URL.Path, err)
	}
	return resp.StatusCode, string(body), nil
}

// tacitTarget is the target file of a tacit server: the JSON API, and the
// HTML forms, each with a before step that fetches the form and takes its
// CSRF token, as a browser does.
//
// With passkeys on, the passkey sign-in's options endpoint is scanned
// too, as kind webauthn_options with no identifier: its options must be
// of one shape, with an empty allowCredentials, for every request.
func tacitTarget(base string, known knownAccount, fullForm, passkeys bool) string {
	register := `{email: "{{identifier}}"}`
	if fullForm {
		register = `{email: "{{identifier}}", password: "{{password}}", password_confirm: "{{password}}"}`
	}
	form := func(name string, kind scan.Kind, path, fields string) string {
		return fmt.Sprintf(`  - name: %s
    kind: %s
    path: %s
    form: {csrf_token: "{{csrf}}", %s}
    before:
      - path: %s
        extract: {csrf: {input: csrf_token}}
`, name, kind, path, strings.Trim(fields, "{}"), path)
	}
	mode := "email_first"
	if fullForm {
		mode = "full_form"
	}
	passkey := "# passkeys are off (the base URL's host is an IP address): " + passkeyOptionsPath + " not scanned.\n"
	if passkeys {
		passkey = fmt.Sprintf("  - {name: api-passkey-options, kind: %s, method: POST, path: %s}\n", scan.KindWebAuthnOptions, passkeyOptionsPath)
	}
	return fmt.Sprintf(`# tacit scan --preset tacit: a tacit server (registration_mode %s).
base_url: %q
known: [%s]
endpoints:
  - {name: api-login, kind: login, path: /api/login, json: {email: "{{identifier}}", password: "{{password}}"}}
  - {name: api-register, kind: register, path: /api/register, json: %s}
  - {name: api-forgot, kind: reset, path: /api/password/forgot, json: {email: "{{identifier}}"}}
  - {name: api-resend, kind: resend, path: /api/verify/resend, json: {email: "{{identifier}}"}}
`, mode, base, known.yaml(), register) +
		form("login", scan.KindLogin, "/login", `{email: "{{identifier}}", password: "{{password}}"}`) +
		form("register", scan.KindRegister, "/register", register) +
		form("forgot", scan.KindReset, "/password/forgot", `{email: "{{identifier}}"}`) + passkey
}

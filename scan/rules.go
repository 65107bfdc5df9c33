package scan

import (
	"fmt"
	"strings"
)

// Severity ranks findings; SARIF maps high to "error", medium to
// "warning" and low to "note".
type Severity string

// The severities, from least to most serious.
const (
	SeverityLow    Severity = "low"
	SeverityMedium Severity = "medium"
	SeverityHigh   Severity = "high"
)

// Rank orders severities: 1 low, 2 medium, 3 high, 0 unknown.
func (s Severity) Rank() int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	}
	return 0
}

// ParseSeverity reads a severity as a --fail-on flag gives it.
func ParseSeverity(s string) (Severity, error) {
	sev := Severity(strings.ToLower(strings.TrimSpace(s)))
	if sev.Rank() == 0 {
		return "", fmt.Errorf("unknown severity %q; want low, medium or high", s)
	}
	return sev, nil
}

// Rule is a kind of finding. Its ID is stable across releases: reports,
// SARIF uploads and suppression lists refer to it.
type Rule struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Severity    Severity `json:"severity"`
	Remediation string   `json:"remediation"`
}

// The rule IDs.
const (
	RuleResponseContent = "USER_ENUM_RESPONSE_CONTENT"
	RuleStatusCode      = "USER_ENUM_STATUS_CODE"
	RuleRedirect        = "USER_ENUM_REDIRECT"
	RuleHeaders         = "USER_ENUM_HEADERS"
	RuleCookies         = "USER_ENUM_COOKIES"
	RuleLength          = "USER_ENUM_LENGTH"
	RuleTiming          = "USER_ENUM_TIMING"
	RuleRegister        = "USER_ENUM_REGISTER"
	RulePasswordReset   = "USER_ENUM_PASSWORD_RESET"
	RuleLockout         = "USER_ENUM_LOCKOUT"
	RuleRateLimit       = "USER_ENUM_RATE_LIMIT"
	RulePasskey         = "USER_ENUM_PASSKEY"
)

// Rules is every rule the scanner knows, in report order. The remediation
// texts say what to change and how to check the change with a rescan.
var Rules = []Rule{
	{
		ID: RuleResponseContent, Title: "Response text tells whether an account exists", Severity: SeverityHigh,
		Remediation: "Answer every request that names an identifier with one message, whatever state the account is in: " +
			"for sign-in \"Email or password is incorrect\", for reset, resend and email change \"If an account exists for that address, " +
			"we have sent instructions\". Build the answer from the request alone (what was typed, generic wording) and let account " +
			"existence decide only which mail is queued. Keep page titles, field errors and hidden fields identical too. " +
			"Re-run the scan: the endpoint must report no finding.",
	},
	{
		ID: RuleStatusCode, Title: "Status code tells whether an account exists", Severity: SeverityHigh,
		Remediation: "Return one status for every failure of this endpoint (for example 401 for any failed sign-in, 202 for any " +
			"reset or resend request). A 404 or 403 for unknown identifiers and a 401 or 200 for known ones is a direct oracle. " +
			"Map the flow's outcome to a status in one place, and make sure that outcome cannot carry existence. " +
			"Re-run the scan to confirm the status no longer differs.",
	},
	{
		ID: RuleRedirect, Title: "Redirect target tells whether an account exists", Severity: SeverityHigh,
		Remediation: "Send every request that is not a proven sign-in to the same place, with the same query string: " +
			"for example always back to the form with one generic error, or always to a \"check your inbox\" page. " +
			"Do not encode the reason for a failure (unknown user, wrong password, unverified) in the Location header or its parameters. " +
			"Re-run the scan to confirm the redirect no longer differs.",
	},
	{
		ID: RuleHeaders, Title: "Response headers tell whether an account exists", Severity: SeverityMedium,
		Remediation: "Emit the same set of headers with the same values for every identifier: remove debugging or state headers " +
			"(account id, user state, cache tags keyed by user) from unauthenticated answers, and make caching, content type and " +
			"rate-limit headers independent of the account. Headers that must vary per request (request ids) should vary for " +
			"everyone alike. Re-run the scan to confirm.",
	},
	{
		ID: RuleCookies, Title: "Cookies tell whether an account exists", Severity: SeverityMedium,
		Remediation: "Set the same cookies, with the same names and attributes (Path, Domain, Max-Age, Secure, HttpOnly, SameSite), " +
			"on every answer that does not sign someone in. A cookie only set for real accounts (a remembered email, a pending-MFA " +
			"marker before the password is proven, a different flash cookie) reveals the account. Issue such cookies only after a " +
			"proof of control such as the right password. Re-run the scan to confirm.",
	},
	{
		ID: RuleLength, Title: "Response length tells whether an account exists", Severity: SeverityMedium,
		Remediation: "The answers look the same but their bodies differ in length (white space, padding, an empty element): " +
			"an attacker compares Content-Length without reading the page. Render every identifier's answer from one template " +
			"with the same data, so the bytes, not just the visible text, are identical. Re-run the scan to confirm.",
	},
	{
		ID: RuleTiming, Title: "Response time tells whether an account exists", Severity: SeverityMedium,
		Remediation: "Do the same expensive work on every branch: hash the submitted password against a dummy hash with the live " +
			"parameters when the account does not exist, write the same rows, and queue mail asynchronously instead of sending " +
			"it during the request. Then put a floor under the handler's time (answer no earlier than a fixed delay above its " +
			"normal work) so residual differences disappear. Re-run the scan with more probes to confirm the distributions match.",
	},
	{
		ID: RuleRegister, Title: "Sign-up validation tells whether an account exists", Severity: SeverityHigh,
		Remediation: "Run every validation of the sign-up form (required fields, email syntax, password length and character " +
			"classes, confirmation match, breached-password check) before and independent of any lookup of the address, so the " +
			"same input gets the same errors for any address. Only all-valid input may reach the existence branch, and both branches " +
			"must answer \"check your inbox\", mailing the owner of an existing account instead of telling the requester. " +
			"Re-run the scan: no input class may answer differently.",
	},
	{
		ID: RulePasswordReset, Title: "Password reset tells whether an account exists", Severity: SeverityHigh,
		Remediation: "Answer every reset request the same way whether or not an account uses the address: one status, one " +
			"redirect target, the same headers and cookies, and one page or JSON body, byte for byte, saying \"If an account exists " +
			"for that address, we have sent instructions\". The finding's channel says what differs now, but the fix is the same " +
			"for all of them: build the answer from the request alone and let account existence decide only which mail is queued. " +
			"Re-run the scan: the endpoint must report no finding.",
	},
	{
		ID: RuleLockout, Title: "Lockout tells whether an account exists", Severity: SeverityMedium,
		Remediation: "Key failed-attempt counters by a keyed hash of the normalised identifier, not by account id, so unknown " +
			"identifiers are delayed and locked exactly like real ones, with the same message and Retry-After. Notify the owner of " +
			"a real account by mail instead of changing the answer. Re-run the scan to confirm the lockout sequence is identical.",
	},
	{
		ID: RuleRateLimit, Title: "Rate limiting tells whether an account exists", Severity: SeverityMedium,
		Remediation: "Count requests per identifier whether or not an account exists, and answer a throttled request the same way " +
			"(status, body, Retry-After) for everyone. A limit that only real accounts hit tells an attacker which addresses are " +
			"registered after a few requests. Re-run the scan to confirm both sides are throttled alike.",
	},
	{
		ID: RulePasskey, Title: "Passkey sign-in options tell whether an account exists", Severity: SeverityHigh,
		Remediation: "Answer a request for WebAuthn sign-in options the same way for every identifier (WebAuthn Level 3, " +
			"§14.6.2 and §14.6.3). Best, ask for no identifier at all: offer discoverable credentials (resident keys) and send an " +
			"empty allowCredentials to everyone, so there is nothing to compare. Where credential ids must be listed, give an " +
			"unknown identifier imaginary ones derived deterministically from a keyed hash (HMAC with a server secret) of the " +
			"normalised identifier: stable for one identifier, different across identifiers, as many as real accounts have and " +
			"as long as real ids are (the same distribution), in the same JSON shape, and never an error such as \"no credentials\". " +
			"Random fake ids (they change on every request), one fixed list for every unknown identifier, an empty or missing " +
			"allowCredentials, or ids of another length all tell the two apart. Re-run the scan: the endpoint must report no finding.",
	},
}

// RuleByID returns the rule with id, and whether there is one.
func RuleByID(id string) (Rule, bool) {
	for _, r := range Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

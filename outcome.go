package tacit

import "time"

// OutcomeKind names the public result of a flow.
type OutcomeKind string

// The public outcomes. None of them can say whether an address has an
// account: a flow picks one from the request's own input and from proofs of
// control (a correct password, a token from the mailbox, a live session),
// never from an existence lookup. Existence only chooses which mail is queued.
const (
	CheckInbox         OutcomeKind = "check_inbox"         // 202: look at your mail
	Invalid            OutcomeKind = "invalid_input"       // 422: Fields says what to fix
	InvalidToken       OutcomeKind = "invalid_token"       // 400: link unknown, used or expired
	InvalidCredentials OutcomeKind = "invalid_credentials" // 401: one answer for every failed login
	Unauthenticated    OutcomeKind = "unauthenticated"     // 401: no valid session
	Throttled          OutcomeKind = "too_many_requests"   // 429: RetryAfter says when to try again
	SignedIn           OutcomeKind = "signed_in"           // 200: Session is set
	AccountCreated     OutcomeKind = "account_created"     // 201: Session is set
	MFARequired        OutcomeKind = "mfa_required"        // 200: only after a correct password
	Done               OutcomeKind = "done"                // 204: nothing to say
	ProofRequired      OutcomeKind = "proof_required"      // 428: solve a proof-of-work challenge first (flow.ProofMode)
)

// Outcome is everything a flow tells its caller. The HTTP layer maps it to
// a response in one place and can leak nothing it is not given.
type Outcome struct {
	Kind       OutcomeKind
	Fields     FieldErrors   // with Invalid
	RetryAfter time.Duration // with Throttled
	Session    *NewSession   // with SignedIn and AccountCreated
	Challenge  *NewSession   // with MFARequired: the token of the second step
	// Device, with SignedIn after a password and Done after a password
	// reset or change, is a device token for the client to keep (as a
	// long-lived cookie) and present at later sign-ins to the same
	// address: it lets the owner in while an outsider's failures hold the
	// address back. A password change or reset ends every earlier one.
	Device string
}

// NewSession is a session just started for the requester. Token is the
// secret to hand back (as a cookie); it is never stored in this form.
type NewSession struct {
	Token     string
	ExpiresAt time.Time
}

// FieldErrors maps an input field name to an error code.
type FieldErrors map[string]string

// Field error codes (docs/DESIGN.md §7).
const (
	CodeRequired       = "required"
	CodeInvalidEmail   = "invalid_email"
	CodeTooShort       = "too_short"
	CodeTooLong        = "too_long"
	CodeMissingClasses = "missing_classes"
	CodeMismatch       = "mismatch"
	CodeBreached       = "breached"
	// CodeIncorrect is a one-time code that does not match (MFA set-up).
	CodeIncorrect = "incorrect"
)

// InvalidInput returns the Invalid outcome for fe, or the zero Outcome when
// fe is empty.
func InvalidInput(fe FieldErrors) Outcome {
	if len(fe) == 0 {
		return Outcome{}
	}
	return Outcome{Kind: Invalid, Fields: fe}
}

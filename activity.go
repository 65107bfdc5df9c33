package tacit

import "time"

// Event is one entry of an account's activity: what happened, when, and
// from which client. The log is append-only: an event is never changed,
// only purged after the retention period, or deleted with its account.
type Event struct {
	ID        int64
	AccountID int64
	Kind      EventKind
	At        time.Time
	IP        string
	UserAgent string
	// Count is, for EventSignedIn, how many failed sign-ins the address's
	// counter held just before (in the sign-in limit's window); 0
	// otherwise.
	Count int
	// Actor, Operation and Outcome are set on EventAdminAPI: the name of
	// the administration API token that made the call (never the token
	// itself), what it asked for (show, disable, …) and how that ended
	// (done, unchanged, refused: …).
	Actor, Operation, Outcome string
}

// EventKind names what happened on an account.
type EventKind string

// The events of an account's activity.
const (
	EventSignedIn             EventKind = "signed_in"
	EventPasswordChanged      EventKind = "password_changed"
	EventPasswordReset        EventKind = "password_reset"
	EventEmailChanged         EventKind = "email_changed"
	EventMFAEnabled           EventKind = "mfa_enabled"
	EventMFADisabled          EventKind = "mfa_disabled"
	EventRecoveryCodesRenewed EventKind = "recovery_codes_renewed"
	// EventSessionsEnded: the owner signed out one or all other devices.
	EventSessionsEnded EventKind = "sessions_ended"
	// EventNotMe: the owner said an event was not theirs; every session
	// ended and a reset link was mailed.
	EventNotMe EventKind = "not_me"
	// Operator actions (tacit users).
	EventDisabled                EventKind = "disabled"
	EventEnabled                 EventKind = "enabled"
	EventSessionsEndedByOperator EventKind = "sessions_ended_by_operator"
	EventResetSent               EventKind = "reset_sent"
	// EventAdminAPI is the audit record of one call of the
	// administration API on the account (Event.Actor, Operation,
	// Outcome), beside what the call itself recorded.
	EventAdminAPI EventKind = "admin_api"
)

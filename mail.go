package tacit

import (
	"strings"
	"time"
)

// MailKind names a message template.
type MailKind string

// The messages tacit sends. Which one is queued is the only thing that
// depends on whether an address has an account, and only the address owner
// ever sees it.
const (
	// MailFinishSignup carries the link that lets a new address choose a
	// password and become an account (email-first sign-up).
	MailFinishSignup MailKind = "finish_signup"
	// MailVerify carries the link that confirms a full-form sign-up.
	MailVerify MailKind = "verify"
	// MailAlreadyRegistered tells an account owner that someone tried to
	// sign up with their address, and links to password reset.
	MailAlreadyRegistered MailKind = "already_registered"
	// MailNone is a row that delivers nothing. Flows queue it in the
	// branches that send no mail so every branch writes one outbox row
	// (equal work, docs/DESIGN.md §3); the worker just marks it done.
	MailNone MailKind = "none"
)

// Mail is one queued message in the transactional outbox. It is written in
// the same transaction as the state change that causes it and rendered and
// delivered later by a worker, never on the request path.
type Mail struct {
	ID   int64
	Kind MailKind
	To   string
	// Data fills the template: links (which carry secret tokens) and
	// similar values. It is cleared once the mail is delivered.
	Data      map[string]string
	CreatedAt time.Time
	// Attempts counts delivery tries so far; set by the outbox.
	Attempts int
}

// DevMail is a message captured by the dev mail driver instead of being
// sent, as shown at /_dev/mailbox.
type DevMail struct {
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sent_at"`
}

// Mails of the account life cycle after sign-up.
const (
	// MailResetPassword carries a password reset link (Data: link, expires).
	MailResetPassword MailKind = "reset_password"
	// MailResetUnknown tells an address without an account that someone
	// asked to reset its password (only with notify_unknown; Data:
	// register, the sign-up page).
	MailResetUnknown MailKind = "reset_unknown"
	// MailPasswordChanged tells an owner their password changed (Data:
	// reset).
	MailPasswordChanged MailKind = "password_changed"
	// MailConfirmEmailChange asks the new address to confirm a change
	// (Data: link, expires).
	MailConfirmEmailChange MailKind = "confirm_email_change"
	// MailEmailTaken tells a new address that it already has an account,
	// so the change to it cannot happen (Data: login, reset).
	MailEmailTaken MailKind = "email_taken"
	// MailEmailChangeRequested tells the old address that a change away
	// from it was requested (Data: new_email, reset).
	MailEmailChangeRequested MailKind = "email_change_requested"
	// MailEmailChanged tells the old address the change is done (Data:
	// new_email, reset).
	MailEmailChanged MailKind = "email_changed"
	// MailAccountLocked tells an owner that sign-in to their account is
	// paused after repeated failures (Data: reset, until).
	MailAccountLocked MailKind = "account_locked"
	// MailAccountDeleted confirms to the former owner that their account
	// and its data were deleted (Data: register, to sign up again).
	MailAccountDeleted MailKind = "account_deleted"
)

// Mails about multi-factor sign-in.
const (
	// MailMFAEnabled tells an owner that sign-in now asks for a code from
	// an authenticator app (Data: reset).
	MailMFAEnabled MailKind = "mfa_enabled"
	// MailMFADisabled tells an owner that sign-in no longer asks for a
	// code (Data: reset).
	MailMFADisabled MailKind = "mfa_disabled"
	// MailMFALocked tells an owner that someone gave the right password
	// and then too many wrong second-step codes, so the second step is
	// paused: their password is known (Data: reset, until).
	MailMFALocked MailKind = "mfa_locked"
	// MailRecoveryCodesRenewed tells an owner that new recovery codes
	// were made and the old ones no longer work (Data: reset).
	MailRecoveryCodesRenewed MailKind = "recovery_codes_renewed"
)

// Mails about passkeys.
const (
	// MailPasskeyAdded tells an owner that a passkey now signs in to
	// their account (Data: name, reset).
	MailPasskeyAdded MailKind = "passkey_added"
	// MailPasskeyRemoved tells an owner that a passkey no longer signs
	// in to their account (Data: name, reset).
	MailPasskeyRemoved MailKind = "passkey_removed"
)

// MaskEmail shortens an address for logs: "alice@example.com" becomes
// "a***@example.com". The domain helps to diagnose delivery; the full
// address would put personal data, and who signed up, into every log.
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return "***"
	}
	first := []rune(addr[:at])[0]
	return string(first) + "***" + addr[at:]
}

// OwnerNotice reports whether k is a security notice to an account's
// holder about their own account: what changed on it (password, address,
// two-step sign-in, passkeys) or that someone is guessing at it. No limit or cap
// ever drops one: flow's per-address mail allowance does not apply to
// them, and an outbox over its cap drops other pending mail first and
// never these (see flow's ownerNotice for why each is here).
func (k MailKind) OwnerNotice() bool {
	switch k {
	case MailPasswordChanged, MailEmailChanged, MailEmailChangeRequested,
		MailMFAEnabled, MailMFADisabled, MailMFALocked, MailAccountLocked,
		MailRecoveryCodesRenewed, MailPasskeyAdded, MailPasskeyRemoved, MailAccountDeleted:
		return true
	}
	return false
}

// OwnerNoticeKinds lists the kinds for which OwnerNotice is true, for
// storage engines that must name them in a query.
func OwnerNoticeKinds() []MailKind {
	return []MailKind{MailPasswordChanged, MailEmailChanged, MailEmailChangeRequested,
		MailMFAEnabled, MailMFADisabled, MailMFALocked, MailAccountLocked,
		MailRecoveryCodesRenewed, MailPasskeyAdded, MailPasskeyRemoved, MailAccountDeleted}
}

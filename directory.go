package tacit

import (
	"context"
	"time"
)

// AccountDirectory is the operator's view of the accounts, for `tacit
// users` and the administration API. Unlike every public flow it says
// whether an address has an account, so nothing an outsider can reach may
// read it. Each engine's DB implements it next to Store.
type AccountDirectory interface {
	// ListAccounts returns, in ID order, up to q.Limit accounts whose ID
	// is above q.After and that match q.
	ListAccounts(ctx context.Context, q AccountQuery) ([]AccountInfo, error)
	// AccountInfo describes the account of a normalised address at now;
	// ErrNotFound if it has none.
	AccountInfo(ctx context.Context, email string, now time.Time) (AccountInfo, error)
}

// AccountState is an account's standing as an operator filters it.
type AccountState string

// The account states.
const (
	AccountActive   AccountState = "active"   // may sign in
	AccountDisabled AccountState = "disabled" // an operator disabled it
)

// AccountQuery selects accounts for ListAccounts.
type AccountQuery struct {
	// Contains keeps the addresses that contain it; "" keeps all. It is
	// compared with the normalised addresses as given, so pass it
	// through NormalizeEmail.
	Contains string
	// State keeps the accounts in that state; "" keeps all.
	State AccountState
	// After is the ID the page starts after (0 for the first page).
	After int64
	// Limit is the most accounts returned.
	Limit int
	// Now decides which sessions are live.
	Now time.Time
}

// AccountInfo is what an operator sees of an account: never its password
// hash, a token or a second factor's secret.
type AccountInfo struct {
	ID        int64        `json:"id"`
	Email     string       `json:"email"`
	State     AccountState `json:"state"`
	CreatedAt time.Time    `json:"created_at"`
	// MFA is whether sign-in asks for an authenticator code.
	MFA bool `json:"mfa"`
	// RecoveryCodes counts the unused recovery codes.
	RecoveryCodes int `json:"recovery_codes"`
	// Sessions counts the sessions that have not reached their absolute
	// expiry.
	Sessions int `json:"sessions"`
	// LastSessionAt is when the newest of those sessions started (zero:
	// none).
	LastSessionAt time.Time `json:"last_session_at,omitzero"`
	// LastSignInAt is the newest sign-in in the account's activity
	// (zero: none kept).
	LastSignInAt time.Time `json:"last_sign_in_at,omitzero"`
}

package tacit

import (
	"context"
	"time"
)

// AdminScope is what an administration API token may do.
type AdminScope string

// The scopes of administration API tokens.
const (
	// AdminRead lists and shows accounts.
	AdminRead AdminScope = "read"
	// AdminWrite does everything: AdminRead's reads, and every change
	// (disable, enable, delete, end sessions, send a reset link, invite).
	AdminWrite AdminScope = "write"
)

// Allows reports whether a token of scope s may do what needs scope need.
func (s AdminScope) Allows(need AdminScope) bool {
	return s == AdminWrite || (s == AdminRead && need == AdminRead)
}

// AdminToken is a bearer token of the administration API. The token
// itself is shown once, when it is made; only the SHA-256 of its secret
// part is kept, and ID, the part before it, finds the row.
type AdminToken struct {
	// ID is the token's public selector: random, unique, not secret.
	ID string
	// Name is the operator's name for the token, unique; it is what the
	// audit records name.
	Name  string
	Scope AdminScope
	// SecretHash is the SHA-256 of the token's secret part.
	SecretHash []byte
	CreatedAt  time.Time
	// LastUsedAt is when the token last authenticated a call (zero:
	// never).
	LastUsedAt time.Time
}

// AdminTokenStore keeps the administration API's tokens.
type AdminTokenStore interface {
	// CreateAdminToken inserts t. ErrConflict if its name or ID is taken.
	CreateAdminToken(ctx context.Context, t AdminToken) error
	// AdminTokenByID finds the token whose selector is id.
	AdminTokenByID(ctx context.Context, id string) (AdminToken, error)
	// AdminTokens lists every token, by name.
	AdminTokens(ctx context.Context) ([]AdminToken, error)
	// DeleteAdminToken removes the token called name; ErrNotFound if
	// there is none.
	DeleteAdminToken(ctx context.Context, name string) error
	// TouchAdminToken sets the LastUsedAt of token id.
	TouchAdminToken(ctx context.Context, id string, at time.Time) error
}

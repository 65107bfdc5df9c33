package flow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/tacitauth/tacit"
)

// Errors of the administration API's tokens.
var (
	// ErrBadAdminToken means a presented token is malformed, unknown or
	// wrong: one error for all, so a caller learns nothing of which.
	ErrBadAdminToken = errors.New("not a valid admin token")
	// ErrNoAdminToken means no token has the name given.
	ErrNoAdminToken = errors.New("no admin token")
	// ErrAdminTokenExists means a token has the name given already.
	ErrAdminTokenExists = errors.New("an admin token has this name already")
	// ErrBadAdminTokenName means a name is empty, too long or holds
	// characters other than letters, digits, '-', '_' and '.'.
	ErrBadAdminTokenName = errors.New("an admin token's name is 1 to 64 letters, digits, '-', '_' or '.'")
	// ErrBadScope means a scope is neither read nor write.
	ErrBadScope = errors.New("the scope is read or write")
	// ErrNoDirectory means the store cannot list accounts
	// (tacit.AccountDirectory).
	ErrNoDirectory = errors.New("this store cannot list accounts")
)

// adminTokenPrefix starts every administration API token, so that one
// pasted where it should not be is recognised for what it is (secret
// scanners, log review).
const adminTokenPrefix = "tacit_admin_"

// adminIDBytes is the size of a token's selector: it only has to be
// unique, the secret part is what cannot be guessed.
const adminIDBytes = 12

// maxAdminTokenName bounds a token's name.
const maxAdminTokenName = 64

// checkTokenName refuses a name that would be awkward in a log line, an
// audit record or a shell.
func checkTokenName(name string) error {
	if name == "" || len(name) > maxAdminTokenName {
		return ErrBadAdminTokenName
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return ErrBadAdminTokenName
		}
	}
	return nil
}

// CreateAdminToken makes a token for the administration API called name
// with the given scope, and returns it: the only time it is seen, as
// only the SHA-256 of its secret part is kept. The token is
// "tacit_admin_" + a random selector + "." + 256 random bits.
func (o *Operator) CreateAdminToken(ctx context.Context, name string, scope tacit.AdminScope) (string, error) {
	if err := checkTokenName(name); err != nil {
		return "", err
	}
	if scope != tacit.AdminRead && scope != tacit.AdminWrite {
		return "", fmt.Errorf("%w, got %q", ErrBadScope, scope)
	}
	id := make([]byte, adminIDBytes)
	rand.Read(id) // crypto/rand.Read never fails
	secret, _ := tacit.NewToken()
	t := tacit.AdminToken{
		ID: base64.RawURLEncoding.EncodeToString(id), Name: name, Scope: scope,
		SecretHash: hashSecret(secret), CreatedAt: o.cfg.Now(),
	}
	err := o.store.Update(ctx, func(tx tacit.Tx) error { return tx.CreateAdminToken(ctx, t) })
	if errors.Is(err, tacit.ErrConflict) {
		return "", fmt.Errorf("%q: %w", name, ErrAdminTokenExists)
	}
	if err != nil {
		return "", err
	}
	return adminTokenPrefix + t.ID + "." + secret, nil
}

// AdminTokens lists the administration API's tokens by name: never a
// secret (the store holds none).
func (o *Operator) AdminTokens(ctx context.Context) ([]tacit.AdminToken, error) {
	var list []tacit.AdminToken
	err := o.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		list, err = tx.AdminTokens(ctx)
		return err
	})
	return list, err
}

// RemoveAdminToken deletes the token called name: it stops working at
// once.
func (o *Operator) RemoveAdminToken(ctx context.Context, name string) error {
	err := o.store.Update(ctx, func(tx tacit.Tx) error { return tx.DeleteAdminToken(ctx, name) })
	if errors.Is(err, tacit.ErrNotFound) {
		return fmt.Errorf("%w called %q", ErrNoAdminToken, name)
	}
	return err
}

// CheckAdminToken returns the token that token is, and records its use;
// ErrBadAdminToken if it is none. The selector finds the row; the
// secret's hash is then compared in constant time, so how long the check
// takes does not tell how much of a guessed secret was right.
func (o *Operator) CheckAdminToken(ctx context.Context, token string) (tacit.AdminToken, error) {
	id, secret, ok := strings.Cut(strings.TrimPrefix(token, adminTokenPrefix), ".")
	if !ok || !strings.HasPrefix(token, adminTokenPrefix) || len(id) != base64.RawURLEncoding.EncodedLen(adminIDBytes) || !tacit.WellFormedToken(secret) {
		return tacit.AdminToken{}, ErrBadAdminToken
	}
	var t tacit.AdminToken
	err := o.store.Update(ctx, func(tx tacit.Tx) error {
		var err error
		t, err = tx.AdminTokenByID(ctx, id)
		if errors.Is(err, tacit.ErrNotFound) {
			return ErrBadAdminToken
		}
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(hashSecret(secret), t.SecretHash) != 1 {
			return ErrBadAdminToken
		}
		t.LastUsedAt = o.cfg.Now()
		return tx.TouchAdminToken(ctx, t.ID, t.LastUsedAt)
	})
	if err != nil {
		return tacit.AdminToken{}, err
	}
	return t, nil
}

// hashSecret is the stored form of a token's secret part. SHA-256 fits:
// the secret is 256 random bits, so there is nothing to stretch against
// guessing, and the check stays cheap.
func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// directory returns the store's account directory, for List and Show.
func (o *Operator) directory() (tacit.AccountDirectory, error) {
	d, ok := o.store.(tacit.AccountDirectory)
	if !ok {
		return nil, ErrNoDirectory
	}
	return d, nil
}

// List returns one page of accounts matching q (q.Contains is normalised
// here, q.Now set if zero), and the ID to give as q.After for the next
// page, 0 when this is the last.
func (o *Operator) List(ctx context.Context, q tacit.AccountQuery) (list []tacit.AccountInfo, next int64, err error) {
	d, err := o.directory()
	if err != nil {
		return nil, 0, err
	}
	if q.Limit < 1 {
		return nil, 0, errors.New("flow: AccountQuery.Limit must be at least 1")
	}
	q.Contains = tacit.NormalizeEmail(q.Contains)
	if q.Now.IsZero() {
		q.Now = o.cfg.Now()
	}
	limit := q.Limit
	q.Limit++ // one more tells whether there is a next page
	list, err = d.ListAccounts(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	if len(list) > limit {
		list = list[:limit]
		next = list[len(list)-1].ID
	}
	return list, next, nil
}

// Show describes the account of an address and its newest events, up to
// events of them, newest first.
func (o *Operator) Show(ctx context.Context, raw string, events int) (tacit.AccountInfo, []tacit.Event, error) {
	d, err := o.directory()
	if err != nil {
		return tacit.AccountInfo{}, nil, err
	}
	email, err := o.address(raw)
	if err != nil {
		return tacit.AccountInfo{}, nil, err
	}
	info, err := d.AccountInfo(ctx, email, o.cfg.Now())
	if errors.Is(err, tacit.ErrNotFound) {
		return tacit.AccountInfo{}, nil, fmt.Errorf("%w for %s", ErrNoAccount, email)
	}
	if err != nil {
		return tacit.AccountInfo{}, nil, err
	}
	var list []tacit.Event
	err = o.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		list, err = tx.Events(ctx, info.ID, events)
		return err
	})
	return info, list, err
}

// Audit is one call of the administration API, as recorded.
type Audit struct {
	// Token is the name of the token that made the call.
	Token string
	// Operation is what it asked for: list, show, disable, ….
	Operation string
	// Email is the address the call was about, as given ("" for list).
	Email string
	// Outcome is how it ended: done, unchanged, refused: ….
	Outcome string
}

// Audit records a call of the administration API in the activity of the
// account of a.Email, if it has one now (an account deleted by the call
// has none left to record in); it reports whether it recorded. It runs
// after the call, in a transaction of its own, so that refused calls are
// recorded too.
func (o *Operator) Audit(ctx context.Context, a Audit) (bool, error) {
	email, err := o.address(a.Email)
	if err != nil {
		return false, nil // no address, no account
	}
	recorded := false
	err = o.store.Update(ctx, func(tx tacit.Tx) error {
		acc, err := tx.AccountByEmail(ctx, email)
		if errors.Is(err, tacit.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		recorded = true
		return addEvent(ctx, tx, tacit.Event{AccountID: acc.ID, Kind: tacit.EventAdminAPI, At: o.cfg.Now(),
			Actor: a.Token, Operation: a.Operation, Outcome: a.Outcome})
	})
	return recorded, err
}

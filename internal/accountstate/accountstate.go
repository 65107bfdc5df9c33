// Package accountstate is the table of account states that the uniformity
// tests run over (docs/DESIGN.md §1): every flow, at the unit and the HTTP level,
// must answer identically for an address in any state and one in any other.
// Arrange puts an address into a state directly through the store.
package accountstate

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/passkeytest"
)

// State is one condition an address can be in.
type State string

// The states. Add a state here and every table-driven uniformity test runs
// over it.
const (
	None           State = "none"            // no account, no sign-up
	Pending        State = "pending"         // one unfinished sign-up
	SeveralPending State = "several_pending" // three unfinished sign-ups
	Verified       State = "verified"        // a registered, verified account
	Disabled       State = "disabled"        // an account an operator disabled
	ResetPending   State = "reset_pending"   // a verified account with an unused reset link out
	MFAEnabled     State = "mfa_enabled"     // a verified account that signs in with a TOTP code too
	PasskeyEnabled State = "passkey"         // a verified account with a passkey (its second step after the password)
	// MailSpent is a verified account whose mail allowance (the default
	// Limits.Mail) someone else has spent: the next mail an outsider can
	// cause is held back.
	MailSpent State = "mail_spent"
	// Deleted is an address whose account, with everything it held (a
	// session, two-step sign-in, a reset link, a pending address
	// change, a sign-up made while it existed), was deleted: it must be
	// indistinguishable from None.
	Deleted State = "deleted"
)

// TOTPSecret is the authenticator secret of MFAEnabled accounts, so tests
// that know the password can make their codes.
const TOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// All lists every state.
var All = []State{None, Pending, SeveralPending, Verified, Disabled, ResetPending, MFAEnabled, PasskeyEnabled, MailSpent, Deleted}

// Pairs returns every ordered pair of distinct states plus each state with
// itself, the cases a uniformity test compares.
func Pairs() [][2]State {
	var out [][2]State
	for _, a := range All {
		for _, b := range All {
			out = append(out, [2]State{a, b})
		}
	}
	return out
}

// HasAccount reports whether the state includes an account.
func (s State) HasAccount() bool {
	return s == Verified || s == Disabled || s == ResetPending || s == MFAEnabled || s == PasskeyEnabled || s == MailSpent
}

// Arrange puts email into state. Accounts get password as their password,
// hashed with h; sign-ups expire a day from now.
func Arrange(ctx context.Context, st tacit.Store, h tacit.Hasher, state State, email, password string) error {
	now := time.Now()
	signups := map[State]int{Pending: 1, SeveralPending: 3}[state]
	if state == Deleted {
		return arrangeDeleted(ctx, st, h, email, password)
	}
	var hash string
	if state.HasAccount() {
		var err error
		if hash, err = h.Hash(tacit.NormalizePassword(password)); err != nil {
			return err
		}
	}
	var mailKey []byte
	if state == MailSpent {
		secret, err := st.Secret(ctx, "throttle")
		if err != nil {
			return fmt.Errorf("arrange %s: %w", state, err)
		}
		mailKey = throttleKey(secret, "mail", email)
	}
	return st.Update(ctx, func(tx tacit.Tx) error {
		if mailKey != nil {
			lim := flow.DefaultLimits().Mail
			for range lim.Free {
				if _, err := tx.HitCounter(ctx, mailKey, now, lim.Window); err != nil {
					return fmt.Errorf("arrange %s: %w", state, err)
				}
			}
		}
		for i := 0; i < signups; i++ {
			_, th := tacit.NewToken()
			s := tacit.Signup{Email: email, TokenHash: th, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
			if err := tx.CreateSignup(ctx, &s); err != nil {
				return fmt.Errorf("arrange %s: %w", state, err)
			}
		}
		if state.HasAccount() {
			a := tacit.Account{Email: email, PasswordHash: hash, CreatedAt: now, Disabled: state == Disabled}
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return fmt.Errorf("arrange %s: %w", state, err)
			}
			if state == MFAEnabled {
				t := tacit.TOTP{AccountID: a.ID, Secret: TOTPSecret, Enabled: true, CreatedAt: now}
				if err := tx.SaveTOTP(ctx, t); err != nil {
					return fmt.Errorf("arrange %s: %w", state, err)
				}
			}
			if state == PasskeyEnabled {
				if err := AddPasskey(ctx, tx, a, now); err != nil {
					return fmt.Errorf("arrange %s: %w", state, err)
				}
			}
			if state == ResetPending {
				_, th := tacit.NewToken()
				r := tacit.ResetToken{AccountID: a.ID, TokenHash: th, PasswordStamp: tacit.PasswordStamp(a.PasswordHash), CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute)}
				if err := tx.CreateResetToken(ctx, &r); err != nil {
					return fmt.Errorf("arrange %s: %w", state, err)
				}
			}
		}
		return nil
	})
}

// Passkey is the passkey of a PasskeyEnabled account at email, for tests
// that sign in with it.
func Passkey(email string) *passkeytest.Passkey { return passkeytest.Fixed(email) }

// AddPasskey stores Passkey(a.Email) as a's, as adding it would.
func AddPasskey(ctx context.Context, tx tacit.Tx, a tacit.Account, now time.Time) error {
	pk := Passkey(a.Email)
	pub, err := pk.PublicKey()
	if err != nil {
		return err
	}
	record, err := json.Marshal(webauthn.Credential{ID: pk.ID, PublicKey: pub, AttestationType: "none"})
	if err != nil {
		return err
	}
	p := tacit.Passkey{AccountID: a.ID, CredentialID: pk.ID, UserHandle: pk.UserHandle, Name: "Passkey", Credential: record, CreatedAt: now}
	return tx.CreatePasskey(ctx, &p)
}

// Between is what happens to an address between an outsider's requests
// about it. Nothing the owner does may change what the outsider sees
// afterwards, and neither may a full counter table
// treat the address differently from any other. The uniformity tests
// make OutsiderFailures failed sign-ins about an address in each state,
// let Between happen (the owner's part only where there is a live
// account to act for), try again, and compare every answer with those
// for an address without an account. Each test level (flow, HTTP) acts
// out a Between its own way.
type Between string

// The betweens.
const (
	Nothing Between = "nothing"
	// The owner signed in from a browser that had signed in before the
	// outsider came (it holds a device token).
	OwnerSignedIn Between = "owner_signed_in"
	// The owner signed in from a new browser, once the outsider's delay
	// had passed.
	OwnerSignedInNewDevice Between = "owner_signed_in_new_device"
	// The owner asked for a reset link (as anyone can, so it is asked for
	// every address), set a new password with it and signed in.
	OwnerReset Between = "owner_reset_password"
	// The owner, signed in before, changed the password.
	OwnerChangedPassword Between = "owner_changed_password"
	// The counter table filled up with counters that hold their keys
	// back, past the cap, and was trimmed.
	CounterTableFull Between = "counter_table_full"
)

// AllBetween lists every Between.
var AllBetween = []Between{Nothing, OwnerSignedIn, OwnerSignedInNewDevice, OwnerReset, OwnerChangedPassword, CounterTableFull}

// OutsiderFailures is how many failed sign-ins the outsider makes before
// the Between: the default limit's free attempts, so the next is delayed.
const OutsiderFailures = 5

// Live reports whether the state has an account whose owner can sign in.
func (s State) Live() bool { return s.HasAccount() && s != Disabled }

// throttleKey is flow's counter key for identifier under rule (an HMAC
// with the server's "throttle" secret). If the two ever part, the flow
// uniformity table, which expects MailSpent's mail to be held back, fails.
func throttleKey(secret []byte, rule, identifier string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(rule))
	m.Write([]byte{0})
	m.Write([]byte(identifier))
	return m.Sum(nil)
}

// arrangeDeleted gives email an account holding one of everything an
// account can hold, and deletes it.
func arrangeDeleted(ctx context.Context, st tacit.Store, h tacit.Hasher, email, password string) error {
	hash, err := h.Hash(tacit.NormalizePassword(password))
	if err != nil {
		return err
	}
	now := time.Now()
	err = st.Update(ctx, func(tx tacit.Tx) error {
		a := tacit.Account{Email: email, PasswordHash: hash, CreatedAt: now}
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		ss := tacit.Session{AccountID: a.ID, TokenHash: tacit.HashToken("session of " + email), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := tx.CreateSession(ctx, &ss); err != nil {
			return err
		}
		_, rh := tacit.NewToken()
		_, eh := tacit.NewToken()
		_, sh := tacit.NewToken()
		_, ch := tacit.NewToken()
		for _, err := range []error{
			tx.SaveTOTP(ctx, tacit.TOTP{AccountID: a.ID, Secret: TOTPSecret, Enabled: true, CreatedAt: now}),
			tx.SetRecoveryCodes(ctx, a.ID, [][]byte{tacit.HashToken("code of " + email)}),
			tx.CreateResetToken(ctx, &tacit.ResetToken{AccountID: a.ID, TokenHash: rh, PasswordStamp: tacit.PasswordStamp(hash), CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute)}),
			tx.CreateEmailChange(ctx, &tacit.EmailChange{AccountID: a.ID, NewEmail: "moved-" + email, TokenHash: eh, SessionID: ss.ID, PasswordStamp: tacit.PasswordStamp(hash), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
			tx.CreateSignup(ctx, &tacit.Signup{Email: email, TokenHash: sh, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}),
			tx.CreateMFAChallenge(ctx, &tacit.MFAChallenge{AccountID: a.ID, TokenHash: ch, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}),
		} {
			if err != nil {
				return err
			}
		}
		return tx.DeleteAccount(ctx, a.ID)
	})
	if err != nil {
		return fmt.Errorf("arrange %s: %w", Deleted, err)
	}
	return nil
}

package flow

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/tacitauth/tacit"
)

// Passkeys (WebAuthn credentials, through go-webauthn/webauthn).
//
// A passkey signs in on its own, with no address typed: the browser
// offers the passkeys it holds for this site (a discoverable credential),
// the server learns whose passkey it is only from the signed answer, and
// every failure (unknown credential, bad signature, disabled account,
// spent or foreign challenge) is one InvalidCredentials after the same
// work. After the right password, an account with passkeys asks for one
// as the second step, as it asks for a TOTP code; only then are the
// account's credential ids sent (allowCredentials). tacit never answers
// an address with credential ids before the password (see the README for
// why).
const (
	// PasskeyTTL is how long a ceremony waits for the browser's answer.
	PasskeyTTL = 5 * time.Minute
	// PasskeyFreshSignIn is how recent a session's sign-in must be for
	// the owner to add a passkey without typing the password again
	// (FreshSignIn).
	PasskeyFreshSignIn = FreshSignIn
	// PasskeyNameMax is the longest passkey name, in characters.
	PasskeyNameMax = 64
	// userHandleBytes is the size of an account's WebAuthn user handle,
	// the most the spec allows, all random.
	userHandleBytes = 64
)

// ErrPasskeysOff means passkeys are unavailable: the base URL's host is
// an IP address, which WebAuthn does not accept as a relying party id.
var ErrPasskeysOff = errors.New("passkeys need a base URL with a host name")

// ErrNoPasskey means the signed-in account has no passkey of that id.
var ErrNoPasskey = errors.New("no such passkey")

// Ceremony is a WebAuthn ceremony started for a browser: the options to
// hand to navigator.credentials (JSON, {"publicKey": …}) and the
// challenge the browser must bring back with its answer, which the HTTP
// layer keeps in a short-lived cookie. Only its hash is stored.
type Ceremony struct {
	Options   json.RawMessage
	Token     string
	ExpiresAt time.Time
}

// PasskeyInfo describes one passkey to its owner.
type PasskeyInfo struct {
	ID         int64
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero if never used
	// Synced is the authenticator's backup state: the passkey is copied
	// to the owner's other devices (a password manager, a platform
	// account).
	Synced bool
}

// passkeys is the relying party's side of WebAuthn, made once by New.
type passkeys struct {
	wa *webauthn.WebAuthn
	// dummyKey is the public key, in COSE form, of a key pair nobody
	// holds. An answer naming an unknown credential is checked against
	// it, so it costs the signature check a known credential with a bad
	// signature costs, and fails at the same step.
	dummyKey []byte
	// dummyRecord is a stored credential record with dummyKey, which the
	// unknown credential's check decodes as a known one's is decoded.
	dummyRecord []byte
}

// newPasskeys configures WebAuthn for base: the relying party id is its
// host name, the only origin accepted its scheme, host and port. nil,
// ErrPasskeysOff if the host is an IP address.
func newPasskeys(base *url.URL) (*passkeys, error) {
	host := base.Hostname()
	if net.ParseIP(host) != nil {
		return nil, ErrPasskeysOff
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          host,
		RPDisplayName: host,
		RPOrigins:     []string{base.Scheme + "://" + base.Host},
		// Discoverable credentials, so sign-in needs no address, and the
		// authenticator's own check of its holder (PIN, biometrics), so
		// a passkey stands for both factors.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	raw, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: raw[1:33], YCoord: raw[33:],
	})
	if err != nil {
		return nil, err
	}
	record, err := json.Marshal(webauthn.Credential{PublicKey: cose, AttestationType: "none"})
	if err != nil {
		return nil, err
	}
	return &passkeys{wa: wa, dummyKey: cose, dummyRecord: record}, nil
}

// PasskeysOn reports whether passkeys can be used (see ErrPasskeysOff).
func (s *Service) PasskeysOn() bool { return s.passkeys != nil }

// passkeyUser is an account as go-webauthn sees it: its user handle, a
// name for the authenticator to show, and its credentials.
type passkeyUser struct {
	handle []byte
	name   string
	creds  []webauthn.Credential
	ids    []int64 // the passkey id of each of creds
}

func (u *passkeyUser) WebAuthnID() []byte                         { return u.handle }
func (u *passkeyUser) WebAuthnName() string                       { return u.name }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.name }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// passkeyOf returns the stored id of credential id, or 0.
func (u *passkeyUser) passkeyOf(id []byte) int64 {
	for i, c := range u.creds {
		if subtle.ConstantTimeCompare(c.ID, id) == 1 {
			return u.ids[i]
		}
	}
	return 0
}

// userOf builds the passkeyUser of an account's stored passkeys.
func userOf(handle []byte, name string, list []tacit.Passkey) (*passkeyUser, error) {
	u := &passkeyUser{handle: handle, name: name}
	for _, p := range list {
		var c webauthn.Credential
		if err := json.Unmarshal(p.Credential, &c); err != nil {
			return nil, fmt.Errorf("passkey %d: %w", p.ID, err)
		}
		// The columns are what each sign-in updates.
		c.ID = p.CredentialID
		c.Authenticator.SignCount = p.SignCount
		c.Flags.BackupEligible, c.Flags.BackupState = p.BackupEligible, p.BackupState
		u.creds = append(u.creds, c)
		u.ids = append(u.ids, p.ID)
	}
	return u, nil
}

// startCeremony records a ceremony's session data, without its challenge,
// and returns what the browser needs.
func (s *Service) startCeremony(ctx context.Context, tx tacit.Tx, purpose tacit.PasskeyPurpose, accountID int64, options any, session *webauthn.SessionData, now time.Time) (Ceremony, error) {
	token := session.Challenge
	stored := *session
	stored.Challenge = ""
	raw, err := json.Marshal(stored)
	if err != nil {
		return Ceremony{}, err
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return Ceremony{}, err
	}
	ch := tacit.PasskeyChallenge{TokenHash: tacit.HashToken(token), Purpose: purpose, AccountID: accountID,
		Session: raw, CreatedAt: now, ExpiresAt: now.Add(PasskeyTTL)}
	if err := tx.CreatePasskeyChallenge(ctx, &ch); err != nil {
		return Ceremony{}, fmt.Errorf("start passkey ceremony: %w", err)
	}
	return Ceremony{Options: opts, Token: token, ExpiresAt: ch.ExpiresAt}, nil
}

// takeCeremony spends the ceremony whose challenge is token: ok only if
// it exists, has not expired, and is of purpose for accountID (0 for a
// sign-in). A ceremony taken for the wrong purpose or account is spent
// all the same.
func (s *Service) takeCeremony(ctx context.Context, tx tacit.Tx, token string, purpose tacit.PasskeyPurpose, accountID int64, now time.Time) (webauthn.SessionData, bool, error) {
	if !tacit.WellFormedToken(token) {
		return webauthn.SessionData{}, false, nil
	}
	ch, err := tx.TakePasskeyChallenge(ctx, tacit.HashToken(token), now)
	if errors.Is(err, tacit.ErrNotFound) {
		return webauthn.SessionData{}, false, nil
	}
	if err != nil {
		return webauthn.SessionData{}, false, err
	}
	if ch.Purpose != purpose || ch.AccountID != accountID {
		return webauthn.SessionData{}, false, nil
	}
	var session webauthn.SessionData
	if err := json.Unmarshal(ch.Session, &session); err != nil {
		return webauthn.SessionData{}, false, fmt.Errorf("passkey ceremony: %w", err)
	}
	session.Challenge = token
	return session, true, nil
}

// passkeyName cleans a name typed by the owner: control and invisible
// characters dropped, spaces trimmed, "Passkey" when empty. Invalid when
// too long.
func passkeyName(name string) (string, tacit.FieldErrors) {
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name))
	if name == "" {
		name = "Passkey"
	}
	if utf8.RuneCountInString(name) > PasskeyNameMax {
		return "", tacit.FieldErrors{"name": tacit.CodeTooLong}
	}
	return name, nil
}

// BeginPasskey starts adding a passkey to the signed-in account: the
// creation options (a discoverable credential, the holder verified by the
// authenticator, excludeCredentials listing this account's passkeys and
// no other's, the account's user handle: 64 random bytes made with its
// first passkey) and the ceremony's challenge. A session signed in less
// than PasskeyFreshSignIn ago needs nothing more; an older one needs the
// password (Invalid when missing; InvalidCredentials when wrong, counted
// like a failed sign-in), so a session left open does not let anyone add
// a way in. Throttled past the client's PasskeyIP rule (admitCeremony).
func (s *Service) BeginPasskey(ctx context.Context, id Identity, password string, c Client) (tacit.Outcome, Ceremony, error) {
	if s.passkeys == nil {
		return tacit.Outcome{}, Ceremony{}, ErrPasskeysOff
	}
	if o, err := s.reauthenticate(ctx, id, password, c); err != nil || o.Kind != "" {
		return o, Ceremony{}, err
	}
	var (
		cer  Ceremony
		wait time.Duration
	)
	err := s.update(ctx, func(tx tacit.Tx) error {
		var err error
		if wait, err = s.admitCeremony(ctx, tx, c); err != nil || wait > 0 {
			return err
		}
		list, err := tx.PasskeysByAccount(ctx, id.Account.ID)
		if err != nil {
			return err
		}
		handle := make([]byte, userHandleBytes)
		rand.Read(handle)
		if len(list) > 0 {
			handle = list[0].UserHandle
		}
		u, err := userOf(handle, id.Account.Email, list)
		if err != nil {
			return err
		}
		creation, session, err := s.passkeys.wa.BeginRegistration(u,
			webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
		if err != nil {
			return err
		}
		cer, err = s.startCeremony(ctx, tx, tacit.PasskeyRegister, id.Account.ID, creation, session, s.cfg.Now())
		return err
	})
	if err != nil {
		return tacit.Outcome{}, Ceremony{}, fmt.Errorf("begin passkey: %w", err)
	}
	return begun(cer, wait)
}

// begun answers a ceremony begun (cer), or held back for wait.
func begun(cer Ceremony, wait time.Duration) (tacit.Outcome, Ceremony, error) {
	if wait > 0 {
		return throttled(wait), Ceremony{}, nil
	}
	return tacit.Outcome{Kind: tacit.Done}, cer, nil
}

// AddPasskey finishes BeginPasskey with the browser's answer (the JSON of
// a PublicKeyCredential made by navigator.credentials.create) and the
// ceremony's challenge, and stores the passkey under name: Done, and the
// owner is mailed. Invalid ("credential": "incorrect") for an answer that
// does not verify, a ceremony that is spent, expired or another
// account's, or a credential stored already; ("name": "too_long") for a
// long name.
func (s *Service) AddPasskey(ctx context.Context, id Identity, token, name string, response []byte) (tacit.Outcome, error) {
	if s.passkeys == nil {
		return tacit.Outcome{}, ErrPasskeysOff
	}
	name, fe := passkeyName(name)
	if fe != nil {
		return tacit.InvalidInput(fe), nil
	}
	incorrect := tacit.InvalidInput(tacit.FieldErrors{"credential": tacit.CodeIncorrect})
	parsed, perr := protocol.ParseCredentialCreationResponseBytes(response)
	added := false
	err := s.update(ctx, func(tx tacit.Tx) error {
		now := s.cfg.Now()
		session, ok, err := s.takeCeremony(ctx, tx, token, tacit.PasskeyRegister, id.Account.ID, now)
		if err != nil || !ok || perr != nil {
			return err
		}
		list, err := tx.PasskeysByAccount(ctx, id.Account.ID)
		if err != nil {
			return err
		}
		// Every passkey of an account carries the one handle.
		if len(list) > 0 && subtle.ConstantTimeCompare(list[0].UserHandle, session.UserID) != 1 {
			return nil
		}
		u, err := userOf(session.UserID, id.Account.Email, list)
		if err != nil {
			return err
		}
		cred, err := s.passkeys.wa.CreateCredential(u, session, parsed)
		if err != nil {
			return nil
		}
		record, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		p := tacit.Passkey{AccountID: id.Account.ID, CredentialID: cred.ID, UserHandle: session.UserID, Name: name,
			Credential: record, SignCount: cred.Authenticator.SignCount,
			BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, CreatedAt: now}
		if err := tx.CreatePasskey(ctx, &p); errors.Is(err, tacit.ErrConflict) {
			return nil
		} else if err != nil {
			return err
		}
		added = true
		return s.enqueue(ctx, tx, tacit.Mail{Kind: tacit.MailPasskeyAdded, To: id.Account.Email, Data: map[string]string{
			"name": name, "reset": s.cfg.Links.ForgotPassword(),
		}}, now)
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("add passkey: %w", err)
	}
	if !added {
		return incorrect, nil
	}
	return tacit.Outcome{Kind: tacit.Done}, nil
}

// Passkeys lists the signed-in account's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, id Identity) ([]PasskeyInfo, error) {
	var list []tacit.Passkey
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		list, err = tx.PasskeysByAccount(ctx, id.Account.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	out := make([]PasskeyInfo, 0, len(list))
	for _, p := range list {
		out = append(out, PasskeyInfo{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt, Synced: p.BackupState})
	}
	return out, nil
}

// RenamePasskey names one of the signed-in account's passkeys: Done,
// Invalid for a long name, ErrNoPasskey if the account has no such
// passkey.
func (s *Service) RenamePasskey(ctx context.Context, id Identity, passkey int64, name string) (tacit.Outcome, error) {
	name, fe := passkeyName(name)
	if fe != nil {
		return tacit.InvalidInput(fe), nil
	}
	err := s.store.Update(ctx, func(tx tacit.Tx) error { return tx.RenamePasskey(ctx, id.Account.ID, passkey, name) })
	if errors.Is(err, tacit.ErrNotFound) {
		return tacit.Outcome{}, ErrNoPasskey
	}
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("rename passkey: %w", err)
	}
	return tacit.Outcome{Kind: tacit.Done}, nil
}

// RemovePasskey removes one of the signed-in account's passkeys and mails
// the owner: Done, or ErrNoPasskey. Every account keeps its password, so
// a passkey is never the last way to sign in and may always go. Like
// adding one it needs reauthenticate's password (or a recent sign-in): a
// passkey may be the account's only second step, and a thief on a session
// left open must not be able to strip it and sign in with the password
// alone.
func (s *Service) RemovePasskey(ctx context.Context, id Identity, passkey int64, password string, c Client) (tacit.Outcome, error) {
	if o, err := s.reauthenticate(ctx, id, password, c); err != nil || o.Kind != "" {
		return o, err
	}
	err := s.update(ctx, func(tx tacit.Tx) error {
		list, err := tx.PasskeysByAccount(ctx, id.Account.ID)
		if err != nil {
			return err
		}
		name := ""
		for _, p := range list {
			if p.ID == passkey {
				name = p.Name
			}
		}
		if err := tx.DeletePasskey(ctx, id.Account.ID, passkey); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, tacit.Mail{Kind: tacit.MailPasskeyRemoved, To: id.Account.Email, Data: map[string]string{
			"name": name, "reset": s.cfg.Links.ForgotPassword(),
		}}, s.cfg.Now())
	})
	if errors.Is(err, tacit.ErrNotFound) {
		return tacit.Outcome{}, ErrNoPasskey
	}
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("remove passkey: %w", err)
	}
	return tacit.Outcome{Kind: tacit.Done}, nil
}

// PasskeyLoginOptions starts a sign-in with a discoverable passkey. It
// takes nothing and names nobody: the options carry a fresh challenge and
// an empty allowCredentials, the same for every caller. Done with the
// ceremony, or Throttled past the client's PasskeyIP rule.
//
// Each call stores a ceremony row for PasskeyTTL, so anyone could grow
// the table by calling it in a loop; the per-client rule bounds that.
// It takes no address, so its answers, 429 and Retry-After included, are
// the same for everyone. A stateless ceremony (the challenge and its
// expiry sealed into the cookie, only spent challenges recorded) would
// store nothing here, but it would move a row to every finish instead,
// need a sealing key of its own and a second way to spend ceremonies
// beside the registration's and the second step's, which share this
// table; the throttle is the machinery every other anonymous endpoint
// already uses, and is tested the same way.
func (s *Service) PasskeyLoginOptions(ctx context.Context, c Client) (tacit.Outcome, Ceremony, error) {
	if s.passkeys == nil {
		return tacit.Outcome{}, Ceremony{}, ErrPasskeysOff
	}
	assertion, session, err := s.passkeys.wa.BeginDiscoverableLogin()
	if err != nil {
		return tacit.Outcome{}, Ceremony{}, fmt.Errorf("passkey login options: %w", err)
	}
	var (
		cer  Ceremony
		wait time.Duration
	)
	err = s.store.Update(ctx, func(tx tacit.Tx) error {
		now := s.cfg.Now()
		var err error
		wait, err = s.admitCeremony(ctx, tx, c)
		if err != nil || wait > 0 {
			return err
		}
		cer, err = s.startCeremony(ctx, tx, tacit.PasskeyLogin, 0, assertion, session, now)
		return err
	})
	if err != nil {
		return tacit.Outcome{}, Ceremony{}, fmt.Errorf("passkey login options: %w", err)
	}
	return begun(cer, wait)
}

// PasskeyLogin finishes a sign-in begun by PasskeyLoginOptions with the
// browser's answer (the JSON of a PublicKeyCredential from
// navigator.credentials.get) and the ceremony's challenge: SignedIn, as
// after a password and a second step (the authenticator verified its
// holder), or InvalidCredentials for every failure: malformed answer,
// unknown credential, bad signature, user handle of another account,
// disabled account, spent, expired or foreign challenge. An unknown
// credential is checked against a key nobody holds, so it fails at the
// signature check like a known one with a bad signature.
func (s *Service) PasskeyLogin(ctx context.Context, token string, response []byte, c Client) (tacit.Outcome, error) {
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.passkeyLogin(ctx, token, response, c) })
}

func (s *Service) passkeyLogin(ctx context.Context, token string, response []byte, c Client) (tacit.Outcome, error) {
	if s.passkeys == nil {
		return tacit.Outcome{}, ErrPasskeysOff
	}
	parsed, perr := protocol.ParseCredentialRequestResponseBytes(response)
	var done tacit.Outcome
	err := s.update(ctx, func(tx tacit.Tx) error {
		done = tacit.Outcome{}
		now := s.cfg.Now()
		session, ok, err := s.takeCeremony(ctx, tx, token, tacit.PasskeyLogin, 0, now)
		if err != nil || !ok || perr != nil {
			return err
		}
		var (
			found   tacit.Passkey
			known   bool
			readErr error
		)
		handler := func(rawID, userHandle []byte) (webauthn.User, error) {
			p, err := tx.PasskeyByCredential(ctx, rawID)
			if err != nil && !errors.Is(err, tacit.ErrNotFound) {
				readErr = err
			}
			if err == nil && subtle.ConstantTimeCompare(p.UserHandle, userHandle) == 1 {
				u, err := userOf(p.UserHandle, "", []tacit.Passkey{p})
				if err == nil {
					found, known = p, true
					return u, nil
				}
				readErr = err
			}
			return s.dummyUser(rawID, userHandle)
		}
		_, cred, verr := s.passkeys.wa.ValidatePasskeyLogin(handler, session, parsed)
		if readErr != nil {
			return readErr
		}
		if verr != nil || !known {
			return nil
		}
		a, err := tx.AccountByID(ctx, found.AccountID)
		if err != nil {
			return err
		}
		if a.Disabled {
			return nil
		}
		if err := s.usedPasskey(ctx, tx, found, cred, now); err != nil {
			return err
		}
		done, err = s.finishSignIn(ctx, tx, a, c, passkeySignIn)
		return err
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("passkey login: %w", err)
	}
	if done.Kind == "" {
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	return done, nil
}

// dummyUser stands for the owner of a credential id that no account has:
// its one credential has that id and the key nobody holds, decoded from a
// record as a stored one is.
func (s *Service) dummyUser(rawID, userHandle []byte) (webauthn.User, error) {
	return userOf(userHandle, "", []tacit.Passkey{{CredentialID: rawID, UserHandle: userHandle, Credential: s.passkeys.dummyRecord}})
}

// usedPasskey records a sign-in with p: its signature counter, its backup
// state, the time. A counter that did not move forward (go-webauthn's
// clone warning) is logged and left as it was: two copies of the key may
// exist. The sign-in goes on, as the spec leaves to the relying party:
// synced passkeys share one key by design, and most keep the counter at
// zero.
func (s *Service) usedPasskey(ctx context.Context, tx tacit.Tx, p tacit.Passkey, cred *webauthn.Credential, now time.Time) error {
	count := cred.Authenticator.SignCount
	if cred.Authenticator.CloneWarning {
		s.cfg.Log.Warn("passkey signature counter went backwards: the authenticator may be cloned",
			"account", p.AccountID, "passkey", p.ID, "stored", p.SignCount)
		count = p.SignCount
	}
	return tx.UsePasskey(ctx, p.ID, count, cred.Flags.BackupState, now)
}

// hasPasskeys reports whether account id has a passkey, which makes a
// passkey its second step after the password.
func (s *Service) hasPasskeys(ctx context.Context, tx tacit.Tx, id int64) (bool, error) {
	if s.passkeys == nil {
		return false, nil
	}
	list, err := tx.PasskeysByAccount(ctx, id)
	return len(list) > 0, err
}

// PasskeySecondStep starts the second step of a sign-in that Login
// answered with MFARequired, with a passkey instead of a code: the
// request options list the account's passkeys (allowCredentials), which
// only the holder of the password and of the second-step token gets.
// Done with the ceremony; InvalidCredentials, and nothing started, for
// an unknown, expired or spent second step, or an account without
// passkeys; Throttled past the client's PasskeyIP rule, which counts
// every call, good second step or not (admitCeremony).
func (s *Service) PasskeySecondStep(ctx context.Context, challenge string, c Client) (tacit.Outcome, Ceremony, error) {
	if s.passkeys == nil {
		return tacit.Outcome{}, Ceremony{}, ErrPasskeysOff
	}
	var (
		cer  Ceremony
		ok   bool
		wait time.Duration
	)
	err := s.update(ctx, func(tx tacit.Tx) error {
		cer, ok = Ceremony{}, false
		var err error
		if wait, err = s.admitCeremony(ctx, tx, c); err != nil || wait > 0 {
			return err
		}
		if !tacit.WellFormedToken(challenge) {
			return nil
		}
		now := s.cfg.Now()
		ch, err := tx.MFAChallengeByToken(ctx, tacit.HashToken(challenge), now)
		if errors.Is(err, tacit.ErrNotFound) || (err == nil && ch.Failures >= ChallengeFailures) {
			return nil
		}
		if err != nil {
			return err
		}
		list, err := tx.PasskeysByAccount(ctx, ch.AccountID)
		if err != nil || len(list) == 0 {
			return err
		}
		u, err := userOf(list[0].UserHandle, "", list)
		if err != nil {
			return err
		}
		// The password was checked already: presence is enough, as
		// with a code.
		assertion, session, err := s.passkeys.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
		if err != nil {
			return err
		}
		cer, err = s.startCeremony(ctx, tx, tacit.PasskeySecondStep, ch.AccountID, assertion, session, now)
		ok = err == nil
		return err
	})
	switch {
	case err != nil:
		return tacit.Outcome{}, Ceremony{}, fmt.Errorf("passkey second step: %w", err)
	case wait > 0:
		return throttled(wait), Ceremony{}, nil
	case !ok:
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, Ceremony{}, nil
	}
	return tacit.Outcome{Kind: tacit.Done}, cer, nil
}

// admitCeremony counts the start of a passkey ceremony under the
// client's PasskeyIP rule and returns how long the client must wait
// first. Each ceremony stores a row for PasskeyTTL: without this, anyone
// who signed up (adding a passkey needs only a fresh session) or holds a
// password (the second step's options) could grow the table in a loop.
func (s *Service) admitCeremony(ctx context.Context, tx tacit.Tx, c Client) (time.Duration, error) {
	wait, _, err := s.admit(ctx, tx, s.cfg.Now(), rule{name: "passkey-ip", limit: s.cfg.Limits.PasskeyIP, id: clientKey(c.IP)})
	return wait, err
}

// LoginMFAPasskey finishes a second step begun by PasskeySecondStep with
// the browser's answer: SignedIn, InvalidCredentials for every failure,
// or Throttled, counted like LoginMFA's wrong codes (against the
// challenge, the account's MFA limit and its failures in a row).
func (s *Service) LoginMFAPasskey(ctx context.Context, challenge, token string, response []byte, c Client) (tacit.Outcome, error) {
	return s.paced(ctx, func() (tacit.Outcome, error) { return s.loginMFAPasskey(ctx, challenge, token, response, c) })
}

func (s *Service) loginMFAPasskey(ctx context.Context, challenge, token string, response []byte, c Client) (tacit.Outcome, error) {
	if s.passkeys == nil {
		return tacit.Outcome{}, ErrPasskeysOff
	}
	if !tacit.WellFormedToken(challenge) {
		return tacit.Outcome{Kind: tacit.InvalidCredentials}, nil
	}
	parsed, perr := protocol.ParseCredentialRequestResponseBytes(response)
	var (
		done   tacit.Outcome
		wait   time.Duration
		locked bool
	)
	err := s.update(ctx, func(tx tacit.Tx) error {
		done, wait = tacit.Outcome{}, 0
		now := s.cfg.Now()
		ch, err := tx.MFAChallengeByToken(ctx, tacit.HashToken(challenge), now)
		if errors.Is(err, tacit.ErrNotFound) || (err == nil && ch.Failures >= ChallengeFailures) {
			return nil
		}
		if err != nil {
			return err
		}
		session, ok, err := s.takeCeremony(ctx, tx, token, tacit.PasskeySecondStep, ch.AccountID, now)
		if err != nil {
			return err
		}
		var a tacit.Account
		a, wait, locked, err = s.admitSecondStep(ctx, tx, ch.AccountID, now)
		if err != nil || wait > 0 {
			return err
		}
		list, err := tx.PasskeysByAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		var (
			cred *webauthn.Credential
			u    *passkeyUser
			verr = errors.New("no passkey")
		)
		if ok && perr == nil && len(list) > 0 {
			if u, err = userOf(list[0].UserHandle, "", list); err != nil {
				return err
			}
			cred, verr = s.passkeys.wa.ValidateLogin(u, session, parsed)
		}
		if verr != nil || a.Disabled {
			return s.failedSecondStep(ctx, tx, ch, a, locked, now)
		}
		for _, p := range list {
			if p.ID == u.passkeyOf(cred.ID) {
				if err := s.usedPasskey(ctx, tx, p, cred, now); err != nil {
					return err
				}
			}
		}
		done, err = s.passedSecondStep(ctx, tx, a, c)
		return err
	})
	if err != nil {
		return tacit.Outcome{}, fmt.Errorf("login mfa passkey: %w", err)
	}
	return secondStepOutcome(done, wait), nil
}

// endPasskeys removes every passkey of account a and its pending passkey
// ceremonies, as a new password does: a passkey added by someone who had
// the old password (or a session) must not outlive the owner taking the
// account back, and nothing tells the owner's passkeys from a thief's.
// It returns how many passkeys it removed.
func endPasskeys(ctx context.Context, tx tacit.Tx, accountID int64) (int, error) {
	list, err := tx.PasskeysByAccount(ctx, accountID)
	if err != nil {
		return 0, err
	}
	if err := tx.DeletePasskeys(ctx, accountID); err != nil {
		return 0, err
	}
	return len(list), tx.DeletePasskeyChallenges(ctx, accountID)
}

// Package flow holds tacit's account flows: sign-up, verification, login,
// logout and sessions. Each flow returns a tacit.Outcome whose value never
// depends on whether an address has an account; existence only decides which
// mail is queued. The package knows nothing of HTTP or SQL: it takes a
// tacit.Store and a tacit.Hasher.
package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tacitauth/tacit"
)

// Mode is how sign-up works.
type Mode string

const (
	// EmailFirst asks only for an address; the password is chosen after
	// following the mailed link. It is the default and the strongest: the
	// sign-up form has nothing to validate but the address's syntax.
	EmailFirst Mode = "email_first"
	// FullForm asks for address, password and confirmation at once.
	FullForm Mode = "full_form"
)

// Config tunes the flows. The zero value of each field means its value in
// DefaultConfig.
type Config struct {
	Mode   Mode
	Policy tacit.PasswordPolicy // zero Min and Max: tacit.DefaultPasswordPolicy()
	Links  tacit.Links          // required: links in mail use Links.Base

	SignupTTL       time.Duration // how long a sign-up link works
	SessionIdle     time.Duration // a session unused this long ends
	SessionLifetime time.Duration // a session ends this long after sign-in

	// Envelope is the least time a sensitive flow takes. Flows that look
	// up an address sleep until it has passed, so what residual
	// difference the equal work leaves (a cache hit, an index miss) is
	// hidden under it (docs/DESIGN.md §3). Zero disables it; see MeasureEnvelope.
	Envelope time.Duration
	// RecalibrateEnvelope keeps the envelope measured while the service
	// runs, starting from Envelope (see Service.RecalibrateEnvelope).
	RecalibrateEnvelope bool
	// EnvelopeSamples are encoded hashes made with other parameters than
	// the hasher's, one per parameter set the store holds (see
	// MeasureEnvelopeFor): recalibration keeps the envelope above their
	// verification too.
	EnvelopeSamples []string

	ResetTTL       time.Duration // how long a password reset link works
	EmailChangeTTL time.Duration // how long an email change link works
	// NotifyUnknown mails an address without an account when someone asks
	// to reset its password ("there is no account for this address").
	// Off by default: it lets anyone send such mail to any address, within
	// Limits.Mail.
	NotifyUnknown bool
	// Proof says when sign-up, resend, reset and sign-in requests need
	// a proof of work (see ProofMode); "" means ProofOnLimit.
	Proof ProofMode
	// ProofCost is a challenge's maxnumber; 0 means DefaultProofCost.
	ProofCost int
	// Limits are the throttling rules; the zero value means DefaultLimits.
	// Use Limit{} (Free 0) in a field to switch that rule off.
	Limits *Limits

	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Log receives what the flows report to the operator (a mail held
	// back by Limits.Mail); nil discards.
	Log *slog.Logger
	// MailQueued, if set, is called after a transaction that queued mail
	// has committed, to wake the outbox worker.
	MailQueued func()
	// Throttle, if set, is told each throttle decision: the name of the
	// request's first rule, and whether it was held back (metrics).
	Throttle func(rule string, throttled bool)
	// SessionStarted, if set, is told of each session started (metrics).
	SessionStarted func()
}

// DefaultConfig returns the settings the flows use where Config leaves
// a field zero: email-first sign-up, tacit.DefaultPasswordPolicy, sign-up
// links that work for 24 hours, sessions that end after 24 hours unused
// or 7 days after sign-in, reset links that work for 30 minutes, email
// change links for 24 hours, DefaultLimits, no envelope, and no mail to
// addresses without an account. Links has no default; Now defaults to
// time.Now and Log to discarding.
func DefaultConfig() Config {
	l := DefaultLimits()
	return Config{
		Mode:            EmailFirst,
		Policy:          tacit.DefaultPasswordPolicy(),
		SignupTTL:       24 * time.Hour,
		SessionIdle:     24 * time.Hour,
		SessionLifetime: 7 * 24 * time.Hour,
		ResetTTL:        30 * time.Minute,
		EmailChangeTTL:  24 * time.Hour,
		Proof:           ProofOnLimit,
		ProofCost:       DefaultProofCost,
		Limits:          &l,
	}
}

// withDefaults returns c with each zero field set from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Mode == "" {
		c.Mode = d.Mode
	}
	if c.Policy.Min == 0 && c.Policy.Max == 0 {
		c.Policy = d.Policy
	}
	if c.SignupTTL == 0 {
		c.SignupTTL = d.SignupTTL
	}
	if c.SessionIdle == 0 {
		c.SessionIdle = d.SessionIdle
	}
	if c.SessionLifetime == 0 {
		c.SessionLifetime = d.SessionLifetime
	}
	if c.ResetTTL == 0 {
		c.ResetTTL = d.ResetTTL
	}
	if c.EmailChangeTTL == 0 {
		c.EmailChangeTTL = d.EmailChangeTTL
	}
	if c.Limits == nil {
		c.Limits = d.Limits
	}
	if c.Proof == "" {
		c.Proof = d.Proof
	}
	if c.ProofCost <= 0 {
		c.ProofCost = d.ProofCost
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Client describes who is making a request, for sessions and throttling.
type Client struct {
	IP        string
	UserAgent string
	// Device is the device token the client kept from an earlier
	// sign-in (Outcome.Device), or "". See device.go.
	Device string
	// Proof is the client's solution to a ProofChallenge (ALTCHA's
	// base64 payload), or "". See ProofMode.
	Proof string
}

// Identity is who is behind a valid session, as far as a caller needs to
// name them. It carries no secret, neither the password hash nor the
// session token's hash: it is handed to every page and to applications
// that embed tacit, and a flow that acts on the account reads what it
// needs again, inside its own transaction.
type Identity struct {
	Account Principal
	Session SessionInfo // Current is true
}

// Principal is the signed-in account: which one, its address, and when it
// was made.
type Principal struct {
	ID        int64
	Email     string
	CreatedAt time.Time
	// TwoStep is set when the account has two-step sign-in on, so that
	// every sign-in to it now passes a second step.
	TwoStep bool
}

// ErrNoSession means a session token is missing, unknown or expired.
var ErrNoSession = errors.New("no valid session")

// Service runs the flows. Create it with New; it is safe for concurrent use.
type Service struct {
	store  tacit.Store
	hasher tacit.Hasher
	cfg    Config
	// dummyHash is a hash, with the live parameters, of a random password
	// nobody knows. Login checks passwords for unknown addresses against it
	// so that they cost exactly one full hash, like known ones.
	dummyHash string
	// liveTimes are recent times of verifications with the live
	// parameters, which verify pads cheaper hashes to.
	liveTimes recentTimes
	// overruns counts requests whose own work overran the envelope.
	overruns overruns
	// envelope is the envelope in force, in nanoseconds: Config.Envelope,
	// moved by RecalibrateEnvelope if calib is set.
	envelope atomic.Int64
	calib    *calibrator

	secretKey []byte // HMAC key of throttle counters (Store.Secret "throttle")
	deviceKey []byte // HMAC key of device tokens, derived from secretKey
	proofKey  []byte // HMAC key of proof-of-work challenges, derived from secretKey
	// countersFull is set while the counter table is full (see
	// SetCounterTableFull).
	countersFull atomic.Bool
	// completed remembers, for CompletionGrace, the address each
	// email-first sign-up link made an account for (token hash →
	// completion), so that a second post of the same form signs in
	// rather than finding the link dead (see completeAgain).
	completed sync.Map
	// checks caches sessions for CheckSession.
	checks checkCache
	// passkeys is WebAuthn's relying party; nil when the base URL's host
	// is an IP address (ErrPasskeysOff).
	passkeys *passkeys
}

// New returns a Service. It hashes one random password to make the dummy
// hash, so it takes about one hash time, and reads the server secret that
// keys throttle counters from the store.
func New(store tacit.Store, hasher tacit.Hasher, cfg Config) (*Service, error) {
	if cfg.Links.Base == nil {
		return nil, errors.New("flow: Config.Links.Base is required")
	}
	cfg = cfg.withDefaults()
	if cfg.Mode != EmailFirst && cfg.Mode != FullForm {
		return nil, fmt.Errorf("flow: unknown registration mode %q", cfg.Mode)
	}
	if _, err := ParseProofMode(string(cfg.Proof)); err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	token, _ := tacit.NewToken()
	dummy, err := hasher.Hash(token)
	if err != nil {
		return nil, fmt.Errorf("flow: make dummy hash: %w", err)
	}
	// The throttling key is read now, outside any transaction: engines
	// with a single writer could not serve it from inside one.
	secret, err := store.Secret(context.Background(), "throttle")
	if err != nil {
		return nil, fmt.Errorf("flow: load throttle secret: %w", err)
	}
	s := &Service{store: store, hasher: hasher, cfg: cfg, dummyHash: dummy, secretKey: secret, deviceKey: deriveKey(secret, "device token"),
		proofKey: deriveKey(secret, "proof of work")}
	s.envelope.Store(int64(cfg.Envelope))
	if cfg.RecalibrateEnvelope && cfg.Envelope > 0 {
		s.calib = newCalibrator(cfg.Envelope)
	}
	if s.passkeys, err = newPasskeys(cfg.Links.Base); err != nil && !errors.Is(err, ErrPasskeysOff) {
		return nil, fmt.Errorf("flow: %w", err)
	}
	// A first live verification time, which verify pads cheaper hashes
	// to until the flows have timed their own.
	start := time.Now()
	if _, err := hasher.Verify(token, dummy); err != nil {
		return nil, fmt.Errorf("flow: verify dummy hash: %w", err)
	}
	s.liveTimes.add(time.Since(start))
	return s, nil
}

// Mode returns the sign-up mode in force.
func (s *Service) Mode() Mode { return s.cfg.Mode }

// Policy returns the password policy in force.
func (s *Service) Policy() tacit.PasswordPolicy { return s.cfg.Policy }

// Limits returns the throttling rules in force.
func (s *Service) Limits() Limits { return *s.cfg.Limits }

// SessionIdle returns how long an unused session lasts.
func (s *Service) SessionIdle() time.Duration { return s.cfg.SessionIdle }

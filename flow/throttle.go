package flow

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tacitauth/tacit"
)

// Limit is one throttling rule: after Free events a key must wait Delay
// before the next, doubling with each further event up to MaxDelay; at
// Lock events it is locked for LockFor. A key with no event for Window is
// forgotten. Events are counted per key, and keys are keyed hashes of the
// normalised identifier or client address, never account ids, so an
// unknown address is throttled exactly like a registered one.
type Limit struct {
	Free     int           // events allowed before any delay; 0 disables the limit
	Delay    time.Duration // wait after the Free-th event
	MaxDelay time.Duration // cap on the doubling delay; 0: no cap below LockFor
	Lock     int           // events at which the key is locked; 0: never
	LockFor  time.Duration
	Window   time.Duration // a counter with no event for this long restarts
}

// Limits are the throttling rules of every flow.
type Limits struct {
	Login       Limit // failed sign-ins per address
	LoginIP     Limit // failed sign-ins per client address
	Signup      Limit // sign-up requests per address
	Resend      Limit // verification resend requests per address
	Reset       Limit // password reset requests per address
	ResetSubmit Limit // reset submissions with a bad token, per client address
	RequestsIP  Limit // sign-up, resend and reset requests per client address
	MFA         Limit // wrong MFA codes per account
	// ClientSecret and ClientSecretIP count failed authentications of
	// OpenID Connect clients (a wrong client secret at the token,
	// introspection or revocation endpoint), per client id and per
	// client address.
	ClientSecret, ClientSecretIP Limit
	// PasskeyIP counts the passkey ceremonies begun per client address
	// (sign-ins, second steps, passkeys added): each stores a ceremony
	// for PasskeyTTL.
	PasskeyIP Limit
	// MFALock is how many failed second steps in a row lock an account's
	// second step until a password reset; 0 switches it off. Unlike the
	// MFA limit it never forgets with time: a thief holding the password
	// cannot wait out the hourly window for ever (NIST SP 800-63B: at most
	// 100 consecutive failures). A correct second step, a password reset
	// or a password change starts the count again.
	MFALock int
	// Mail caps the mails queued to one address per Window at Free; the
	// rest are silently not sent. It never shows in any answer.
	Mail Limit
}

// DefaultLimits stay within NIST SP 800-63B's "at most 100 consecutive
// failures" and OWASP's 5–10 attempts per 5–30 minutes.
func DefaultLimits() Limits {
	return Limits{
		Login:       Limit{Free: 5, Delay: time.Second, MaxDelay: time.Minute, Lock: 10, LockFor: 15 * time.Minute, Window: time.Hour},
		LoginIP:     Limit{Free: 50, Delay: time.Second, MaxDelay: time.Minute, Lock: 100, LockFor: 15 * time.Minute, Window: time.Hour},
		Signup:      Limit{Free: 3, Delay: 30 * time.Second, MaxDelay: 15 * time.Minute, Lock: 10, LockFor: time.Hour, Window: time.Hour},
		Resend:      Limit{Free: 3, Delay: 30 * time.Second, MaxDelay: 15 * time.Minute, Lock: 10, LockFor: time.Hour, Window: time.Hour},
		Reset:       Limit{Free: 3, Delay: 30 * time.Second, MaxDelay: 15 * time.Minute, Lock: 10, LockFor: time.Hour, Window: time.Hour},
		ResetSubmit: Limit{Free: 10, Delay: time.Second, MaxDelay: time.Minute, Lock: 50, LockFor: 15 * time.Minute, Window: time.Hour},
		RequestsIP:  Limit{Free: 30, Delay: time.Second, MaxDelay: time.Minute, Lock: 200, LockFor: 15 * time.Minute, Window: time.Hour},
		MFA:         Limit{Free: 5, Delay: time.Second, MaxDelay: time.Minute, Lock: 10, LockFor: 15 * time.Minute, Window: time.Hour},
		// A client's own server mistyping its secret fails every
		// request; it needs fixing, not more attempts.
		ClientSecret:   Limit{Free: 10, Delay: time.Second, MaxDelay: time.Minute, Lock: 50, LockFor: 15 * time.Minute, Window: time.Hour},
		ClientSecretIP: Limit{Free: 20, Delay: time.Second, MaxDelay: time.Minute, Lock: 100, LockFor: 15 * time.Minute, Window: time.Hour},
		// A sign-in page may begin one on every load (conditional UI):
		// roomier than the mail-sending requests, yet a flood from one
		// client stops at a few hundred rows.
		PasskeyIP: Limit{Free: 60, Delay: time.Second, MaxDelay: time.Minute, Lock: 300, LockFor: 15 * time.Minute, Window: time.Hour},
		Mail:      Limit{Free: 5, Window: time.Hour},
		MFALock:   100,
	}
}

// wait returns how long a key with counter c must still wait at now.
func (l Limit) wait(c tacit.Counter, now time.Time) time.Duration {
	if until := l.hold(c); now.Before(until) {
		return until.Sub(now)
	}
	return 0
}

// hold returns when the wait that counter c imposes ends: the zero time
// if it imposes none. It is stored with the counter (HoldUntil), so that
// trimming the table never evicts a counter that still holds a key back.
func (l Limit) hold(c tacit.Counter) time.Time {
	if l.Free <= 0 || c.Count < l.Free {
		return time.Time{}
	}
	if l.Lock > 0 && c.Count >= l.Lock {
		return c.LastAt.Add(l.LockFor)
	}
	return c.LastAt.Add(l.delay(c.Count))
}

// delay is the wait after the n-th event (n ≥ Free).
func (l Limit) delay(n int) time.Duration {
	d := l.Delay
	for i := l.Free; i < n && d < 24*time.Hour; i++ {
		d *= 2
	}
	if l.MaxDelay > 0 && d > l.MaxDelay {
		d = l.MaxDelay
	}
	return d
}

// String writes l in the form ParseLimit reads.
func (l Limit) String() string {
	if l.Free <= 0 {
		return "off"
	}
	return fmt.Sprintf("free=%d delay=%s max_delay=%s lock=%d lock_for=%s window=%s",
		l.Free, FormatDuration(l.Delay), FormatDuration(l.MaxDelay), l.Lock, FormatDuration(l.LockFor), FormatDuration(l.Window))
}

// FormatDuration writes d as time.Duration's String does, less trailing
// zero units: 15m rather than 15m0s, 1h rather than 1h0m0s. Configuration
// is shown in this form, the one operators write.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseLimit reads "free=5 delay=1s max_delay=1m lock=10 lock_for=15m
// window=1h" (fields in any order; missing ones keep def's value) or "off".
func ParseLimit(s string, def Limit) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Limit{}, nil
	}
	l := def
	for _, f := range strings.Fields(s) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return l, fmt.Errorf("want key=value, got %q", f)
		}
		var err error
		switch k {
		case "free", "lock":
			var n int
			if n, err = strconv.Atoi(v); err == nil && n < 0 {
				err = errors.New("negative")
			}
			if k == "free" {
				l.Free = n
			} else {
				l.Lock = n
			}
		case "delay", "max_delay", "lock_for", "window":
			var d time.Duration
			if d, err = time.ParseDuration(v); err == nil && d < 0 {
				err = errors.New("negative")
			}
			*map[string]*time.Duration{"delay": &l.Delay, "max_delay": &l.MaxDelay, "lock_for": &l.LockFor, "window": &l.Window}[k] = d
		default:
			return l, fmt.Errorf("unknown field %q (want free, delay, max_delay, lock, lock_for, window)", k)
		}
		if err != nil {
			return l, fmt.Errorf("%s: bad value %q", k, v)
		}
	}
	if l.Free > 0 && l.Window <= 0 {
		return l, errors.New("window must be positive")
	}
	if l.Lock > 0 && l.Lock < l.Free {
		return l, errors.New("lock must not be below free")
	}
	return l, nil
}

// clientKey is what per-client limits count: the IPv4 address, or the /64
// of an IPv6 address, since one IPv6 user typically holds a whole /64 and
// could otherwise rotate addresses within it freely.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// throttleKey is the counter key for an identifier under a rule name: an
// HMAC with the server secret, so the table reveals neither addresses nor
// client addresses, and keys cannot be precomputed.
func (s *Service) throttleKey(rule, identifier string) []byte {
	m := hmac.New(sha256.New, s.secretKey)
	m.Write([]byte(rule))
	m.Write([]byte{0})
	m.Write([]byte(identifier))
	return m.Sum(nil)
}

// rule pairs a limit with the identifier it counts.
type rule struct {
	name  string
	limit Limit
	id    string
}

// FullTableRetry is the Retry-After of a request refused because the
// counter table is full: the table is trimmed again about this often.
const FullTableRetry = time.Minute

// SetCounterTableFull tells the flows whether the counter table is full:
// after a trim, more counters still hold a key back (a delay or a lock)
// than the table may keep. While it is full, a request that would start a
// new counter is throttled (fail closed) instead of evicting a counter
// that holds, which would lift a lock; keys that already have a counter
// go on as before. The key is a hash of what the client sent, so this is
// the same for every address, with or without an account.
func (s *Service) SetCounterTableFull(full bool) { s.countersFull.Store(full) }

// admission is what admit learnt about the first rule's key: its counter
// before this request's hit (nil if it had none) and after it.
type admission struct {
	before *tacit.Counter
	after  tacit.Counter
}

// admit decides, inside the caller's write transaction, whether a request
// may go ahead under rules. If any rule holds it back, admit returns the
// longest wait and records nothing. Otherwise it counts the request under
// every rule and reports whether the first rule's key has just reached its
// lock. Checking and counting in one transaction means parallel requests
// cannot all slip through before any is counted.
func (s *Service) admit(ctx context.Context, tx tacit.Tx, now time.Time, rules ...rule) (wait time.Duration, locked bool, err error) {
	wait, locked, _, err = s.admitFirst(ctx, tx, now, rules...)
	return wait, locked, err
}

// admitFirst is admit that also returns the first rule's admission, for
// callers that may take the hit back (see passed).
func (s *Service) admitFirst(ctx context.Context, tx tacit.Tx, now time.Time, rules ...rule) (wait time.Duration, locked bool, ad admission, err error) {
	wait, locked, ads, err := s.admitEach(ctx, tx, now, rules...)
	if len(ads) > 0 {
		ad = ads[0]
	}
	return wait, locked, ad, err
}

// admitEach is admit that returns every rule's admission (none when the
// request is held back), for callers that take every hit back.
func (s *Service) admitEach(ctx context.Context, tx tacit.Tx, now time.Time, rules ...rule) (wait time.Duration, locked bool, ads []admission, err error) {
	ads = make([]admission, len(rules))
	keys := make([][]byte, len(rules))
	for i, r := range rules {
		if r.limit.Free <= 0 {
			continue
		}
		keys[i] = s.throttleKey(r.name, r.id)
		c, err := tx.Counter(ctx, keys[i], now)
		if errors.Is(err, tacit.ErrNotFound) {
			// A new key while the table is full: fail closed.
			if s.countersFull.Load() {
				wait = max(wait, FullTableRetry)
			}
			continue
		}
		if err != nil {
			return 0, false, nil, err
		}
		ads[i].before = &c
		wait = max(wait, r.limit.wait(c, now))
	}
	if s.cfg.Throttle != nil && len(rules) > 0 {
		s.cfg.Throttle(rules[0].name, wait > 0)
	}
	if wait > 0 {
		return wait, false, nil, nil
	}
	for i, r := range rules {
		if r.limit.Free <= 0 {
			continue
		}
		c, err := tx.HitCounter(ctx, keys[i], now, max(r.limit.Window, r.limit.LockFor))
		if err != nil {
			return 0, false, nil, err
		}
		// A counter that now holds its key back records until when, so
		// the trim keeps it.
		if h := r.limit.hold(c); h.After(now) {
			if err := tx.HoldCounter(ctx, keys[i], h); err != nil {
				return 0, false, nil, err
			}
			c.HoldUntil = h
		}
		ads[i].after = c
		if i == 0 && r.limit.Lock > 0 && c.Count == r.limit.Lock {
			locked = true
		}
	}
	return 0, locked, ads, nil
}

// forget clears the counter of a rule.
func (s *Service) forget(ctx context.Context, tx tacit.Tx, name, id string) error {
	return tx.DeleteCounter(ctx, s.throttleKey(name, id))
}

// passed runs when a request admitted under r (the first rule of
// loginRules) proved the password. A device's own counter is cleared: it
// counts only that device's failures, which its owner has just ended. An
// address's counter is left as the request found it, by taking its hit
// back, never cleared: an outsider who failed on the address must see it
// exactly as for an address without an account, whatever the owner does
// meanwhile. Deleting it, as sign-in once did, told
// the outsider that an owner exists and had just signed in. While the
// password is being checked the attempt is counted, as every attempt must
// be (parallel guesses); to an outsider probing at that instant it looks
// like anyone else's attempt on the address, which any address can get.
func (s *Service) passed(ctx context.Context, tx tacit.Tx, r rule, ad admission) error {
	if r.name != "login" {
		return s.forget(ctx, tx, r.name, r.id)
	}
	return s.takeBack(ctx, tx, r, ad)
}

// takeBack undoes the hit a request admitted under r counted, leaving the
// counter as if the request had not been made (see passed).
func (s *Service) takeBack(ctx context.Context, tx tacit.Tx, r rule, ad admission) error {
	if r.limit.Free <= 0 {
		return nil
	}
	key := s.throttleKey(r.name, r.id)
	cur, err := tx.Counter(ctx, key, s.cfg.Now())
	if errors.Is(err, tacit.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.Count == ad.after.Count && cur.LastAt.Equal(ad.after.LastAt) {
		// Untouched since the hit: put back what was there.
		if ad.before == nil {
			return tx.DeleteCounter(ctx, key)
		}
		return tx.PutCounter(ctx, *ad.before)
	}
	if !cur.FirstAt.Equal(ad.after.FirstAt) || cur.Count <= 1 {
		// Restarted by someone else since (it had expired): this
		// request's event is no longer in it.
		return nil
	}
	// Others were counted since: take back this request's event alone,
	// keeping their latest.
	cur.Count--
	cur.HoldUntil = r.limit.hold(cur)
	return tx.PutCounter(ctx, cur)
}

// throttled is the one answer for a held-back request.
func throttled(wait time.Duration) tacit.Outcome {
	return tacit.Outcome{Kind: tacit.Throttled, RetryAfter: wait}
}

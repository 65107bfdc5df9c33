package web

import (
	"context"
	"log/slog"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/openid"
)

// Upkeep defaults.
const (
	// DefaultThrottleMaxKeys bounds the counters table: at about a
	// hundred bytes a row, a million counters is some 100 MB of
	// database, while a flood of made-up addresses can no longer grow it
	// for ever.
	DefaultThrottleMaxKeys = 1_000_000
	// DefaultOutboxMaxRows bounds the mail outbox. Every request that
	// takes an address writes a row, and handled mail is kept a week for
	// diagnosis, so a flood of requests would otherwise grow the database
	// freely. At a few hundred bytes a row this is some tens of MB;
	// pending mail near it means a backlog no mail server would clear
	// anyway.
	DefaultOutboxMaxRows = 100_000
	// DefaultPurgeEvery is how often expired records are deleted.
	DefaultPurgeEvery = time.Hour
	// DefaultTrimEvery is how often the counters and the outbox are
	// trimmed: far more often than the rest is purged, because a flood
	// of made-up addresses can add thousands of rows a minute.
	DefaultTrimEvery = time.Minute
	// DefaultMailKeep is how long handled mail is kept for diagnosis.
	DefaultMailKeep = 7 * 24 * time.Hour
	// DefaultActivityKeep is how long an account's activity is kept:
	// long enough for an owner to notice what was not their doing.
	DefaultActivityKeep = 90 * 24 * time.Hour
)

// Upkeep is the storage housekeeping an Instance runs: expired sign-ups,
// sessions, tokens and counters go at each purge, handled mail after
// MailKeep, and the throttle counters and the outbox are capped at each
// trim. The zero value of each field means its value in DefaultUpkeep.
type Upkeep struct {
	// ThrottleMaxKeys is the most throttle counters kept; see
	// trimCounters.
	ThrottleMaxKeys int
	// OutboxMaxRows is the most mail outbox rows kept; see trimOutbox.
	OutboxMaxRows int
	// PurgeEvery is how often expired records are deleted.
	PurgeEvery time.Duration
	// TrimEvery is how often the counters and the outbox are trimmed.
	TrimEvery time.Duration
	// MailKeep is how long handled mail is kept.
	MailKeep time.Duration
	// ActivityKeep is how long activity events are kept.
	ActivityKeep time.Duration
}

// DefaultUpkeep returns the housekeeping an Instance runs where Upkeep
// leaves a field zero.
func DefaultUpkeep() Upkeep {
	return Upkeep{
		ThrottleMaxKeys: DefaultThrottleMaxKeys,
		OutboxMaxRows:   DefaultOutboxMaxRows,
		PurgeEvery:      DefaultPurgeEvery,
		TrimEvery:       DefaultTrimEvery,
		MailKeep:        DefaultMailKeep,
		ActivityKeep:    DefaultActivityKeep,
	}
}

// withDefaults returns u with each zero field set from DefaultUpkeep.
func (u Upkeep) withDefaults() Upkeep {
	d := DefaultUpkeep()
	if u.ThrottleMaxKeys <= 0 {
		u.ThrottleMaxKeys = d.ThrottleMaxKeys
	}
	if u.OutboxMaxRows <= 0 {
		u.OutboxMaxRows = d.OutboxMaxRows
	}
	if u.PurgeEvery <= 0 {
		u.PurgeEvery = d.PurgeEvery
	}
	if u.TrimEvery <= 0 {
		u.TrimEvery = d.TrimEvery
	}
	if u.MailKeep <= 0 {
		u.MailKeep = d.MailKeep
	}
	if u.ActivityKeep <= 0 {
		u.ActivityKeep = d.ActivityKeep
	}
	return u
}

// purgeLoop deletes expired records and activity older than
// activityKeep now and every interval, keeping storage bounded.
func purgeLoop(ctx context.Context, db tacit.Store, interval, mailKeep, activityKeep time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		now := time.Now()
		if err := db.Purge(ctx, now, mailKeep); err != nil && ctx.Err() == nil {
			log.Error("purge expired records", "err", err)
		}
		if err := db.PurgeActivity(ctx, now.Add(-activityKeep)); err != nil && ctx.Err() == nil {
			log.Error("purge old activity", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// keyRotationLoop runs the OpenID Connect provider's scheduled key
// rotation now and every interval: a key that has signed for its period
// is replaced, once however many instances run this, and retired keys
// whose tokens have all expired leave the JWKS.
func keyRotationLoop(ctx context.Context, p *openid.Provider, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rotated, err := p.RotateKeysDue(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("rotate OpenID Connect signing keys", "err", err)
		}
		for _, alg := range rotated {
			log.Info("rotated OpenID Connect signing key", "alg", string(alg))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// trimLoop keeps at most maxKeys throttle counters, every interval, and
// tells setFull (if set) after each trim whether the table is full.
func trimLoop(ctx context.Context, db tacit.Store, maxKeys int, interval time.Duration, log *slog.Logger, setFull func(bool)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if left, err := trimCounters(ctx, db, maxKeys, log); err == nil && setFull != nil {
			setFull(left > maxKeys)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// trimCounters drops expired counters and, past maxKeys, the least
// recently hit of those that hold no key back, and returns how many are
// left. A counter that delays or locks a key is never dropped, so more
// than maxKeys may be left: the table is then full, and the flows refuse
// requests that would start a new counter (fail closed) until a trim
// finds room. Both are worth a warning: they mean a flood of identifiers,
// or a cap too low for the traffic. Dropping counters that hold nothing
// back forgets only failures below the first delay.
func trimCounters(ctx context.Context, db tacit.Store, maxKeys int, log *slog.Logger) (int, error) {
	left, err := db.TrimCounters(ctx, time.Now(), maxKeys)
	if err != nil {
		if ctx.Err() == nil { // not merely shutting down
			log.Error("trim throttle counters", "err", err)
		}
		return 0, err
	}
	switch {
	case left > maxKeys:
		log.Warn("throttle counters that hold keys back exceed throttle_max_keys; requests that need a new counter are throttled until some expire",
			"counters", left, "throttle_max_keys", maxKeys)
	case left == maxKeys:
		log.Warn("throttle counters reached throttle_max_keys; the least recently hit that held nothing back may have been dropped",
			"counters", left, "throttle_max_keys", maxKeys)
	default:
		log.Debug("trimmed throttle counters", "counters", left)
	}
	return left, nil
}

// outboxLoop keeps at most maxRows rows in the mail outbox, every interval.
func outboxLoop(ctx context.Context, db tacit.Store, maxRows int, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		trimOutbox(ctx, db, maxRows, log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// trimOutbox trims the outbox and says how big it is: at debug while
// under the cap, a warning when handled rows had to go early, and an
// error when pending mail was dropped unsent. Dropping happens off the
// request path, so no answer changes, and it drops only mail anyone can
// cause for any address (sign-up, resend, reset links, "already
// registered"), so a flood can delay or lose such mail but never an
// owner's security notice.
func trimOutbox(ctx context.Context, db tacit.Store, maxRows int, log *slog.Logger) {
	r, err := db.TrimOutbox(ctx, time.Now(), maxRows)
	if err != nil {
		if ctx.Err() == nil { // not merely shutting down
			log.Error("trim mail outbox", "err", err)
		}
		return
	}
	switch {
	case r.Dropped > 0:
		log.Error("mail outbox over outbox_max_rows with pending mail: dropped the oldest pending mail that anyone can cause (sign-up, reset and similar links), kept every security notice",
			"dropped", r.Dropped, "rows", r.Left, "outbox_max_rows", maxRows)
	case r.Left >= maxRows:
		log.Warn("mail outbox reached outbox_max_rows; handled mail and rows that send nothing may have been deleted early",
			"rows", r.Left, "outbox_max_rows", maxRows)
	default:
		log.Debug("trimmed mail outbox", "rows", r.Left)
	}
}

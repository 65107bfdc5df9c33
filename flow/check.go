package flow

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/tacitauth/tacit"
)

// RevocationBound is how long a session ended on another instance may
// still pass CheckSession on this one: each instance reads the store's
// revocation generation at most once per bound and drops its cache when
// it moved. A session ended through this process stops passing at once.
const RevocationBound = time.Second

// maxCachedSessions caps the check cache; past it the cache starts afresh.
const maxCachedSessions = 1 << 16

// CheckSession is Session for forward auth, answered from memory when it
// can: a reverse proxy asks about every request it guards, and a database
// read per request would cap a site at the database's pace. A session is
// kept in memory until the last-seen time it was read with is due to be
// written again, and expiry is applied to it at every check. The cache is
// dropped whenever a revoking transaction (tacit.Revocations) runs in this
// process, and whenever the store's revocation generation has moved, which
// is read at most once per RevocationBound: so a session ended here stops
// passing at once, and one ended on another instance within the bound.
func (s *Service) CheckSession(ctx context.Context, token string) (Identity, error) {
	if !tacit.WellFormedToken(token) {
		return Identity{}, ErrNoSession
	}
	key := sha256.Sum256([]byte(token))
	epoch, err := s.checks.fresh(ctx, s.store)
	if err != nil {
		// The generation could not be read, so nothing cached can be
		// trusted; the database answers, or fails, as Session does.
		return s.Session(ctx, token)
	}
	now := s.cfg.Now()
	if id, ok := s.checks.get(key); ok && s.cachedLive(id.Session, now) {
		return id, nil
	}
	id, err := s.Session(ctx, token)
	if err != nil {
		return id, err
	}
	s.checks.put(key, id, epoch, s.store)
	return id, nil
}

// cachedLive reports whether a cached session may answer at now: within
// its expiry (idle expiry counted from the last-seen time cached, which is
// never later than the stored one), and not yet due to be recorded as
// seen, which only Session does.
func (s *Service) cachedLive(ss SessionInfo, now time.Time) bool {
	return now.Before(ss.ExpiresAt) && now.Before(ss.LastSeenAt.Add(s.cfg.SessionIdle)) &&
		now.Sub(ss.LastSeenAt) < touchEvery
}

// checkCache holds the identities of sessions recently read for
// CheckSession, by the SHA-256 of their token.
type checkCache struct {
	mu      sync.RWMutex
	entries map[[sha256.Size]byte]Identity
	// epoch changes whenever the entries are dropped: an identity read
	// from the store in an older epoch may predate the revocation that
	// dropped them, and is not kept.
	epoch uint64
	// local is the store's LocalRevocations the entries are valid for.
	local uint64
	// gen is the revocation generation read at polled, a monotonic time
	// (zero: never read, or the last read failed).
	gen    int64
	polled time.Time
	// poll lets one caller at a time read the generation.
	poll sync.Mutex
}

// fresh drops the entries if a revocation may have made them stale, and
// returns the epoch in which a session read from the store from now on
// may be kept.
func (c *checkCache) fresh(ctx context.Context, st tacit.Store) (uint64, error) {
	if epoch, ok := c.current(st.LocalRevocations()); ok {
		return epoch, nil
	}
	c.poll.Lock()
	defer c.poll.Unlock()
	local := st.LocalRevocations()
	if epoch, ok := c.current(local); ok {
		return epoch, nil // another caller read the generation meanwhile
	}
	// A revocation committed before start is seen by the read below.
	start := time.Now()
	gen, err := st.RevocationGeneration(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || gen != c.gen || local != c.local || c.polled.IsZero() {
		c.dropLocked()
	}
	if err != nil {
		c.polled = time.Time{}
		return 0, err
	}
	c.gen, c.local, c.polled = gen, local, start
	return c.epoch, nil
}

// current returns the epoch if the entries are valid for the local
// revocation count local and the generation was read within the bound.
// A change of the local count alone drops the entries without a read.
func (c *checkCache) current(local uint64) (uint64, bool) {
	c.mu.RLock()
	epoch, same := c.epoch, local == c.local
	ok := same && !c.polled.IsZero() && time.Since(c.polled) < RevocationBound
	c.mu.RUnlock()
	if same {
		return epoch, ok
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if local != c.local {
		c.dropLocked()
		c.local = local
	}
	return c.epoch, !c.polled.IsZero() && time.Since(c.polled) < RevocationBound
}

func (c *checkCache) dropLocked() {
	c.entries = nil
	c.epoch++
}

func (c *checkCache) get(key [sha256.Size]byte) (Identity, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.entries[key]
	return id, ok
}

// put keeps id, read from the store in epoch, unless the entries were
// dropped since, or a revocation ran in this process that fresh has not
// yet seen: either may have ended the session after it was read.
func (c *checkCache) put(key [sha256.Size]byte, id Identity, epoch uint64, st tacit.Store) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch || st.LocalRevocations() != c.local {
		return
	}
	if c.entries == nil || len(c.entries) >= maxCachedSessions {
		c.entries = make(map[[sha256.Size]byte]Identity)
	}
	c.entries[key] = id
}

package flow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tacitauth/tacit"
)

// maxUserAgent and maxClientIP bound what a client can make us store per
// session, in bytes. An address written out takes at most 45 bytes.
const (
	maxUserAgent = 256
	maxClientIP  = 64
)

// touchEvery limits how often a session's last-seen time is written, so
// reading a session is not a write on every request.
const touchEvery = time.Minute

// startSession records a new session for account id, made by method, and
// returns its token. Each sign-in makes a fresh token (rotation), so a
// token planted before sign-in is worthless after it.
func (s *Service) startSession(ctx context.Context, tx tacit.Tx, id int64, c Client, now time.Time, method tacit.SessionMethod) (*tacit.NewSession, error) {
	token, th := tacit.NewToken()
	ss := tacit.Session{
		AccountID: id, TokenHash: th, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.cfg.SessionLifetime),
		UserAgent: storable(c.UserAgent, maxUserAgent), IP: storable(c.IP, maxClientIP),
		Method: method,
	}
	if err := tx.CreateSession(ctx, &ss); err != nil {
		return nil, fmt.Errorf("start session: %w", err)
	}
	if s.cfg.SessionStarted != nil {
		s.cfg.SessionStarted()
	}
	return &tacit.NewSession{Token: token, ExpiresAt: ss.ExpiresAt}, nil
}

// storable returns a client-supplied string as text every engine stores:
// invalid UTF-8 and NUL (PostgreSQL's text refuses both, which would fail
// the sign-in) become U+FFFD, and the result is cut to at most max bytes
// on a character boundary, after the cleaning, which can lengthen it.
func storable(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// sessionLive reports whether ss is within its absolute and idle expiry
// at now.
func (s *Service) sessionLive(ss tacit.Session, now time.Time) bool {
	return now.Before(ss.ExpiresAt) && now.Before(ss.LastSeenAt.Add(s.cfg.SessionIdle))
}

// Logout ends the session with this token, if there is one. Always Done.
func (s *Service) Logout(ctx context.Context, token string) (tacit.Outcome, error) {
	if tacit.WellFormedToken(token) {
		err := s.store.Update(ctx, func(tx tacit.Tx) error {
			return tx.DeleteSession(ctx, tacit.HashToken(token))
		})
		if err != nil {
			return tacit.Outcome{}, fmt.Errorf("logout: %w", err)
		}
	}
	return tacit.Outcome{Kind: tacit.Done}, nil
}

// Session returns the identity behind a session token, or ErrNoSession if
// the token is unknown, idle too long, past its absolute expiry, or its
// account is disabled. It records the session as seen.
func (s *Service) Session(ctx context.Context, token string) (Identity, error) {
	if !tacit.WellFormedToken(token) {
		return Identity{}, ErrNoSession
	}
	now := s.cfg.Now()
	var (
		ss      tacit.Session
		a       tacit.Account
		twoStep bool
	)
	err := s.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		if ss, err = tx.SessionByToken(ctx, tacit.HashToken(token)); err != nil {
			return err
		}
		if a, err = tx.AccountByID(ctx, ss.AccountID); err != nil {
			return err
		}
		o, err := tx.TOTPByAccount(ctx, ss.AccountID)
		twoStep = err == nil && o.Enabled
		if errors.Is(err, tacit.ErrNotFound) {
			err = nil
		}
		return err
	})
	if errors.Is(err, tacit.ErrNotFound) {
		return Identity{}, ErrNoSession
	}
	if err != nil {
		return Identity{}, fmt.Errorf("session: %w", err)
	}
	if !s.sessionLive(ss, now) || a.Disabled {
		return Identity{}, ErrNoSession
	}
	if now.Sub(ss.LastSeenAt) >= touchEvery {
		err := s.store.Update(ctx, func(tx tacit.Tx) error { return tx.TouchSession(ctx, ss.ID, now) })
		if err != nil {
			return Identity{}, fmt.Errorf("session: touch: %w", err)
		}
		ss.LastSeenAt = now
	}
	return Identity{
		Account: Principal{ID: a.ID, Email: a.Email, CreatedAt: a.CreatedAt, TwoStep: twoStep},
		Session: sessionInfo(ss, true),
	}, nil
}

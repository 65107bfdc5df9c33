package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/upkeep"
)

// secretBytes is the size of a server secret: 256 bits, a full key for
// HMAC-SHA256.
const secretBytes = 32

// Secret returns the named server secret, creating it on first use.
//
// The common case, a secret that exists, is one read outside any
// transaction (on SQLite's reader pool, so it never waits for the writer).
// The first use offers fresh random bytes with INSERT … ON CONFLICT DO
// NOTHING and then reads back whatever is stored, in one transaction: when
// several instances start at once, an insert that meets another's
// uncommitted row waits for it, the first to commit wins, and the read that
// follows (a new snapshot under READ COMMITTED) gives every caller that one
// value.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	const read = `SELECT value FROM secrets WHERE name = $1`
	var value []byte
	err := s.Engine.Reader().QueryRow(ctx, read, name).Scan(&value)
	if err == nil {
		return value, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	fresh := make([]byte, secretBytes)
	rand.Read(fresh) // crypto/rand.Read never fails; it crashes the program instead.
	err = s.Engine.Write(ctx, func(q Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh)
		if err != nil {
			return err
		}
		return q.QueryRow(ctx, read, name).Scan(&value)
	})
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	return value, nil
}

// devMailKeep is how many captured mails the dev mailbox keeps; it is a
// development aid, not an archive.
const devMailKeep = 200

// SaveDevMail stores a mail captured by the dev mail driver and drops the
// oldest beyond the newest devMailKeep.
func (s *Store) SaveDevMail(ctx context.Context, m tacit.DevMail) error {
	err := s.Engine.Write(ctx, func(q Querier) error {
		if _, err := s.Engine.Lock(ctx, q, devMailLock, true); err != nil {
			return err
		}
		_, err := q.Exec(ctx,
			`INSERT INTO dev_mailbox (recipient, subject, text, html, sent_at) VALUES ($1, $2, $3, $4, $5)`,
			m.To, m.Subject, m.Text, m.HTML, Micros(m.SentAt))
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx,
			`DELETE FROM dev_mailbox WHERE id NOT IN (
			     SELECT id FROM dev_mailbox ORDER BY id DESC LIMIT $1)`, devMailKeep)
		return err
	})
	if err != nil {
		return fmt.Errorf("save dev mail: %w", err)
	}
	return nil
}

// DevMails returns the captured mails, newest (last saved) first.
func (s *Store) DevMails(ctx context.Context) ([]tacit.DevMail, error) {
	mails, err := collect(ctx, s.Engine.Reader(), func(row Row) (tacit.DevMail, error) {
		var m tacit.DevMail
		var sent int64
		err := row.Scan(&m.To, &m.Subject, &m.Text, &m.HTML, &sent)
		m.SentAt = FromMicros(sent)
		return m, err
	}, `SELECT recipient, subject, text, html, sent_at FROM dev_mailbox ORDER BY id DESC LIMIT $1`, devMailKeep)
	if err != nil {
		return nil, fmt.Errorf("dev mails: %w", err)
	}
	return mails, nil
}

// HashSamples returns one stored password hash for each set of hash
// parameters in use, in no particular order, so that the server can size
// its envelope to cover the costliest (flow.MeasureEnvelopeFor). It reads
// every account's hash once.
func (s *Store) HashSamples(ctx context.Context) ([]string, error) {
	samples := map[string]string{}
	err := s.Engine.Read(ctx, func(q Querier) error {
		hashes, err := collect(ctx, q, func(row Row) (h string, err error) {
			err = row.Scan(&h)
			return h, err
		},
			`SELECT password_hash FROM accounts`)
		for _, h := range hashes {
			samples[upkeep.HashParams(h)] = h
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("hash samples: %w", err)
	}
	out := make([]string, 0, len(samples))
	for _, h := range samples {
		out = append(out, h)
	}
	slices.Sort(out)
	return out, nil
}

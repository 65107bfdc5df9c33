package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
)

// stmts keeps a pool's hot statements prepared: the throttling counters
// are read and hit on every sign-in attempt, and a throttled request skips
// the password hash, so under a flood parsing these statements would be
// most of the work (parsing the upsert costs about as much as running
// it). database/sql prepares each again on every connection that runs it
// and keeps that per-connection statement for later transactions on the
// connection.
//
// Preparing on a pool takes a connection, and the writer pool has only
// one, which a running transaction holds; so statements are prepared
// before a transaction begins (warm), never inside one.
type stmts struct {
	pool    *sql.DB
	queries []string
	ready   atomic.Bool
	mu      sync.Mutex
	m       map[string]*sql.Stmt
}

func newStmts(pool *sql.DB, queries ...string) *stmts {
	return &stmts{pool: pool, queries: queries, m: map[string]*sql.Stmt{}}
}

// warm prepares the queries unless done already. It must be called with no
// connection of the pool held by the caller. A failure (the tables do not
// exist before Migrate) is left for a later call: transactions then parse
// the statements themselves.
func (s *stmts) warm(ctx context.Context) {
	if s.ready.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queries {
		if s.m[q] != nil {
			continue
		}
		st, err := s.pool.PrepareContext(ctx, q)
		if err != nil {
			return
		}
		s.m[q] = st
	}
	s.ready.Store(true)
}

// lookup returns the prepared statement for query, or nil.
func (s *stmts) lookup(query string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[query]
}

// close closes every statement.
func (s *stmts) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for q, st := range s.m {
		errs = append(errs, st.Close())
		delete(s.m, q)
	}
	s.ready.Store(false)
	return errors.Join(errs...)
}

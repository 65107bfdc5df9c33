package main

import (
	"context"
	"fmt"

	"github.com/tacitauth/tacit/internal/sqlstore"
	"github.com/tacitauth/tacit/postgres"
	"github.com/tacitauth/tacit/sqlite"
)

// openSnapshot opens d read-only, as one consistent snapshot, for the
// reads that tacit.Store does not offer (see sqlstore.Snapshot); setting
// names where d came from, for errors. A missing SQLite file is an error,
// not a new empty database.
func openSnapshot(ctx context.Context, d Database, setting string) (*sqlstore.Snapshot, error) {
	var s *sqlstore.Snapshot
	var err error
	if d.Engine == enginePostgres {
		s, err = postgres.OpenSnapshot(ctx, d.URL)
	} else {
		s, err = sqlite.OpenSnapshot(ctx, d.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, d.redact(err))
	}
	return s, nil
}

// closeSnapshot closes s, keeping the first error: for deferred calls.
func closeSnapshot(s *sqlstore.Snapshot, d Database, setting string, err *error) {
	if cerr := s.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("%s: close: %w", setting, d.redact(cerr))
	}
}

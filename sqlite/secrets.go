package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
)

// secretBytes is the size of a server secret: 256 bits, a full key for
// HMAC-SHA256.
const secretBytes = 32

// Secret returns the named server secret, creating it on first use.
//
// The common case, a secret that exists, is a read on the reader pool and
// never waits for the writer. The first use offers fresh random bytes with
// INSERT OR IGNORE and then reads back whatever is stored, in one
// transaction: when several instances start at once, the first insert wins
// and every caller gets that one value.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	var value []byte
	err := db.reader.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value)
	if err == nil {
		return value, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	fresh := make([]byte, secretBytes)
	rand.Read(fresh) // crypto/rand.Read never fails; it crashes the program instead.
	err = inTx(ctx, db.writer, nil, func(t *sql.Tx) error {
		if _, err := t.ExecContext(ctx, `INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)`, name, fresh); err != nil {
			return err
		}
		return t.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value)
	})
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	return value, nil
}

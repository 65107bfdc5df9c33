package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// secretBytes is the size of a server secret: 256 bits, a full key for
// HMAC-SHA256.
const secretBytes = 32

// Secret returns the named server secret, creating it on first use.
//
// The common case, a secret that exists, is one read. The first use offers
// fresh random bytes with INSERT … ON CONFLICT DO NOTHING and then reads
// back whatever is stored, in one transaction: when several instances
// start at once, an insert that meets another's uncommitted row waits for
// it, the first to commit wins, and the read that follows (a new snapshot
// under READ COMMITTED) gives every caller that one value.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	const read = `SELECT value FROM secrets WHERE name = $1`
	var value []byte
	err := db.pool.QueryRow(ctx, read, name).Scan(&value)
	if err == nil {
		return value, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	fresh := make([]byte, secretBytes)
	rand.Read(fresh) // crypto/rand.Read never fails; it crashes the program instead.
	err = db.inTx(ctx, pgx.TxOptions{}, func(t pgx.Tx) error {
		_, err := t.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh)
		if err != nil {
			return err
		}
		return t.QueryRow(ctx, read, name).Scan(&value)
	})
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", name, err)
	}
	return value, nil
}

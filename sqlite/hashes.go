package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/tacitauth/tacit/internal/upkeep"
)

// HashSamples returns one stored password hash for each set of hash
// parameters in use, in no particular order, so that the server can size
// its envelope to cover the costliest (flow.MeasureEnvelopeFor). It reads
// every account's hash once.
func (db *DB) HashSamples(ctx context.Context) ([]string, error) {
	samples := map[string]string{}
	err := inTx(ctx, db.reader, &sql.TxOptions{ReadOnly: true}, func(t *sql.Tx) error {
		rows, err := t.QueryContext(ctx, `SELECT password_hash FROM accounts`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				return err
			}
			samples[upkeep.HashParams(h)] = h
		}
		return rows.Err()
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

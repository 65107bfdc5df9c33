package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/tacitauth/tacit/internal/upkeep"
)

// HashSamples returns one stored password hash for each set of hash
// parameters in use, in no particular order, so that the server can size
// its envelope to cover the costliest (flow.MeasureEnvelopeFor). It reads
// every account's hash once.
func (db *DB) HashSamples(ctx context.Context) ([]string, error) {
	samples := map[string]string{}
	err := db.inTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(t pgx.Tx) error {
		rows, err := t.Query(ctx, `SELECT password_hash FROM accounts`)
		if err != nil {
			return err
		}
		var h string
		_, err = pgx.ForEachRow(rows, []any{&h}, func() error {
			samples[upkeep.HashParams(h)] = h
			return nil
		})
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

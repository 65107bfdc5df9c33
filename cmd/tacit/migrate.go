package main

import (
	"context"
	"fmt"
	"io"
)

// migrate brings the database schema up to date and says what it did.
func migrate(ctx context.Context, c Config, stdout io.Writer) (err error) {
	db, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	if err := migrateStore(ctx, db, c.Database, stdout); err != nil {
		return err
	}
	n, err := sealStore(ctx, db, c)
	if err != nil || n.Clear+n.Old == 0 {
		return err
	}
	_, err = fmt.Fprintf(stdout, "sealed %d secrets under %s (%d were clear, %d under a former key)\n", n.Clear+n.Old, c.keySource(), n.Clear, n.Old)
	return err
}

package main

import (
	"context"
	"io"
)

// migrate brings the database schema up to date and says what it did.
func migrate(ctx context.Context, c Config, stdout io.Writer) (err error) {
	db, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	return migrateStore(ctx, db, c.Database, stdout)
}

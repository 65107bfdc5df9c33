package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tacitauth/tacit/sqlite"
)

// splitBackupArgs takes backup's file, its last argument, from args; the
// rest are the configuration's flags, each of which takes a value: a last
// argument right after a flag without "=" is that flag's value, and the
// file is missing.
func splitBackupArgs(args []string) (path string, flags []string) {
	n := len(args)
	if n == 0 || strings.HasPrefix(args[n-1], "-") {
		return "", args
	}
	if n >= 2 {
		prev := args[n-2]
		switch {
		case prev == "-h" || prev == "-help" || prev == "--help":
		case strings.HasPrefix(prev, "-") && !strings.Contains(prev, "="):
			return "", args
		}
	}
	return args[n-1], args[:n-1]
}

// backup writes a copy of the configured SQLite database to the new file
// path while a serve may be using it (see sqlite.Backup). PostgreSQL has
// its own tools for that.
func backup(ctx context.Context, c Config, path string, stdout io.Writer) error {
	if path == "" {
		return usageError{"backup: name the file to write, e.g. tacit backup /var/backups/tacit-2026-01-31.db"}
	}
	if c.Database.Engine == enginePostgres {
		return usageError{"backup: the database is PostgreSQL; back it up with pg_dump or the server's own backups"}
	}
	if _, err := os.Stat(c.Database.Path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %s does not exist", c.databaseSetting(), c.Database.Path)
	}
	if err := sqlite.Backup(ctx, c.Database.Path, path); err != nil {
		return fmt.Errorf("%s: %w", c.databaseSetting(), err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "backed up %s to %s (%d bytes)\n", c.Database.Path, path, fi.Size())
	return err
}

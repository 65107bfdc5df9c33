package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the SQLite database at src to the new
// file dst, with VACUUM INTO: it reads src in one read transaction, which
// in WAL mode neither waits for nor stops a server writing to src, and
// writes a compact database of its own (no WAL beside it) that a server
// opens like any other. dst must not exist. The copy is written to a
// temporary file in dst's directory, made readable by its owner only (it
// holds password hashes and second-step secrets), synced, and renamed to
// dst, so dst is either whole or absent.
func Backup(ctx context.Context, src, dst string) (err error) {
	abs, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("backup: %s already exists", dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	// VACUUM INTO fills an empty file it finds, keeping its mode.
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer func() {
		if err != nil {
			os.Remove(tmpName)
		}
	}()

	q := url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(5000)"}}
	pool, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String())
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", src, err)
	}
	defer pool.Close()
	pool.SetMaxOpenConns(1)
	if _, err := pool.ExecContext(ctx, `VACUUM INTO ?`, tmpName); err != nil {
		return fmt.Errorf("backup: VACUUM INTO: %w", classify(err))
	}
	if err := syncFile(tmpName); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// Link, not rename: a dst made meanwhile is refused, never replaced.
	if err := os.Link(tmpName, dst); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	os.Remove(tmpName)
	return syncFile(filepath.Dir(dst))
}

// syncFile flushes a file or a directory to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// openMigrated opens the database at path, migrated, until the test ends.
func openMigrated(t *testing.T, path string) *DB {
	t.Helper()
	db := engine.OpenAt(t, path)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// newAccount commits an account with address email to db.
func newAccount(t *testing.T, db *DB, email string) error {
	t.Helper()
	ctx := context.Background()
	return db.Update(ctx, func(tx tacit.Tx) error {
		return tx.CreateAccount(ctx, &tacit.Account{Email: email, PasswordHash: "h", CreatedAt: time.Now()})
	})
}

// hasAccount reports whether db holds an account for email.
func hasAccount(t *testing.T, db *DB, email string) bool {
	t.Helper()
	ctx := context.Background()
	err := db.View(ctx, func(tx tacit.Tx) error {
		_, err := tx.AccountByEmail(ctx, email)
		return err
	})
	if err != nil && !errors.Is(err, tacit.ErrNotFound) {
		t.Fatalf("AccountByEmail %s: %v", email, err)
	}
	return err == nil
}

// A backup taken while another handle writes without pause is a whole,
// current database: it opens, its schema is current, it passes
// integrity_check, it holds every account committed before it began, and
// only its owner may read it. An existing destination is refused, and
// left alone.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	path := engine.Fresh(t)
	db := openMigrated(t, path)
	if err := newAccount(t, db, "before@example.com"); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var written atomic.Int64
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := newAccount(t, db, fmt.Sprintf("during-%d@example.com", i)); err != nil {
				t.Errorf("write during the backup: %v", err)
				return
			}
			written.Add(1)
		}
	})
	for written.Load() < 50 {
		time.Sleep(time.Millisecond)
	}
	dst := filepath.Join(t.TempDir(), "backup.db")
	err := Backup(ctx, path, dst)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Backup while writing: %v", err)
	}
	t.Logf("%d accounts written by the other handle, before and while the backup ran", written.Load())

	fi, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".*tmp"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	b := engine.OpenAt(t, dst)
	if current, err := b.MigrationsCurrent(ctx); err != nil || !current {
		t.Errorf("backup MigrationsCurrent = %v, %v; want true", current, err)
	}
	var check string
	if err := b.reader.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("backup integrity_check = %q, %v", check, err)
	}
	if !hasAccount(t, b, "before@example.com") {
		t.Error("backup lacks the account committed before it")
	}

	if err := Backup(ctx, path, dst); err == nil {
		t.Error("Backup onto an existing file succeeded, want refused")
	}
	if !hasAccount(t, engine.OpenAt(t, dst), "before@example.com") {
		t.Error("a refused backup changed the existing file")
	}
}

// A database file moved over (a backup restored while serving) or
// removed is refused from the next transaction on, reads and writes
// alike, and readiness says so; the refusal stays when the file comes
// back, since writes between would be lost.
func TestReplacedFileRefused(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"moved over", "removed"} {
		t.Run(how, func(t *testing.T) {
			path := engine.Fresh(t)
			db := openMigrated(t, path)
			if err := newAccount(t, db, "owner@example.com"); err != nil {
				t.Fatal(err)
			}
			kept := filepath.Join(t.TempDir(), "kept.db")
			if err := Backup(ctx, path, kept); err != nil {
				t.Fatal(err)
			}
			aside := filepath.Join(filepath.Dir(path), "aside.db")
			if err := os.Rename(path, aside); err != nil {
				t.Fatal(err)
			}
			if how == "moved over" {
				if err := os.Rename(kept, path); err != nil {
					t.Fatal(err)
				}
			}

			checkRefused := func(when string) {
				t.Helper()
				err := db.View(ctx, func(tx tacit.Tx) error { _, err := tx.AccountByEmail(ctx, "owner@example.com"); return err })
				if !errors.Is(err, tacit.ErrStorageReplaced) {
					t.Errorf("%s: read = %v, want tacit.ErrStorageReplaced", when, err)
				}
				if err := newAccount(t, db, "lost@example.com"); !errors.Is(err, tacit.ErrStorageReplaced) {
					t.Errorf("%s: write = %v, want tacit.ErrStorageReplaced", when, err)
				}
				if _, err := db.ClaimMail(ctx, time.Now(), time.Minute, 1); !errors.Is(err, tacit.ErrStorageReplaced) {
					t.Errorf("%s: claim mail = %v, want tacit.ErrStorageReplaced", when, err)
				}
				if ok, err := db.MigrationsCurrent(ctx); ok || !errors.Is(err, tacit.ErrStorageReplaced) {
					t.Errorf("%s: MigrationsCurrent = %v, %v; want false, tacit.ErrStorageReplaced", when, ok, err)
				}
			}
			checkRefused("after the file was " + how)

			if how == "moved over" {
				os.Remove(path)
			}
			if err := os.Rename(aside, path); err != nil {
				t.Fatal(err)
			}
			checkRefused("with the original file back")
			if hasAccount(t, engine.OpenAt(t, path), "lost@example.com") {
				t.Error("a refused write reached the file")
			}
		})
	}
}

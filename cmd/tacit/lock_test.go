package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecondServeRefused starts a serve, then a second on the same SQLite
// file: the second must fail at once, naming the file, rather than serve
// beside the first. Before the lock it served until its context ended.
func TestSecondServeRefused(t *testing.T) {
	dataDir := t.TempDir()
	var stderr lockedBuffer
	stop := startServe(t, freeAddr(t), fastEnv(dataDir), &stderr)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	err := run(ctx, []string{"serve", "--addr", freeAddr(t)}, fastEnv(dataDir), io.Discard, io.Discard)
	db := filepath.Join(dataDir, "tacit.db")
	if err == nil || !strings.Contains(err.Error(), db+" is in use by another tacit serve (pid ") {
		t.Fatalf("second serve on %s: %v, want a refusal naming it", db, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("second serve took %s to refuse", took)
	}
	if err := stop(); err != nil {
		t.Fatalf("first serve: %v", err)
	}
	// Stopped, the first gave the lock up.
	l, err := lockDatabase(Database{Engine: engineSQLite, Path: db}, "TACIT_DATA_DIR", "test")
	if err != nil {
		t.Fatalf("lock after serve stopped: %v", err)
	}
	l.release()
}

// TestLockDatabase checks the lock on its own: exclusive within one
// process too, released by release, a no-op for PostgreSQL, and a record
// it cannot read still gives a clear refusal.
func TestLockDatabase(t *testing.T) {
	d := Database{Engine: engineSQLite, Path: filepath.Join(t.TempDir(), "sub", "tacit.db")}
	a, err := lockDatabase(d, "--data-dir", "seed")
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockDatabase(d, "--data-dir", "serve")
	want := d.Path + " is in use by another tacit seed (pid "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "; stop it first, or give this one another --data-dir") {
		t.Fatalf("second lock: %v, want %q…", err, want)
	}
	// A record in a form it does not know names no pid.
	if err := os.WriteFile(d.Path+".lock", []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = lockDatabase(d, "--data-dir", "serve")
	if err == nil || !strings.Contains(err.Error(), "in use by another tacit process (lock file ") {
		t.Fatalf("lock with unreadable record: %v", err)
	}
	a.release()
	b, err := lockDatabase(d, "--data-dir", "serve")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	b.release()

	pg := Database{Engine: enginePostgres, URL: "postgres://u@127.0.0.1/x"}
	for range 2 {
		l, err := lockDatabase(pg, "TACIT_DATABASE_URL", "serve")
		if err != nil {
			t.Fatalf("PostgreSQL: %v", err)
		}
		defer l.release()
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tacitauth/tacit"
)

// TestSeed seeds 2,000 accounts on each engine, then signs in as one of
// them through a real server.
func TestSeed(t *testing.T) {
	for _, tt := range []struct {
		name string
		db   func(*testing.T) string
	}{
		{"sqlite", sqliteURL},
		{"postgres", postgresURL},
	} {
		t.Run(tt.name, func(t *testing.T) { testSeed(t, tt.db(t)) })
	}
}

func testSeed(t *testing.T, dbURL string) {
	ctx := context.Background()
	d, err := parseDatabaseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	getenv := fastEnv(t.TempDir(), "TACIT_DATABASE_URL", dbURL)
	var stdout bytes.Buffer
	if err := run(ctx, []string{"seed", "--accounts", "2000"}, getenv, &stdout, io.Discard); err != nil {
		t.Fatalf("seed: %v", err)
	}
	want := regexp.MustCompile(`^database ` + regexp.QuoteMeta(d.Display()) + ` migrated\n` +
		`seeded 2000 accounts seed-1@example\.com … seed-2000@example\.com in [0-9.]+m?s \([0-9]+ accounts/s\)\n$`)
	if !want.MatchString(stdout.String()) {
		t.Errorf("seed printed:\n%s\nwant it to match %s", &stdout, want)
	}

	// Seeding any of those addresses again is refused before anything
	// is written; a prefix that merely starts the same is not.
	err = run(ctx, []string{"seed", "--accounts", "5000"}, getenv, io.Discard, io.Discard)
	const refused = "seed: seed-1@example.com already has an account; seed only addresses that have none (choose another --prefix)"
	if err == nil || err.Error() != refused {
		t.Errorf("seeding again: %v\nwant %s", err, refused)
	}
	args := []string{"seed", "--accounts", "3", "--prefix", "seed-1", "--password", "other password 2"}
	if err := run(ctx, args, getenv, io.Discard, io.Discard); err != nil {
		t.Errorf("seed --prefix seed-1: %v", err)
	}

	// Every seeded account shares one hash, made with the configured
	// parameters, and is verified and enabled.
	db := openTestStore(t, dbURL)
	var first, last tacit.Account
	var missing error
	err = db.View(ctx, func(tx tacit.Tx) (err error) {
		if first, err = tx.AccountByEmail(ctx, "seed-1@example.com"); err != nil {
			return err
		}
		if last, err = tx.AccountByEmail(ctx, "seed-2000@example.com"); err != nil {
			return err
		}
		_, missing = tx.AccountByEmail(ctx, "seed-2001@example.com")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if first.PasswordHash != last.PasswordHash || !strings.HasPrefix(first.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("seed hashes: %q and %q, want one hash with m=64,t=1,p=1", first.PasswordHash, last.PasswordHash)
	}
	if first.Disabled || first.CreatedAt.IsZero() {
		t.Errorf("seeded account %+v: want enabled, with a creation time", first)
	}
	if !errors.Is(missing, tacit.ErrNotFound) {
		t.Errorf("seed-2001@example.com: %v, want not found", missing)
	}

	addr := freeAddr(t)
	stop := startServe(t, addr, getenv, io.Discard)
	defer stop()
	base := "http://" + addr
	for _, tt := range []struct {
		email, password string
		want            int
	}{
		{"seed-1234@example.com", "seed password 1", http.StatusOK},
		{"seed-1234@example.com", "seed password 2", http.StatusUnauthorized},
		{"seed-1-3@example.com", "other password 2", http.StatusOK},
	} {
		if status, body := login(t, base, tt.email, tt.password); status != tt.want {
			t.Errorf("sign in as %s with %q: %d %s, want %d", tt.email, tt.password, status, body, tt.want)
		}
	}
}

// TestSeedProgress seeds with small batches and a small progress
// interval, to check the progress lines.
func TestSeedProgress(t *testing.T) {
	c, err := Load("seed", nil, fastEnv(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	o := seedOptions{accounts: 45, password: "p", prefix: "seed", batch: 10, progressEvery: 20}
	var stdout bytes.Buffer
	if err := seed(context.Background(), c, o, &stdout); err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^database .*tacit\.db migrated\n` +
		`seeded 20 of 45 accounts \([0-9]+ accounts/s\)\n` +
		`seeded 40 of 45 accounts \([0-9]+ accounts/s\)\n` +
		`seeded 45 accounts seed-1@example\.com … seed-45@example\.com in .*\n$`)
	if !want.MatchString(stdout.String()) {
		t.Errorf("seed printed:\n%s\nwant it to match %s", &stdout, want)
	}
}

// TestSeedArgs checks the refused invocations: they are usage errors and
// touch no database.
func TestSeedArgs(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "seed: --accounts must be a whole number ≥ 1"},
		{[]string{"--accounts", "-3"}, "seed: --accounts must be a whole number ≥ 1"},
		{[]string{"--accounts", "3", "--prefix", "Seed"},
			`seed: --prefix "Seed" makes the address "Seed-1@example.com", which is not a valid lower-case address`},
		{[]string{"--accounts", "3", "--prefix", "a b"},
			`seed: --prefix "a b" makes the address "a b-1@example.com", which is not a valid lower-case address`},
		{[]string{"--accounts", "10", "--prefix", strings.Repeat("x", 62)},
			`seed: --prefix "` + strings.Repeat("x", 62) + `" makes the address "` + strings.Repeat("x", 62) + `-10@example.com", which is not a valid lower-case address`},
	} {
		err := run(context.Background(), append([]string{"seed"}, tt.args...), fastEnv(dir), io.Discard, io.Discard)
		var ue usageError
		if err == nil || err.Error() != tt.want || !errors.As(err, &ue) {
			t.Errorf("seed %q: %v\nwant usage error %s", tt.args, err, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tacit.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused seed made a database: %v", err)
	}
}

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/internal/seal"
)

// TestSecretKey checks where the sealing key comes from and that a
// start with another key is refused with one line naming the setting:
// the key file is made 0600 beside the database on first start; serve and
// migrate with another key stop; a rotation (the new key, the file's as
// a former one) is accepted, after which the former key alone is refused.
func TestSecretKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := run(ctx, []string{"migrate"}, env("TACIT_DATA_DIR", dir), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "secret.key")
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	text, _ := os.ReadFile(file)
	if _, err := seal.ParseKey(string(text)); err != nil {
		t.Fatalf("key file: %v", err)
	}

	_, other := seal.NewRandomKey()
	const want = "TACIT_SECRET_KEY: the database's secrets were sealed under another key"
	err = run(ctx, []string{"serve"}, fastEnv(dir, "TACIT_SECRET_KEY", other), io.Discard, io.Discard)
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), other) {
		t.Fatalf("serve with another key: %v, want an error starting %q, without the key", err, want)
	}

	// Rotation.
	var stdout bytes.Buffer
	rotate := env("TACIT_DATA_DIR", dir, "TACIT_SECRET_KEY", other, "TACIT_SECRET_KEY_OLD", strings.TrimSpace(string(text)))
	if err := run(ctx, []string{"migrate"}, rotate, &stdout, io.Discard); err != nil {
		t.Fatalf("migrate with the new key and the former one: %v", err)
	}
	err = run(ctx, []string{"migrate"}, env("TACIT_DATA_DIR", dir), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "secret.key: the database's secrets were sealed under another key") {
		t.Fatalf("migrate with the former key after the rotation: %v", err)
	}

	// The key from a file; a bad key is refused when read.
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"migrate"}, env("TACIT_DATA_DIR", dir, "TACIT_SECRET_KEY_FILE", keyFile), io.Discard, io.Discard); err != nil {
		t.Fatalf("migrate with the key in a file: %v", err)
	}
	for _, bad := range []string{"c2hvcnQ=", "not base64!"} {
		err := run(ctx, []string{"migrate"}, env("TACIT_DATA_DIR", dir, "TACIT_SECRET_KEY", bad), io.Discard, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "TACIT_SECRET_KEY:") {
			t.Errorf("TACIT_SECRET_KEY=%q: %v", bad, err)
		}
	}
	err = run(ctx, []string{"migrate"}, env("TACIT_DATA_DIR", dir, "TACIT_SECRET_KEY", other, "TACIT_SECRET_KEY_FILE", keyFile), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "set one, not both") {
		t.Errorf("both the key and its file: %v", err)
	}
}

package sqlite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/seal"
)

// TestNoClearSecretInFile reads the bytes of the database file and its
// write-ahead log: neither a TOTP secret written clear by a version
// before sealing (sealed at start, its old bytes scrubbed) nor one
// written since is in them.
func TestNoClearSecretInFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tacit.db")
	const old, fresh = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"

	db := engine.OpenAt(t, path)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var ada, bob tacit.Account
	err := db.Update(ctx, func(tx tacit.Tx) error {
		ada = tacit.Account{Email: "ada@example.com", PasswordHash: "h", CreatedAt: time.Now()}
		bob = tacit.Account{Email: "bob@example.com", PasswordHash: "h", CreatedAt: time.Now()}
		if err := tx.CreateAccount(ctx, &ada); err != nil {
			return err
		}
		if err := tx.CreateAccount(ctx, &bob); err != nil {
			return err
		}
		// As a version before sealing stored it.
		return tx.SaveTOTP(ctx, tacit.TOTP{AccountID: ada.ID, Secret: old, Enabled: true, CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !fileHolds(t, path, old) {
		t.Fatal("the clear secret is not in the file before sealing: the test reads the wrong bytes")
	}

	key, _ := seal.NewRandomKey()
	db.SetKeys(seal.NewKeys(key))
	if n, err := db.SealSecrets(ctx); err != nil || n.Clear != 1 {
		t.Fatalf("SealSecrets = %+v, %v; want 1 sealed", n, err)
	}
	err = db.Update(ctx, func(tx tacit.Tx) error {
		return tx.SaveTOTP(ctx, tacit.TOTP{AccountID: bob.ID, Secret: fresh, CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, func(tx tacit.Tx) error {
		o, err := tx.TOTPByAccount(ctx, bob.ID)
		if err == nil && o.Secret != fresh {
			t.Errorf("bob's secret reads %q", o.Secret)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{old, fresh} {
		if fileHolds(t, path, secret) {
			t.Errorf("the database's files hold the secret %s in clear", secret)
		}
	}
}

// fileHolds reports whether the database file or its log holds s.
func fileHolds(t *testing.T, path, s string) bool {
	t.Helper()
	for _, name := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(name)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

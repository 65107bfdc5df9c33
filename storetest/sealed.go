package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/seal"
	"github.com/tacitauth/tacit/internal/sqlstore"
)

// Sealer is a store that seals its secrets under keys kept outside the
// database (sqlstore.Store.SetKeys, SealSecrets), as every engine's does.
type Sealer interface {
	tacit.Store
	SetKeys(*seal.Keys)
	SealSecrets(ctx context.Context) (sqlstore.Sealed, error)
	SealedUnder(ctx context.Context) (string, error)
}

func newKey(t *testing.T) *seal.Key {
	t.Helper()
	k, _ := seal.NewRandomKey()
	return k
}

// storedSecret reads an account's TOTP secret as the database holds it.
func storedSecret(t *testing.T, e engine, s tacit.Store, accountID int64) string {
	t.Helper()
	var v string
	e.row(t, s, fmt.Sprintf(`SELECT secret FROM totp WHERE account_id = %d`, accountID), &v)
	return v
}

// sealedUnder checks which key s says its secrets are sealed under.
func sealedUnder(t *testing.T, what string, s Sealer, want string) {
	t.Helper()
	got, err := s.SealedUnder(context.Background())
	if err != nil {
		t.Fatalf("%s: SealedUnder: %v", what, err)
	}
	equal(t, what+": sealed under", got, want)
}

func saveTOTP(t *testing.T, s tacit.Store, o tacit.TOTP) {
	t.Helper()
	update(t, s, func(tx tacit.Tx) error { return tx.SaveTOTP(context.Background(), o) })
}

func signingKeys(t *testing.T, s tacit.Store) ([]tacit.SigningKey, error) {
	t.Helper()
	var keys []tacit.SigningKey
	err := s.View(context.Background(), func(tx tacit.Tx) error {
		var err error
		keys, err = tx.SigningKeys(context.Background())
		return err
	})
	return keys, err
}

// TOTP secrets and signing keys are stored sealed under the current key,
// bound to their row; clear ones left by an older version are sealed at
// start, in one transaction; a database sealed under a key the store was
// not given is refused; an old key opens for a rotation.
func testSealing(t *testing.T, e engine) {
	ctx := context.Background()
	dbs := e.unmigrated(t, 4)
	sealedUnder(t, "a database without a schema", dbs[0].(Sealer), "")
	if err := dbs[0].Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// plain writes as a version before sealing did; k1, k2 and rotate are
	// servers given the key k1, another key k2, and k2 with k1 as old.
	plain, k1, k2, rotate := dbs[0].(Sealer), dbs[1].(Sealer), dbs[2].(Sealer), dbs[3].(Sealer)
	key1, key2 := newKey(t), newKey(t)
	k1.SetKeys(seal.NewKeys(key1))
	k2.SetKeys(seal.NewKeys(key2))
	rotate.SetKeys(seal.NewKeys(key2, key1))

	ada := createAccount(t, plain, "ada@example.com")
	bob := createAccount(t, plain, "bob@example.com")
	adaTOTP := tacit.TOTP{AccountID: ada.ID, Secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", Enabled: true, CreatedAt: base}
	bobTOTP := tacit.TOTP{AccountID: bob.ID, Secret: "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU", CreatedAt: base}
	saveTOTP(t, plain, adaTOTP)
	saveTOTP(t, plain, bobTOTP)
	der := []byte{0x30, 0x81, 0x87, 'p', 'r', 'i', 'v', 'a', 't', 'e'}
	update(t, plain, func(tx tacit.Tx) error {
		return tx.CreateSigningKey(ctx, tacit.SigningKey{ID: "k1", Algorithm: "ES256", PrivateKey: der, CreatedAt: base})
	})
	equal(t, "secret stored by a store without keys", storedSecret(t, e, plain, ada.ID), adaTOTP.Secret)
	sealedUnder(t, "a database with clear secrets only", plain, "")

	// A failure half way (here a value under an unknown key, after
	// ada's and bob's) leaves every row as it was.
	carol := createAccount(t, plain, "carol@example.com")
	saveTOTP(t, k2, tacit.TOTP{AccountID: carol.ID, Secret: "MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK", CreatedAt: base})
	sealedUnder(t, "a database with one secret sealed, none recorded", plain, key2.ID())
	_, err := k1.SealSecrets(ctx)
	wantErr(t, "SealSecrets over a value under another key", err, seal.ErrUnknownKey)
	equal(t, "ada's secret after a failed seal", storedSecret(t, e, plain, ada.ID), adaTOTP.Secret)
	update(t, plain, func(tx tacit.Tx) error { return tx.DeleteTOTP(ctx, carol.ID) })

	n, err := k1.SealSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "values sealed at start", n, sqlstore.Sealed{Clear: 3})
	sealedUnder(t, "a database sealed at start", plain, key1.ID())
	for _, a := range []tacit.Account{ada, bob} {
		v := storedSecret(t, e, plain, a.ID)
		if !strings.HasPrefix(v, "sealed:v1:"+key1.ID()+":") || strings.Contains(v, "JBSWY3DP") || strings.Contains(v, "KRSXG5CT") {
			t.Fatalf("stored secret of %s = %q, want it sealed under key 1", a.Email, v)
		}
	}
	var storedKey []byte
	e.row(t, plain, `SELECT private_key FROM oidc_keys WHERE id = 'k1'`, &storedKey)
	if bytes.Contains(storedKey, der) || !seal.IsSealed(string(storedKey)) {
		t.Fatalf("stored signing key = %q, want it sealed", storedKey)
	}
	got, err := totpOf(t, k1, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "ada's TOTP read through the key", got, adaTOTP)
	keys, err := signingKeys(t, k1)
	if err != nil || len(keys) != 1 || !bytes.Equal(keys[0].PrivateKey, der) {
		t.Fatalf("signing keys through the key = %v, %v", keys, err)
	}
	// Again: nothing is left to seal.
	n, err = k1.SealSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "values sealed at a second start", n, sqlstore.Sealed{})

	// New secrets are sealed as they are written.
	bobTOTP.Secret, bobTOTP.Enabled = "ONSWG4TFORZWK3TPN5ZWK3TPONSWG4TF", true
	saveTOTP(t, k1, bobTOTP)
	if v := storedSecret(t, e, plain, bob.ID); strings.Contains(v, bobTOTP.Secret) || !seal.IsSealed(v) {
		t.Fatalf("new secret stored as %q", v)
	}
	_, err = totpOf(t, plain, bob.ID)
	if err == nil {
		t.Fatal("a store without keys read a sealed secret")
	}

	// A sealed value moved to another account's row does not open there.
	e.exec(t, plain, fmt.Sprintf(`UPDATE totp SET secret = (SELECT secret FROM totp WHERE account_id = %d) WHERE account_id = %d`, bob.ID, ada.ID))
	_, err = totpOf(t, k1, ada.ID)
	wantErr(t, "bob's sealed secret in ada's row", err, seal.ErrOpen)
	saveTOTP(t, k1, adaTOTP)

	// Another key is refused at start, and changes nothing.
	before := storedSecret(t, e, plain, ada.ID)
	_, err = k2.SealSecrets(ctx)
	wantErr(t, "SealSecrets with another key", err, seal.ErrUnknownKey)
	equal(t, "ada's secret after the refused start", storedSecret(t, e, plain, ada.ID), before)
	_, err = totpOf(t, k2, ada.ID)
	wantErr(t, "TOTPByAccount with another key", err, seal.ErrUnknownKey)

	// Rotation: the new key with the old one seals everything again.
	n, err = rotate.SealSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "values sealed again under the new key", n, sqlstore.Sealed{Old: 3})
	for _, a := range []tacit.Account{ada, bob} {
		if v := storedSecret(t, e, plain, a.ID); seal.SealedID(v) != key2.ID() {
			t.Fatalf("after rotation %s's secret is under key %q, want %q", a.Email, seal.SealedID(v), key2.ID())
		}
	}
	got, err = totpOf(t, k2, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "ada's TOTP through the new key alone", got, adaTOTP)
	if keys, err := signingKeys(t, k2); err != nil || !bytes.Equal(keys[0].PrivateKey, der) {
		t.Fatalf("signing keys through the new key = %v, %v", keys, err)
	}
	// The new key alone starts now; the old key alone no longer does.
	if _, err := k2.SealSecrets(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = k1.SealSecrets(ctx)
	if !errors.Is(err, seal.ErrUnknownKey) {
		t.Fatalf("SealSecrets with the retired key = %v, want %v", err, seal.ErrUnknownKey)
	}
}

package openid

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/tacitauth/tacit"
)

// newSigningKey makes an ES256 key with a random ID.
func newSigningKey(now time.Time) (tacit.SigningKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tacit.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return tacit.SigningKey{}, err
	}
	id := make([]byte, 12)
	rand.Read(id)
	return tacit.SigningKey{ID: base64.RawURLEncoding.EncodeToString(id), Algorithm: string(jose.ES256), PrivateKey: der, CreatedAt: now.UTC()}, nil
}

// EnsureKey makes a signing key if the store has none that signs. Two
// instances starting at once may each make one; both are published, and
// every instance signs with the newest, so they still sign alike.
func EnsureKey(ctx context.Context, store tacit.Store, now time.Time) error {
	var have bool
	err := store.View(ctx, func(tx tacit.Tx) error {
		keys, err := tx.SigningKeys(ctx)
		for _, k := range keys {
			have = have || k.RetiredAt.IsZero()
		}
		return err
	})
	if err != nil || have {
		return err
	}
	return RotateKey(ctx, store, now)
}

// RotateKey makes a new signing key and retires the others: they no
// longer sign but stay in the JWKS, so tokens they signed still verify
// until they expire.
func RotateKey(ctx context.Context, store tacit.Store, now time.Time) error {
	k, err := newSigningKey(now)
	if err != nil {
		return fmt.Errorf("new signing key: %w", err)
	}
	return store.Update(ctx, func(tx tacit.Tx) error {
		if err := tx.CreateSigningKey(ctx, k); err != nil {
			return err
		}
		return tx.RetireSigningKeys(ctx, k.ID, now.UTC())
	})
}

// key is a stored signing key, parsed: op.SigningKey and op.Key.
type key struct {
	id   string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func parseKey(k tacit.SigningKey) (*key, error) {
	p, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", k.ID, err)
	}
	s, ok := p.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: not a signing key", k.ID)
	}
	return &key{id: k.ID, alg: jose.SignatureAlgorithm(k.Algorithm), priv: s}, nil
}

func (k *key) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *key) ID() string                                  { return k.id }

// publicKey is the published half of a key.
type publicKey struct{ *key }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.priv.Public() }

// signingKey is the private half, for op.SigningKey.
type signingKey struct{ *key }

func (k signingKey) Key() any { return k.priv }

var (
	_ op.SigningKey = signingKey{}
	_ op.Key        = publicKey{}
)

package openid

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/tacitauth/tacit"
)

// rsaBits is the size of RSA keys: 2048 bits, what every relying party
// that asks for RS256 accepts (NIST SP 800-57 holds it adequate through
// 2030).
const rsaBits = 2048

// newSigningKey makes a key for alg (ES256 or RS256) with a random ID.
func newSigningKey(alg jose.SignatureAlgorithm, now time.Time) (tacit.SigningKey, error) {
	var priv any
	var err error
	switch alg {
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return tacit.SigningKey{}, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return tacit.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return tacit.SigningKey{}, err
	}
	id := make([]byte, 12)
	rand.Read(id)
	return tacit.SigningKey{ID: base64.RawURLEncoding.EncodeToString(id), Algorithm: string(alg), PrivateKey: der, CreatedAt: now.UTC()}, nil
}

// Algorithms are the ID token signing algorithms: ES256 for every client
// by default, RS256 for those configured for it.
var Algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// EnsureKey makes a signing key for alg if the store has none that signs.
// Two instances starting at once may each make one; both are published,
// and every instance signs with the newest, so they still sign alike.
func EnsureKey(ctx context.Context, store tacit.Store, alg jose.SignatureAlgorithm, now time.Time) error {
	keys, err := storedKeys(ctx, store)
	if err != nil || len(live(keys, alg)) > 0 {
		return err
	}
	_, err = rotate(ctx, store, alg, now, 0)
	return err
}

// RotateKey makes a new signing key for every algorithm that has one
// (ES256 always) and retires the old ones: they no longer sign but stay
// in the JWKS, so tokens they signed still verify until they expire.
func RotateKey(ctx context.Context, store tacit.Store, now time.Time) error {
	keys, err := storedKeys(ctx, store)
	if err != nil {
		return err
	}
	for _, alg := range Algorithms {
		if alg != jose.ES256 && len(live(keys, alg)) == 0 {
			continue
		}
		if _, err := rotate(ctx, store, alg, now, 0); err != nil {
			return err
		}
	}
	return nil
}

// RotateDue rotates each algorithm's key that has signed for every or
// longer (a scheduled rotation), and deletes the keys retired before
// now-keep: every token they signed has expired by then. Several
// instances may run it at once: of those that find a key due, one
// rotates it, the others back out (see rotate). It reports which
// algorithms it rotated.
func RotateDue(ctx context.Context, store tacit.Store, now time.Time, every, keep time.Duration) ([]jose.SignatureAlgorithm, error) {
	keys, err := storedKeys(ctx, store)
	if err != nil {
		return nil, err
	}
	var rotated []jose.SignatureAlgorithm
	for _, alg := range Algorithms {
		l := live(keys, alg)
		if len(l) == 0 || l[0].CreatedAt.After(now.Add(-every)) {
			continue
		}
		did, err := rotate(ctx, store, alg, now, every)
		if err != nil {
			return rotated, err
		}
		if did {
			rotated = append(rotated, alg)
		}
	}
	err = store.Update(ctx, func(tx tacit.Tx) error { return tx.DeleteSigningKeys(ctx, now.Add(-keep)) })
	return rotated, err
}

// KeyInfo is a signing key as tacit keys list shows it.
type KeyInfo struct {
	ID, Algorithm string
	CreatedAt     time.Time
	// RotatesAt is when the scheduled rotation replaces a key that signs.
	RotatesAt time.Time
	// RetiredAt is when a key stopped signing (zero while it signs);
	// RemovedAt when it leaves the JWKS.
	RetiredAt, RemovedAt time.Time
}

// ListKeys lists the store's keys, newest first, with their schedule
// under cfg (its lifetimes and KeyRotation; zero ones take the
// defaults).
func ListKeys(ctx context.Context, store tacit.Store, cfg Config) ([]KeyInfo, error) {
	cfg = cfg.withDefaults()
	keys, err := storedKeys(ctx, store)
	if err != nil {
		return nil, err
	}
	keep := keyLifetime(cfg)
	out := make([]KeyInfo, len(keys))
	for i, k := range keys {
		out[i] = KeyInfo{ID: k.ID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt}
		if k.RetiredAt.IsZero() {
			out[i].RotatesAt = k.CreatedAt.Add(cfg.KeyRotation)
		} else {
			out[i].RemovedAt = k.RetiredAt.Add(keep)
		}
	}
	return out, nil
}

// errRotated backs out a rotation another instance made first.
var errRotated = errors.New("rotated by another instance")

// rotate makes a new key for alg and retires the ones that sign, in one
// transaction. With every > 0 it is a scheduled rotation: it does nothing
// if the newest key that signs is younger than every. Retiring is
// conditional (RetireSigningKey): if another instance retired a key
// first, the transaction backs out, new key and all, so one rotation
// happens however many instances attempt it. It reports whether it
// rotated.
func rotate(ctx context.Context, store tacit.Store, alg jose.SignatureAlgorithm, now time.Time, every time.Duration) (bool, error) {
	// The key is made outside the transaction: an RSA key takes a while.
	k, err := newSigningKey(alg, now)
	if err != nil {
		return false, fmt.Errorf("new signing key: %w", err)
	}
	err = store.Update(ctx, func(tx tacit.Tx) error {
		keys, err := tx.SigningKeys(ctx)
		if err != nil {
			return err
		}
		old := live(keys, alg)
		if every > 0 && (len(old) == 0 || old[0].CreatedAt.After(now.Add(-every))) {
			return errRotated
		}
		if err := tx.CreateSigningKey(ctx, k); err != nil {
			return err
		}
		for _, o := range old {
			err := tx.RetireSigningKey(ctx, o.ID, now.UTC())
			if errors.Is(err, tacit.ErrConflict) || errors.Is(err, tacit.ErrNotFound) {
				return errRotated
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errRotated) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rotate signing key: %w", err)
	}
	return true, nil
}

// storedKeys lists the store's keys, newest first.
func storedKeys(ctx context.Context, store tacit.Store) ([]tacit.SigningKey, error) {
	var keys []tacit.SigningKey
	err := store.View(ctx, func(tx tacit.Tx) error {
		var err error
		keys, err = tx.SigningKeys(ctx)
		return err
	})
	return keys, err
}

// live returns the keys of alg that sign, newest first.
func live(keys []tacit.SigningKey, alg jose.SignatureAlgorithm) []tacit.SigningKey {
	var out []tacit.SigningKey
	for _, k := range keys {
		if k.RetiredAt.IsZero() && k.Algorithm == string(alg) {
			out = append(out, k)
		}
	}
	return out
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

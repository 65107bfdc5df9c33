package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/tacitauth/tacit/internal/seal"
)

// The associated data of sealed values: what a value belongs to, so that
// one copied into another row (another account's authenticator, another
// signing key) does not open there.
func totpAD(accountID int64) string {
	return "tacit totp secret of account " + strconv.FormatInt(accountID, 10)
}
func signingKeyAD(id string) string { return "tacit oidc signing key " + id }

// errNoKeys is reading a sealed value from a store that was given no keys.
var errNoKeys = errors.New("the database holds sealed secrets but no key was given to open them")

// openTOTP returns the clear secret of a stored one. A clear stored value
// (written before sealing, or by a store without keys) is returned as it
// is: SealSecrets seals those at start.
func openTOTP(keys *seal.Keys, accountID int64, stored string) (string, error) {
	if !seal.IsSealed(stored) {
		return stored, nil
	}
	if keys == nil {
		return "", fmt.Errorf("totp of account %d: %w", accountID, errNoKeys)
	}
	clear, err := keys.Open(stored, totpAD(accountID))
	if err != nil {
		return "", fmt.Errorf("totp of account %d: %w", accountID, err)
	}
	return string(clear), nil
}

// sealTOTP is the stored form of an account's secret.
func sealTOTP(keys *seal.Keys, accountID int64, secret string) string {
	if keys == nil {
		return secret
	}
	return keys.Seal([]byte(secret), totpAD(accountID))
}

// openSigningKey and sealSigningKey are openTOTP and sealTOTP for an
// OpenID Connect signing key's private key, stored as bytes.
func openSigningKey(keys *seal.Keys, id string, stored []byte) ([]byte, error) {
	if !seal.IsSealed(string(stored)) {
		return stored, nil
	}
	if keys == nil {
		return nil, fmt.Errorf("signing key %s: %w", id, errNoKeys)
	}
	clear, err := keys.Open(string(stored), signingKeyAD(id))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", id, err)
	}
	return clear, nil
}

func sealSigningKey(keys *seal.Keys, id string, private []byte) []byte {
	if keys == nil {
		return private
	}
	return []byte(keys.Seal(private, signingKeyAD(id)))
}

// sealLock serialises SealSecrets between instances starting at once.
const sealLock = 0x746163697473656c // "tacitsel"

// sealKeyName is the secrets row that records the id of the key the
// database's secrets are sealed under (never the key).
const sealKeyName = "seal_key_id"

// Sealed counts what SealSecrets changed: values that were clear, and
// values sealed under an old key, now sealed under the current key.
type Sealed struct{ Clear, Old int }

// SealSecrets seals under the current key every TOTP secret and signing
// key stored clear (by a version before sealing) or under an old key, and
// records the current key's id. It refuses, changing nothing, a database
// whose recorded key or any of whose values is sealed under a key it was
// not given (seal.ErrUnknownKey), or that an old key does not open
// (seal.ErrOpen): so that a server started with the wrong key stops at
// start with a clear error, rather than failing sign-ins later; and an
// instance given a key of its own, beside instances sharing another,
// stops before it seals anything.
//
// It runs on every start rather than as a migration: it needs the key,
// which migrations do not have, and a rotation needs it again. It is one
// transaction, so a crash leaves all as it was or all sealed, and running
// it again changes only what is still left.
func (s *Store) SealSecrets(ctx context.Context) (Sealed, error) {
	keys := s.keys
	if keys == nil {
		return Sealed{}, errNoKeys
	}
	var n Sealed
	reseal := func(stored string, ad string) (string, error) {
		if seal.IsSealed(stored) {
			id := seal.SealedID(stored)
			if id == keys.Current.ID() {
				return "", nil
			}
			if !keys.Knows(id) {
				return "", fmt.Errorf("key %s: %w", id, seal.ErrUnknownKey)
			}
			clear, err := keys.Open(stored, ad)
			if err != nil {
				return "", err
			}
			n.Old++
			return keys.Seal(clear, ad), nil
		}
		n.Clear++
		return keys.Seal([]byte(stored), ad), nil
	}
	err := s.Engine.Write(ctx, func(q Querier) error {
		n = Sealed{}
		if _, err := s.Engine.Lock(ctx, q, sealLock, true); err != nil {
			return err
		}
		var recorded []byte
		err := q.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, sealKeyName).Scan(&recorded)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && !keys.Knows(string(recorded)) {
			return fmt.Errorf("the database's secrets are sealed under key %s: %w", recorded, seal.ErrUnknownKey)
		}

		// Those already under the current key (every row, after the
		// first start) are not read: a start reads only what it seals.
		type row struct {
			id     int64
			stored string
		}
		totp, err := collect(ctx, q, func(r Row) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.stored)
		}, `SELECT account_id, secret FROM totp WHERE secret NOT LIKE $1 ORDER BY account_id`, keys.CurrentPrefix()+"%")
		if err != nil {
			return err
		}
		for _, x := range totp {
			v, err := reseal(x.stored, totpAD(x.id))
			if err != nil {
				return fmt.Errorf("totp of account %d: %w", x.id, err)
			}
			if v == "" {
				continue
			}
			if _, err := q.Exec(ctx, `UPDATE totp SET secret = $1 WHERE account_id = $2`, v, x.id); err != nil {
				return err
			}
		}

		type key struct {
			id     string
			stored []byte
		}
		signing, err := collect(ctx, q, func(r Row) (key, error) {
			var x key
			return x, r.Scan(&x.id, &x.stored)
		}, `SELECT id, private_key FROM oidc_keys ORDER BY id`)
		if err != nil {
			return err
		}
		for _, x := range signing {
			v, err := reseal(string(x.stored), signingKeyAD(x.id))
			if err != nil {
				return fmt.Errorf("signing key %s: %w", x.id, err)
			}
			if v == "" {
				continue
			}
			if _, err := q.Exec(ctx, `UPDATE oidc_keys SET private_key = $1 WHERE id = $2`, []byte(v), x.id); err != nil {
				return err
			}
		}

		_, err = q.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, sealKeyName, []byte(keys.Current.ID()))
		return err
	})
	if err != nil {
		return Sealed{}, fmt.Errorf("seal secrets: %w", err)
	}
	return n, nil
}

// SealedUnder returns the id of a key the database's secrets are sealed
// under: the key SealSecrets recorded, or else that of the first sealed
// TOTP secret or signing key; "" when nothing is sealed (or the schema
// is not made yet). It reads only: a start whose key file is missing asks
// it before making a new key, which would open none of them.
func (s *Store) SealedUnder(ctx context.Context) (string, error) {
	return sealedUnder(ctx, s.Engine.Reader(), s.Dialect)
}

// SealedUnder is Store.SealedUnder for the snapshot: migrate-data asks
// it before it writes anything to the target.
func (s *Snapshot) SealedUnder(ctx context.Context) (string, error) {
	return sealedUnder(ctx, s.q, s.dialect)
}

func sealedUnder(ctx context.Context, q Querier, d *Dialect) (string, error) {
	tables, err := columns(ctx, q, d)
	if err != nil {
		return "", err
	}
	if _, ok := tables["secrets"]; ok {
		var recorded []byte
		err := q.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, sealKeyName).Scan(&recorded)
		if err == nil {
			return string(recorded), nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	if _, ok := tables["totp"]; ok {
		var stored string
		err := q.QueryRow(ctx, `SELECT secret FROM totp WHERE secret LIKE $1 LIMIT 1`, "sealed:%").Scan(&stored)
		if err == nil {
			return seal.SealedID(stored), nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	if _, ok := tables["oidc_keys"]; ok {
		keys, err := collect(ctx, q, func(r Row) ([]byte, error) {
			var v []byte
			return v, r.Scan(&v)
		}, `SELECT private_key FROM oidc_keys`)
		if err != nil {
			return "", err
		}
		for _, v := range keys {
			if id := seal.SealedID(string(v)); id != "" {
				return id, nil
			}
		}
	}
	return "", nil
}

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tacitauth/tacit/internal/seal"
	"github.com/tacitauth/tacit/internal/sqlstore"
)

// keyFileName is the default key file's name, beside the SQLite file (or
// in data_dir with PostgreSQL).
const keyFileName = "secret.key"

// mask prints a secret setting: **** when set.
func mask(v string) string {
	if v == "" {
		return ""
	}
	return "****"
}

func setSecretKey(c *Config, v string) error {
	if v != "" {
		if _, err := seal.ParseKey(v); err != nil {
			return err
		}
	}
	c.SecretKey = v
	return nil
}

func setSecretKeyOld(c *Config, v string) error {
	c.SecretKeyOld = nil
	for _, k := range commaList(v) {
		if _, err := seal.ParseKey(k); err != nil {
			return err
		}
		c.SecretKeyOld = append(c.SecretKeyOld, k)
	}
	return nil
}

// keyFile returns the default key file of the database d.
func (c *Config) keyFile() string {
	if c.Database.Engine == engineSQLite {
		return filepath.Join(filepath.Dir(c.Database.Path), keyFileName)
	}
	return filepath.Join(c.DataDir, keyFileName)
}

// keySource names where the current key comes from, for errors.
func (c *Config) keySource() string {
	switch {
	case c.SecretKey != "":
		return c.name("secret_key")
	case c.SecretKeyFile != "":
		return fmt.Sprintf("%s (%s)", c.name("secret_key_file"), c.SecretKeyFile)
	}
	return "key file " + c.keyFile()
}

// sealKeys returns the keys that seal the database's secrets: secret_key,
// or the file secret_key_file names, or else the key file beside the
// database, which is made (0600, a fresh random key) if missing; with
// secret_key_old's keys to open what they sealed.
func (c *Config) sealKeys() (*seal.Keys, error) {
	var current *seal.Key
	var err error
	switch {
	case c.SecretKey != "":
		current, err = seal.ParseKey(c.SecretKey)
	case c.SecretKeyFile != "":
		var text []byte
		if text, err = os.ReadFile(c.SecretKeyFile); err == nil {
			current, err = seal.ParseKey(string(text))
		}
	default:
		current, err = loadKeyFile(c.keyFile())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.keySource(), err)
	}
	keys := seal.NewKeys(current)
	for _, text := range c.SecretKeyOld {
		k, err := seal.ParseKey(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name("secret_key_old"), err)
		}
		keys.Old = append(keys.Old, k)
	}
	return keys, nil
}

// loadKeyFile reads the key file at path, or makes it with a fresh key.
// It is written whole under another name and then linked into place,
// which fails if the file exists: two processes starting at once on a
// new data directory both end up with the one that was linked first.
func loadKeyFile(path string) (*seal.Key, error) {
	text, err := os.ReadFile(path)
	if err == nil {
		return seal.ParseKey(string(text))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	_, fresh := seal.NewRandomKey()
	tmp, err := os.CreateTemp(filepath.Dir(path), keyFileName+".*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600.
	_, err = tmp.WriteString(fresh + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	if text, err = os.ReadFile(path); err != nil {
		return nil, err
	}
	return seal.ParseKey(string(text))
}

// checkKeyFile refuses a database whose secrets are sealed when the key
// would come from the default key file and that file is missing: a new
// key made in its place would open none of them, and what was sealed
// under it afterwards would not open with the lost key once found. (The
// file, and so the key, is not in a backup of the database.)
func checkKeyFile(ctx context.Context, db store, c Config) error {
	if c.SecretKey != "" || c.SecretKeyFile != "" {
		return nil
	}
	file := c.keyFile()
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	id, err := db.SealedUnder(ctx)
	if err != nil {
		return c.Database.redact(err)
	}
	if id == "" {
		return nil
	}
	return fmt.Errorf("key file %s is missing, but the database's secrets are sealed under key %s: "+
		"put back the key file they were sealed with (a backup of the database does not hold it), or set %s or %s to that key; "+
		"a new key would open none of them, so none is made", file, id, c.name("secret_key"), c.name("secret_key_file"))
}

// sealStore seals the database's clear secrets, and those under an old
// key, under the current key, and refuses a database whose secrets are
// sealed under a key it was not given, naming the settings to fix.
func sealStore(ctx context.Context, db store, c Config) (sqlstore.Sealed, error) {
	n, err := db.SealSecrets(ctx)
	if errors.Is(err, seal.ErrUnknownKey) {
		return n, fmt.Errorf("%s: the database's secrets were sealed under another key, which is neither this one nor in %s: "+
			"every instance on one database must have the same key; after a rotation list the former key in %s (%v)",
			c.keySource(), c.name("secret_key_old"), c.name("secret_key_old"), c.Database.redact(err))
	}
	if errors.Is(err, seal.ErrOpen) {
		return n, fmt.Errorf("%s: a sealed secret in the database does not open (changed, or moved to another row): %v",
			c.keySource(), c.Database.redact(err))
	}
	return n, c.Database.redact(err)
}

// copyKeys returns the keys of migrate-data's two sides, from the
// secret_key settings in the environment (TACIT_SECRET_KEY,
// TACIT_SECRET_KEY_FILE, TACIT_SECRET_KEY_OLD, and TACIT_DATA_DIR for a
// PostgreSQL side's key file), as serve would find them for each
// database. The source's are only read: a SQLite source without a key
// file has nothing sealed, and gets no keys. Its key file, when the
// settings name another key, opens too: the common move from SQLite to
// PostgreSQL has a key file on one side and TACIT_SECRET_KEY on the other.
func copyKeys(getenv func(string) string, from, to Database) (src *seal.Keys, dst Config, err error) {
	side := func(d Database) (Config, error) {
		c := Config{Database: d, DataDir: defaults.DataDir, from: map[string]string{}}
		for _, s := range baseSettings {
			switch s.key {
			case "data_dir", "secret_key", "secret_key_file", "secret_key_old":
				if v := getenv(s.env()); v != "" {
					if err := c.apply(s, v, s.env()); err != nil {
						return c, err
					}
				}
			}
		}
		return c, c.finishKeys()
	}
	srcConfig, err := side(from)
	if err != nil {
		return nil, dst, err
	}
	if dst, err = side(to); err != nil {
		return nil, dst, err
	}
	file := srcConfig.keyFile()
	_, statErr := os.Stat(file)
	if srcConfig.SecretKey == "" && srcConfig.SecretKeyFile == "" && errors.Is(statErr, os.ErrNotExist) {
		return nil, dst, nil
	}
	if src, err = srcConfig.sealKeys(); err != nil {
		return nil, dst, fmt.Errorf("--from: %w", err)
	}
	if statErr == nil {
		k, err := loadKeyFile(file)
		if err != nil {
			return nil, dst, fmt.Errorf("--from: key file %s: %w", file, err)
		}
		src.Old = append(src.Old, k)
	}
	return src, dst, nil
}

// checkSourceKeys refuses, before anything is written to the target, a
// source whose secrets are sealed under a key that copyKeys did not find
// (its key file is missing, or the settings name another key): the copy
// would stop at the first sealed value, with the target half filled and
// refused by the next attempt.
func checkSourceKeys(ctx context.Context, src *sqlstore.Snapshot, keys *seal.Keys, from Database, getenv func(string) string) error {
	id, err := src.SealedUnder(ctx)
	if err != nil {
		return fmt.Errorf("--from: %w", from.redact(err))
	}
	if id == "" || (keys != nil && keys.Knows(id)) {
		return nil
	}
	c := Config{Database: from, DataDir: cmp.Or(getenv("TACIT_DATA_DIR"), defaults.DataDir)}
	return fmt.Errorf("--from: the database's secrets are sealed under key %s, which neither its key file %s nor TACIT_SECRET_KEY, TACIT_SECRET_KEY_FILE or TACIT_SECRET_KEY_OLD holds: "+
		"put back the key file they were sealed with, or set TACIT_SECRET_KEY_OLD to that key; nothing was copied", id, c.keyFile())
}

// finishKeys checks the rules between the secret_key settings.
func (c *Config) finishKeys() error {
	if c.SecretKey != "" && c.SecretKeyFile != "" {
		return fmt.Errorf("%s and %s: set one, not both", c.name("secret_key"), c.name("secret_key_file"))
	}
	return nil
}

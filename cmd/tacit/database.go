package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/seal"
	"github.com/tacitauth/tacit/internal/sqlstore"
	"github.com/tacitauth/tacit/postgres"
	"github.com/tacitauth/tacit/sqlite"
)

// The storage engines, as Database.Engine names them.
const (
	engineSQLite   = "sqlite"
	enginePostgres = "postgres"
)

// store is what the commands need of a storage engine: the tacit.Store the
// server runs on, and the schema upkeep that both engines offer.
type store interface {
	tacit.Store
	Migrate(ctx context.Context) error
	MigrationsCurrent(ctx context.Context) (bool, error)
	sqlstore.Admin
	SetKeys(*seal.Keys)
	SealSecrets(ctx context.Context) (sqlstore.Sealed, error)
	SealedUnder(ctx context.Context) (string, error)
}

var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
)

// Database says where tacit keeps its state: the database_url setting, or
// a --from or --to URL of migrate-data.
type Database struct {
	Engine string // engineSQLite or enginePostgres
	// Path is the SQLite file. With database_url empty it is tacit.db in
	// data_dir, filled in once data_dir is known.
	Path string
	// URL is the PostgreSQL connection URL, password and all; print
	// Masked, never URL.
	URL string
	raw string // as given, for printing back
}

// databaseURLExample is how a refused database URL is told what to be.
const databaseURLExample = "sqlite:///path/to/tacit.db, sqlite://relative/path.db or postgres://user:password@host:5432/dbname"

// parseDatabaseURL reads a database URL. "" is SQLite in data_dir. Its
// errors never repeat a value that might hold a password.
func parseDatabaseURL(v string) (Database, error) {
	if v == "" {
		return Database{Engine: engineSQLite}, nil
	}
	scheme, rest, found := strings.Cut(v, "://")
	if !found {
		// A libpq key=value string ("host=… password=…") lands here;
		// it is not echoed, as it may hold a password.
		return Database{}, fmt.Errorf("must be %s (or empty for tacit.db in data_dir), got a value without a scheme", databaseURLExample)
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		return parseSQLiteURL(v, rest)
	case "postgres", "postgresql":
		// pgx knows the scheme in lower case only.
		return parsePostgresURL(strings.ToLower(scheme) + "://" + rest)
	}
	if strings.ContainsAny(scheme, "@:/ =") {
		scheme = "?" // not a scheme: part of something else, maybe a password
	}
	return Database{}, fmt.Errorf("must be %s (or empty for tacit.db in data_dir), got scheme %q", databaseURLExample, scheme)
}

// parseSQLiteURL reads sqlite://PATH, where PATH is absolute
// (sqlite:///var/lib/tacit.db) or relative to the working directory
// (sqlite://data/tacit.db). PATH is percent-decoded, so any character can
// be written; a query is refused rather than ignored, since the SQLite
// engine takes no options.
func parseSQLiteURL(v, rest string) (Database, error) {
	if strings.ContainsAny(rest, "?#") {
		return Database{}, fmt.Errorf("a sqlite:// URL is a file path and takes no query or fragment (write %%3F for a '?' in the path), got %q", v)
	}
	path, err := url.PathUnescape(rest)
	if err != nil || path == "" {
		return Database{}, fmt.Errorf("must be sqlite:///absolute/path.db or sqlite://relative/path.db, got %q", v)
	}
	return Database{Engine: engineSQLite, Path: path, raw: v}, nil
}

// parsePostgresURL checks the shape of a postgres:// URL; package postgres
// (through pgx) parses the rest when it connects.
func parsePostgresURL(v string) (Database, error) {
	u, err := url.Parse(v)
	if err != nil {
		// url's error quotes the URL, password included.
		return Database{}, errors.New("cannot parse the postgres:// URL (percent-encode special characters such as @ : / in the user name and password)")
	}
	if u.Fragment != "" {
		return Database{}, fmt.Errorf("must be a URL such as postgres://user:password@host:5432/dbname, got %q", maskDatabaseURL(v))
	}
	return Database{Engine: enginePostgres, URL: v, raw: v}, nil
}

// Masked is the database URL as given, with any password replaced by
// ****; "" when none was given.
func (d Database) Masked() string {
	if d.Engine == enginePostgres {
		return maskDatabaseURL(d.raw)
	}
	return d.raw
}

// Display names the database in messages: the SQLite file, or the masked
// PostgreSQL URL.
func (d Database) Display() string {
	if d.Engine == enginePostgres {
		return d.Masked()
	}
	return d.Path
}

// Label names the database in the server's start-up line: the engine and
// where it is, with no user name or password.
func (d Database) Label() string {
	if d.Engine != enginePostgres {
		return "sqlite " + d.Path
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		return "postgres"
	}
	host := u.Host
	if host == "" {
		host = "(default host)"
	}
	return "postgres " + host + u.Path
}

// passwordKeys are the query parameters of a PostgreSQL URL that hold a
// secret: the login password and the client key's passphrase.
var passwordKeys = []string{"password", "sslpassword"}

// maskDatabaseURL returns a PostgreSQL URL with the password in its user
// part and in its query replaced by ****. The query is edited as text, not
// re-encoded, so the rest prints as given.
func maskDatabaseURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return "****" // cannot tell where the password is
	}
	m := *u
	var parts []string
	for part := range strings.SplitSeq(u.RawQuery, "&") {
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); err == nil && isPasswordKey(k) {
			part = key + "=****"
		}
		parts = append(parts, part)
	}
	m.RawQuery = strings.Join(parts, "&")
	return maskPassword(&m)
}

func isPasswordKey(k string) bool {
	for _, p := range passwordKeys {
		if strings.EqualFold(k, p) {
			return true
		}
	}
	return false
}

// secrets returns the passwords a PostgreSQL URL holds, as written and
// decoded.
func (d Database) secrets() []string {
	u, err := url.Parse(d.URL)
	if d.Engine != enginePostgres || err != nil {
		return nil
	}
	var out []string
	if pw, ok := u.User.Password(); ok && pw != "" {
		out = append(out, pw)
	}
	q := u.Query()
	for k, vs := range q {
		if isPasswordKey(k) {
			for _, v := range vs {
				if v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// redact returns err with the URL and its passwords masked wherever a
// library quoted them. Package postgres already words its errors without
// the URL; this is the guard for an error path it did not foresee. Only
// the forms in which a password is written (the URL, user:pw@ and
// password=pw) are replaced, so that a password that is also an ordinary
// word ("postgres") does not garble the message.
func (d Database) redact(err error) error {
	if err == nil || d.Engine != enginePostgres {
		return err
	}
	msg := err.Error()
	pairs := []string{d.URL, d.Masked()}
	for _, pw := range d.secrets() {
		for _, form := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw), url.UserPassword("", pw).String()[1:]} {
			pairs = append(pairs, ":"+form+"@", ":****@", "password="+form, "password=****", "password='"+form+"'", "password=****")
		}
	}
	redacted := strings.NewReplacer(pairs...).Replace(msg)
	if redacted == msg {
		return err
	}
	return redactedError{msg: redacted, err: err}
}

// redactedError is an error whose message had secrets masked; errors.Is
// and errors.As still see the original.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// openStore opens the database the configuration names. A SQLite file's
// directory is created if needed, private to the server's user (0700): it
// holds password hashes and, in the dev mailbox, live sign-up links.
//
// The store seals the secrets it writes under the configured key (see
// sealKeys), made on first use beside a SQLite file; the serve and
// migrate commands also seal those written clear before (sealStore).
func openStore(ctx context.Context, c Config) (store, error) {
	db, err := openDatabase(ctx, c.Database, c.databaseSetting())
	if err != nil {
		return nil, err
	}
	// After opening: a database that cannot be reached leaves no new
	// key file behind, nor one whose secrets a lost key file sealed.
	if err := checkKeyFile(ctx, db, c); err != nil {
		db.Close()
		return nil, err
	}
	keys, err := c.sealKeys()
	if err != nil {
		db.Close()
		return nil, err
	}
	db.SetKeys(keys)
	return db, nil
}

// lockStore locks the configured database for the command cmd (see
// lockDatabase).
func lockStore(c Config, cmd string) (*dbLock, error) {
	return lockDatabase(c.Database, c.databaseSetting(), cmd)
}

// databaseSetting names the setting that chose the database, as the user
// gave it: database_url, or data_dir when that is empty.
func (c *Config) databaseSetting() string {
	if c.Database.raw == "" {
		return c.name("data_dir")
	}
	return c.name("database_url")
}

// openDatabase opens d; setting names where d came from, for errors.
func openDatabase(ctx context.Context, d Database, setting string) (store, error) {
	if d.Engine == enginePostgres {
		db, err := postgres.Open(ctx, d.URL)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setting, d.redact(err))
		}
		return db, nil
	}
	if err := os.MkdirAll(filepath.Dir(d.Path), 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	db, err := sqlite.Open(ctx, d.Path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	return db, nil
}

// migrateStore brings db's schema up to date and says what it did.
func migrateStore(ctx context.Context, db store, d Database, stdout io.Writer) error {
	current, err := db.MigrationsCurrent(ctx)
	if err != nil {
		return d.redact(err)
	}
	if current {
		if _, err = fmt.Fprintf(stdout, "database %s is current\n", d.Display()); err != nil {
			return err
		}
		return reportAddresses(ctx, db, d, stdout)
	}
	if err := db.Migrate(ctx); err != nil {
		return d.redact(err)
	}
	if _, err = fmt.Fprintf(stdout, "database %s migrated\n", d.Display()); err != nil {
		return err
	}
	return reportAddresses(ctx, db, d, stdout)
}

// closeStore closes db, keeping the first error: for deferred calls.
func closeStore(db store, err *error) {
	if cerr := db.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("close database: %w", cerr)
	}
}

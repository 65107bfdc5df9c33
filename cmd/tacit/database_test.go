package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/internal/testenv"
)

// TestParseDatabaseURL checks every form database_url takes, and how each
// prints back, names itself in messages and in the start-up line.
func TestParseDatabaseURL(t *testing.T) {
	tests := []struct {
		in                     string
		engine, path, pgURL    string
		masked, display, label string
	}{
		{in: "", engine: engineSQLite},
		{in: "sqlite:///var/lib/tacit/tacit.db", engine: engineSQLite, path: "/var/lib/tacit/tacit.db",
			masked: "sqlite:///var/lib/tacit/tacit.db", display: "/var/lib/tacit/tacit.db", label: "sqlite /var/lib/tacit/tacit.db"},
		{in: "sqlite://relative/path.db", engine: engineSQLite, path: "relative/path.db",
			masked: "sqlite://relative/path.db", display: "relative/path.db", label: "sqlite relative/path.db"},
		{in: "SQLite://a%20b.db", engine: engineSQLite, path: "a b.db",
			masked: "SQLite://a%20b.db", display: "a b.db", label: "sqlite a b.db"},
		{in: "postgres://tacit:hunter2@db.example.com:5432/auth?sslmode=require",
			engine: enginePostgres, pgURL: "postgres://tacit:hunter2@db.example.com:5432/auth?sslmode=require",
			masked:  "postgres://tacit:****@db.example.com:5432/auth?sslmode=require",
			display: "postgres://tacit:****@db.example.com:5432/auth?sslmode=require",
			label:   "postgres db.example.com:5432/auth"},
		{in: "postgresql://u:p%40ss@10.0.0.1/tacit?password=x&search_path=auth&sslpassword=y",
			engine: enginePostgres, pgURL: "postgresql://u:p%40ss@10.0.0.1/tacit?password=x&search_path=auth&sslpassword=y",
			masked:  "postgresql://u:****@10.0.0.1/tacit?password=****&search_path=auth&sslpassword=****",
			display: "postgresql://u:****@10.0.0.1/tacit?password=****&search_path=auth&sslpassword=****",
			label:   "postgres 10.0.0.1/tacit"},
		// pgx knows the scheme in lower case only.
		{in: "POSTGRES://db/tacit", engine: enginePostgres, pgURL: "postgres://db/tacit",
			masked: "postgres://db/tacit", display: "postgres://db/tacit", label: "postgres db/tacit"},
		{in: "postgres:///tacit?host=/run/postgresql", engine: enginePostgres, pgURL: "postgres:///tacit?host=/run/postgresql",
			masked: "postgres:///tacit?host=/run/postgresql", display: "postgres:///tacit?host=/run/postgresql",
			label: "postgres (default host)/tacit"},
	}
	for _, tt := range tests {
		d, err := parseDatabaseURL(tt.in)
		if err != nil {
			t.Errorf("parseDatabaseURL(%q): %v", tt.in, err)
			continue
		}
		got := []string{d.Engine, d.Path, d.URL, d.Masked()}
		want := []string{tt.engine, tt.path, tt.pgURL, tt.masked}
		if tt.in != "" {
			got = append(got, d.Display(), d.Label())
			want = append(want, tt.display, tt.label)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("parseDatabaseURL(%q):\n got %q\nwant %q", tt.in, got, want)
		}
	}
}

// TestDatabaseURLErrors checks that a refused database_url is named, said
// what to be, and never echoed with its password.
func TestDatabaseURLErrors(t *testing.T) {
	const kinds = "must be sqlite:///path/to/tacit.db, sqlite://relative/path.db or postgres://user:password@host:5432/dbname (or empty for tacit.db in data_dir)"
	tests := []struct{ in, want string }{
		{"mysql://root:hunter2@db/tacit", `TACIT_DATABASE_URL: ` + kinds + `, got scheme "mysql"`},
		{"host=db password=hunter2", `TACIT_DATABASE_URL: ` + kinds + `, got a value without a scheme`},
		{"user:hunter2@db://x", `TACIT_DATABASE_URL: ` + kinds + `, got scheme "?"`},
		{"/var/lib/tacit.db", `TACIT_DATABASE_URL: ` + kinds + `, got a value without a scheme`},
		{"sqlite://", `TACIT_DATABASE_URL: must be sqlite:///absolute/path.db or sqlite://relative/path.db, got "sqlite://"`},
		{"sqlite://bad%zz.db", `TACIT_DATABASE_URL: must be sqlite:///absolute/path.db or sqlite://relative/path.db, got "sqlite://bad%zz.db"`},
		{"sqlite:///tacit.db?_pragma=x", `TACIT_DATABASE_URL: a sqlite:// URL is a file path and takes no query or fragment (write %3F for a '?' in the path), got "sqlite:///tacit.db?_pragma=x"`},
		{"postgres://u:hunter2@db/tacit#frag", `TACIT_DATABASE_URL: must be a URL such as postgres://user:password@host:5432/dbname, got "postgres://u:****@db/tacit#frag"`},
		{"postgres://u:hunter2@db:port/tacit", `TACIT_DATABASE_URL: cannot parse the postgres:// URL (percent-encode special characters such as @ : / in the user name and password)`},
	}
	for _, tt := range tests {
		_, err := Load("config", nil, env("TACIT_DATABASE_URL", tt.in))
		if err == nil || err.Error() != tt.want {
			t.Errorf("database_url %q: error\n got %v\nwant %s", tt.in, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("database_url %q: error shows the password: %v", tt.in, err)
		}
	}
}

// TestConfigDatabase checks which database the configuration picks: the
// data directory's file by default, else the URL's.
func TestConfigDatabase(t *testing.T) {
	c, err := Load("config", []string{"--data-dir", "/srv/tacit"}, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.Engine != engineSQLite || c.DBPath() != "/srv/tacit/tacit.db" || c.Database.Masked() != "" {
		t.Errorf("default: engine %q, path %q, printed %q", c.Database.Engine, c.DBPath(), c.Database.Masked())
	}
	c, err = Load("config", []string{"--data-dir", "/srv/tacit", "--database-url", "sqlite:///other/x.db"}, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.DBPath() != "/other/x.db" {
		t.Errorf("sqlite URL: path %q, want /other/x.db", c.DBPath())
	}
	c, err = Load("config", nil, env("TACIT_DATABASE_URL", "postgres://db/tacit"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.Engine != enginePostgres || c.DBPath() != "" {
		t.Errorf("postgres URL: engine %q, path %q", c.Database.Engine, c.DBPath())
	}
}

// TestRedact checks the guard against libraries that quote the URL or
// its password in an error, and that it leaves ordinary words alone.
func TestRedact(t *testing.T) {
	d, err := parseDatabaseURL("postgres://postgres:postgres@db/tacit?sslpassword=k%26y")
	if err != nil {
		t.Fatal(err)
	}
	base := errors.New("boom")
	for _, tt := range []struct{ in, want string }{
		{"open postgres: cannot reach database \"tacit\" as \"postgres\"", "open postgres: cannot reach database \"tacit\" as \"postgres\""},
		{"cannot parse `postgres://postgres:postgres@db/tacit?sslpassword=k%26y`", "cannot parse `postgres://postgres:****@db/tacit?sslpassword=****`"},
		{"dial postgres:postgres@db", "dial postgres:****@db"},
		{"bad: password=postgres sslpassword=k&y", "bad: password=**** sslpassword=****"},
		{"bad: sslpassword='k&y'", "bad: sslpassword=****"},
	} {
		got := d.redact(errors.Join(errors.New(tt.in), base))
		if first, _, _ := strings.Cut(got.Error(), "\n"); first != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, first, tt.want)
		}
		if !errors.Is(got, base) {
			t.Errorf("redact(%q) lost the wrapped error", tt.in)
		}
	}
	if d.redact(nil) != nil {
		t.Error("redact(nil) is not nil")
	}
}

// TestPostgresErrorMasked opens a PostgreSQL URL nobody answers at and
// checks that the error names the setting and not the password.
func TestPostgresErrorMasked(t *testing.T) {
	ln := freeAddr(t) // a loopback port nobody listens on
	dbURL := "postgres://tacit:hunter2@" + ln + "/tacit?connect_timeout=5&password=hunter3"
	source := sqliteURL(t)
	openTestStore(t, source)
	for _, args := range [][]string{
		{"migrate", "--database-url", dbURL},
		{"seed", "--accounts", "1", "--database-url", dbURL},
		{"migrate-data", "--from", source, "--to", dbURL},
		{"migrate-data", "--from", dbURL, "--to", "sqlite://" + filepath.Join(t.TempDir(), "t.db")},
	} {
		err := run(context.Background(), args, env(), io.Discard, io.Discard)
		if err == nil {
			t.Errorf("%s: succeeded against a closed port", args)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "hunter") {
			t.Errorf("%s: error shows a password: %s", args, msg)
		}
		if !strings.HasPrefix(msg, "--database-url: open postgres") && !strings.HasPrefix(msg, "--to: open postgres") &&
			!strings.HasPrefix(msg, "--from: open") {
			t.Errorf("%s: error does not name the setting: %s", args, msg)
		}
	}
}

// sqliteURL returns a sqlite:// URL of a file in a fresh directory.
func sqliteURL(t *testing.T) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "tacit.db")
}

// postgresURL returns the URL of a fresh schema on the test server named
// by TACIT_TEST_POSTGRES, dropped when the test ends, or skips the test.
func postgresURL(t *testing.T) string {
	t.Helper()
	dbURL, _ := testenv.PostgresSchema(t)
	return dbURL
}

// execSQL runs statements on the database a URL names, outside tacit:
// to set up what no command makes.
func execSQL(t *testing.T, dbURL string, stmts ...string) {
	t.Helper()
	d, err := parseDatabaseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if d.Engine == enginePostgres {
		testenv.PostgresExec(t, d.URL, stmts...)
		return
	}
	db, err := sql.Open("sqlite", d.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// openTestStore opens and migrates the database at dbURL, closed when
// the test ends.
func openTestStore(t *testing.T, dbURL string) store {
	t.Helper()
	d, err := parseDatabaseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDatabase(context.Background(), d, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

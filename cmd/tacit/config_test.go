package main

import (
	"errors"
	"flag"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// env returns a getenv over a fixed set of variables.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// writeFile writes a file in a fresh temporary directory and returns its
// path.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load("config", nil, env())
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr, "127.0.0.1:4455"},
		{"DataDir", c.DataDir, "./tacit-data"},
		{"DBPath", c.DBPath(), filepath.Join("tacit-data", "tacit.db")},
		{"BaseURL", c.BaseURL.String(), "http://127.0.0.1:4455"},
		{"Product", c.Product, "tacit"},
		{"RegistrationMode", c.RegistrationMode, flow.EmailFirst},
		{"Mail", c.Mail, MailDev},
		{"SMTPURL", c.SMTPURL == nil, true},
		{"MailFrom", c.MailFrom, "tacit <no-reply@127.0.0.1>"},
		{"HashMemoryKiB", c.HashMemoryKiB, uint32(19456)},
		{"HashTime", c.HashTime, uint32(2)},
		{"Threads", c.HashParams().Threads, uint8(1)},
		{"Envelope", c.Envelope, AutoEnvelope},
		{"PasswordMin", c.PasswordMin, 8},
		{"PasswordMax", c.PasswordMax, 256},
		{"PasswordRequire", len(c.PasswordRequire), 0},
		{"PasswordBlocklist", c.PasswordBlocklist, ""},
		{"SessionIdle", c.SessionIdle, 24 * time.Hour},
		{"SessionLifetime", c.SessionLifetime, 168 * time.Hour},
		{"SignupTTL", c.SignupTTL, 24 * time.Hour},
		{"ResetTTL", c.ResetTTL, 30 * time.Minute},
		{"EmailChangeTTL", c.EmailChangeTTL, 24 * time.Hour},
		{"NotifyUnknown", c.NotifyUnknown, false},
		{"Limits", c.Limits, flow.DefaultLimits()},
		{"LimitsOff", len(c.LimitsOff()), 0},
		{"ThrottleMaxKeys", c.ThrottleMaxKeys, 1000000},
		{"TrustedProxies", len(c.TrustedProxies), 0},
		{"CookieSecure", c.CookieSecure, "auto"},
		{"SecureCookies", c.SecureCookies(), false},
		{"LogLevel", c.LogLevel, slog.LevelInfo},
		{"LogFormat", c.LogFormat, "text"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

// TestLoadPrecedence sets some values at every layer and checks that
// flags beat the environment, which beats the file, which beats defaults.
func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, "tacit.yaml", `
addr: 127.0.0.1:1001
data_dir: /from/file
product: FromFile
hash_time: 3
password_require: [upper, digit]
`)
	getenv := env(
		"TACIT_CONFIG", file,
		"TACIT_DATA_DIR", "/from/env",
		"TACIT_PRODUCT", "FromEnv",
		"TACIT_BASE_URL", "https://env.example.com/auth",
		"TACIT_PASSWORD_MIN", "12",
	)
	args := []string{"--data-dir", "/from/flag", "--base-url=https://flag.example.com/"}
	c, err := Load("config", args, getenv)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr (file)", c.Addr, "127.0.0.1:1001"},
		{"DataDir (flag)", c.DataDir, "/from/flag"},
		{"Product (env)", c.Product, "FromEnv"},
		{"BaseURL (flag)", c.BaseURL.String(), "https://flag.example.com/"},
		{"HashTime (file)", c.HashTime, uint32(3)},
		{"PasswordMin (env)", c.PasswordMin, 12},
		{"PasswordMax (default)", c.PasswordMax, 256},
		{"PasswordRequire (file)", getPasswordRequire(&c), "upper,digit"},
		{"MailFrom (derived)", c.MailFrom, "FromEnv <no-reply@flag.example.com>"},
		{"SecureCookies (auto, https)", c.SecureCookies(), true},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

// TestLoadConfigFlagBeatsEnv checks that --config replaces TACIT_CONFIG
// rather than adding to it.
func TestLoadConfigFlagBeatsEnv(t *testing.T) {
	envFile := writeFile(t, "env.yaml", "product: EnvFile\nhash_time: 5\n")
	flagFile := writeFile(t, "flag.yaml", "product: FlagFile\n")
	c, err := Load("config", []string{"--config", flagFile}, env("TACIT_CONFIG", envFile))
	if err != nil {
		t.Fatal(err)
	}
	if c.Product != "FlagFile" || c.HashTime != 2 {
		t.Errorf("Product, HashTime = %q, %d; want FlagFile, 2", c.Product, c.HashTime)
	}
}

// TestLoadErrors checks that every refused value is reported on one line
// that names the setting the way the user gave it.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		file string // written to a temporary file named c.yaml when set
		want string // the error; "FILE" stands for the file's path
	}{
		{name: "addr", env: []string{"TACIT_ADDR", "nope"},
			want: `TACIT_ADDR: must be host:port, got "nope"`},
		{name: "addr port", env: []string{"TACIT_ADDR", "127.0.0.1:http"},
			want: `TACIT_ADDR: must be host:port with a port number, got "127.0.0.1:http"`},
		{name: "addr flag", args: []string{"--addr", "1.2.3.4"},
			want: `--addr: must be host:port, got "1.2.3.4"`},
		{name: "data dir flag", args: []string{"--data-dir="},
			want: `--data-dir: must not be empty`},
		{name: "base url relative", env: []string{"TACIT_BASE_URL", "/auth"},
			want: `TACIT_BASE_URL: must be an absolute http:// or https:// URL, got "/auth"`},
		{name: "base url scheme", args: []string{"--base-url", "ftp://example.com"},
			want: `--base-url: must be an absolute http:// or https:// URL, got "ftp://example.com"`},
		{name: "base url query", env: []string{"TACIT_BASE_URL", "https://example.com/?a=b"},
			want: `TACIT_BASE_URL: must not have a query or fragment, got "https://example.com/?a=b"`},
		{name: "base url fragment", env: []string{"TACIT_BASE_URL", "https://example.com/#x"},
			want: `TACIT_BASE_URL: must not have a query or fragment, got "https://example.com/#x"`},
		{name: "base url user", env: []string{"TACIT_BASE_URL", "https://u@example.com/"},
			want: `TACIT_BASE_URL: must not hold a user name or password, got "https://u@example.com/"`},
		{name: "base url needed", env: []string{"TACIT_ADDR", "0.0.0.0:4455"},
			want: `TACIT_BASE_URL: required when TACIT_ADDR ("0.0.0.0:4455") is not a loopback address`},
		{name: "plain http off loopback", env: []string{"TACIT_BASE_URL", "http://auth.example.com"},
			want: `TACIT_BASE_URL: must be https when its host is not a loopback address (plain HTTP cookies are for local development only), got "http://auth.example.com"`},
		{name: "insecure cookies off loopback",
			env:  []string{"TACIT_BASE_URL", "https://auth.example.com", "TACIT_COOKIE_SECURE", "false"},
			want: `TACIT_COOKIE_SECURE: false is for local development only, but the base URL host "auth.example.com" is not a loopback address`},
		{name: "cookie secure value", env: []string{"TACIT_COOKIE_SECURE", "yes"},
			want: `TACIT_COOKIE_SECURE: must be auto, true or false, got "yes"`},
		{name: "product control", env: []string{"TACIT_PRODUCT", "a\r\nBcc: x@example.com"},
			want: `TACIT_PRODUCT: must not contain control characters, got "a\r\nBcc: x@example.com"`},
		{name: "mode", env: []string{"TACIT_REGISTRATION_MODE", "open"},
			want: `TACIT_REGISTRATION_MODE: must be email_first or full_form, got "open"`},
		{name: "mail", env: []string{"TACIT_MAIL", "sendmail"},
			want: `TACIT_MAIL: must be dev or smtp, got "sendmail"`},
		{name: "smtp url required", env: []string{"TACIT_MAIL", "smtp"},
			want: `TACIT_SMTP_URL: required when TACIT_MAIL is smtp`},
		{name: "mail from", env: []string{"TACIT_MAIL_FROM", "not an address"},
			want: `TACIT_MAIL_FROM: must be a mail address such as "Example <no-reply@example.com>", got "not an address"`},
		{name: "mail from derived for smtp",
			env: []string{"TACIT_MAIL", "smtp", "TACIT_SMTP_URL", "smtp://mail.example.com",
				"TACIT_BASE_URL", "http://[::1]:4455"},
			want: `TACIT_MAIL_FROM: must be a mail address such as "Example <no-reply@example.com>", got "tacit <no-reply@::1>"`},
		{name: "hash time", env: []string{"TACIT_HASH_TIME", "abc"},
			want: `TACIT_HASH_TIME: must be a whole number ≥ 1, got "abc"`},
		{name: "hash time zero", env: []string{"TACIT_HASH_TIME", "0"},
			want: `TACIT_HASH_TIME: must be a whole number ≥ 1, got "0"`},
		{name: "hash memory", env: []string{"TACIT_HASH_MEMORY_KIB", "7"},
			want: `TACIT_HASH_MEMORY_KIB: must be a whole number from 8 to 4194304, got "7"`},
		{name: "envelope", env: []string{"TACIT_ENVELOPE", "-1s"},
			want: `TACIT_ENVELOPE: must be auto or a duration such as 250ms (0s turns it off), got "-1s"`},
		{name: "password min", env: []string{"TACIT_PASSWORD_MIN", "0"},
			want: `TACIT_PASSWORD_MIN: must be a whole number from 1 to 4096, got "0"`},
		{name: "password max", env: []string{"TACIT_PASSWORD_MAX", "5000"},
			want: `TACIT_PASSWORD_MAX: must be a whole number from 1 to 4096, got "5000"`},
		{name: "password min above max", env: []string{"TACIT_PASSWORD_MIN", "300"},
			want: `TACIT_PASSWORD_MIN: must not exceed TACIT_PASSWORD_MAX (256), got 300`},
		{name: "password require", env: []string{"TACIT_PASSWORD_REQUIRE", "lower,emoji"},
			want: `TACIT_PASSWORD_REQUIRE: must be a comma-separated list of lower, upper, digit, symbol; got "lower,emoji"`},
		{name: "session idle", env: []string{"TACIT_SESSION_IDLE", "0s"},
			want: `TACIT_SESSION_IDLE: must be a positive duration such as 24h or 30m, got "0s"`},
		{name: "session lifetime", env: []string{"TACIT_SESSION_LIFETIME", "7d"},
			want: `TACIT_SESSION_LIFETIME: must be a positive duration such as 24h or 30m, got "7d"`},
		{name: "signup ttl", env: []string{"TACIT_SIGNUP_TTL", "-1h"},
			want: `TACIT_SIGNUP_TTL: must be a positive duration such as 24h or 30m, got "-1h"`},
		{name: "reset ttl", env: []string{"TACIT_RESET_TTL", "0"},
			want: `TACIT_RESET_TTL: must be a positive duration such as 24h or 30m, got "0"`},
		{name: "email change ttl", env: []string{"TACIT_EMAIL_CHANGE_TTL", "1 day"},
			want: `TACIT_EMAIL_CHANGE_TTL: must be a positive duration such as 24h or 30m, got "1 day"`},
		{name: "notify unknown", env: []string{"TACIT_NOTIFY_UNKNOWN", "yes"},
			want: `TACIT_NOTIFY_UNKNOWN: must be true or false, got "yes"`},
		{name: "limit field", env: []string{"TACIT_LIMIT_LOGIN", "fre=5"},
			want: `TACIT_LIMIT_LOGIN: unknown field "fre" (want free, delay, max_delay, lock, lock_for, window)`},
		{name: "limit value", env: []string{"TACIT_LIMIT_MAIL", "free=-1"},
			want: `TACIT_LIMIT_MAIL: free: bad value "-1"`},
		{name: "limit duration", env: []string{"TACIT_LIMIT_RESET_SUBMIT_IP", "delay=soon"},
			want: `TACIT_LIMIT_RESET_SUBMIT_IP: delay: bad value "soon"`},
		{name: "limit not key=value", env: []string{"TACIT_LIMIT_SIGNUP", "free 5"},
			want: `TACIT_LIMIT_SIGNUP: want key=value, got "free"`},
		{name: "limit lock below free", env: []string{"TACIT_LIMIT_LOGIN_IP", "free=10 lock=5"},
			want: `TACIT_LIMIT_LOGIN_IP: lock must not be below free`},
		{name: "limit file", file: "limit_requests_ip: free=3 window=0s\n",
			want: `FILE:1: limit_requests_ip: window must be positive`},
		{name: "throttle max keys", env: []string{"TACIT_THROTTLE_MAX_KEYS", "0"},
			want: `TACIT_THROTTLE_MAX_KEYS: must be a whole number ≥ 1, got "0"`},
		{name: "trusted proxy", env: []string{"TACIT_TRUSTED_PROXIES", "10.0.0.1, proxy.example.com"},
			want: `TACIT_TRUSTED_PROXIES: must be a comma list of IP addresses or CIDR prefixes such as 10.0.0.0/8, got "proxy.example.com"`},
		{name: "trusted proxy prefix", env: []string{"TACIT_TRUSTED_PROXIES", "10.0.0.0/33"},
			want: `TACIT_TRUSTED_PROXIES: must be a comma list of IP addresses or CIDR prefixes such as 10.0.0.0/8, got "10.0.0.0/33"`},
		{name: "trusted proxy zone", env: []string{"TACIT_TRUSTED_PROXIES", "fe80::1%eth0"},
			want: `TACIT_TRUSTED_PROXIES: must be a comma list of IP addresses or CIDR prefixes such as 10.0.0.0/8, got "fe80::1%eth0"`},
		{name: "trusted proxy host bits", file: "trusted_proxies: [10.0.0.5/8]\n",
			want: `FILE:1: trusted_proxies: "10.0.0.5/8" has bits set past the prefix length; write 10.0.0.0/8 for the network or 10.0.0.5 for the one host`},
		{name: "log level", env: []string{"TACIT_LOG_LEVEL", "loud"},
			want: `TACIT_LOG_LEVEL: must be debug, info, warn or error, got "loud"`},
		{name: "log format", env: []string{"TACIT_LOG_FORMAT", "xml"},
			want: `TACIT_LOG_FORMAT: must be text or json, got "xml"`},
		{name: "missing file", env: []string{"TACIT_CONFIG", "/nonexistent/tacit.yaml"},
			want: `TACIT_CONFIG: open /nonexistent/tacit.yaml: no such file or directory`},
		{name: "missing file flag", args: []string{"--config", "/nonexistent/tacit.yaml"},
			want: `--config: open /nonexistent/tacit.yaml: no such file or directory`},
		{name: "file unknown key", file: "product: x\nhash_tme: 3\n",
			want: `FILE:2: unknown key "hash_tme"`},
		{name: "file bad value", file: "\nhash_time: abc\n",
			want: `FILE:2: hash_time: must be a whole number ≥ 1, got "abc"`},
		{name: "file twice", file: "product: a\nproduct: b\n",
			want: `FILE:2: product: given twice`},
		{name: "file not a mapping", file: "- a\n- b\n",
			want: `FILE:1: must be a mapping of setting: value`},
		{name: "file nested", file: "product:\n  name: x\n",
			want: `FILE:1: product: must be a value or a list of values`},
		{name: "file syntax", file: "product: [\n",
			want: `FILE: yaml: line 1: did not find expected node content`},
		{name: "file min above max", file: "password_max: 10\n", env: []string{"TACIT_PASSWORD_MIN", "11"},
			want: `TACIT_PASSWORD_MIN: must not exceed FILE:1: password_max (10), got 11`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := env(tt.env...)
			want := tt.want
			if tt.file != "" {
				path := writeFile(t, "c.yaml", tt.file)
				getenv = env(append(tt.env, "TACIT_CONFIG", path)...)
				want = strings.ReplaceAll(want, "FILE", path)
			}
			_, err := Load("config", tt.args, getenv)
			if err == nil {
				t.Fatalf("Load succeeded, want error %q", want)
			}
			if err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
		})
	}
}

// TestLoadSMTPURLError checks that a refused SMTP URL is named and that
// the message (worded by package mail) does not repeat the password.
func TestLoadSMTPURLError(t *testing.T) {
	_, err := Load("config", nil, env("TACIT_SMTP_URL", "http://user:hunter2@mail.example.com"))
	if err == nil {
		t.Fatal("Load accepted an http:// SMTP URL")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "TACIT_SMTP_URL: ") || !strings.Contains(msg, "scheme") || strings.Contains(msg, "hunter2") {
		t.Errorf("error %q: want it to start TACIT_SMTP_URL:, speak of the scheme and hide the password", msg)
	}
}

func TestLoadUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"extra"}, {"--addr"}} {
		_, err := Load("serve", args, env())
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("Load(%q) = %v, want a usage error", args, err)
		}
	}
	if _, err := Load("serve", []string{"-h"}, env()); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Load(-h) = %v, want flag.ErrHelp", err)
	}
}

func TestSMTPPasswordMasked(t *testing.T) {
	c, err := Load("config", nil, env(
		"TACIT_MAIL", "smtp",
		"TACIT_SMTP_URL", "smtp://mailer:s3cr%40t@mail.example.com:587?starttls=required",
		"TACIT_BASE_URL", "https://auth.example.com",
	))
	if err != nil {
		t.Fatal(err)
	}
	text, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(text), "s3cr") {
		t.Errorf("YAML holds the SMTP password:\n%s", text)
	}
	const want = "smtp_url: smtp://mailer:****@mail.example.com:587?starttls=required\n"
	if !strings.Contains(string(text), want) {
		t.Errorf("YAML lacks %q:\n%s", want, text)
	}
	if p, _ := c.SMTPURL.User.Password(); p != "s3cr@t" {
		t.Errorf("SMTP password in force = %q, want s3cr@t", p)
	}
	if got := maskPassword(mustParseURL(t, "smtp://mail.example.com")); got != "smtp://mail.example.com" {
		t.Errorf("mask without password = %q", got)
	}
}

// TestYAMLRoundTrip prints a configuration with every setting away from
// its default, loads the printout as a file and checks that nothing
// changed.
func TestYAMLRoundTrip(t *testing.T) {
	blocklist := writeFile(t, "block.txt", "correcthorse\n")
	getenv := env(
		"TACIT_ADDR", "127.0.0.1:9000",
		"TACIT_DATA_DIR", "/var/lib/tacit",
		"TACIT_DATABASE_URL", "postgres://tacit@db.example.com:5432/tacit?sslmode=verify-full",
		"TACIT_BASE_URL", "https://auth.example.com/tacit",
		"TACIT_PRODUCT", "Acme: \"Login\"",
		"TACIT_REGISTRATION_MODE", "full_form",
		"TACIT_MAIL", "smtp",
		"TACIT_SMTP_URL", "smtps://mail.example.com:465",
		"TACIT_MAIL_FROM", "Acme <auth@example.com>",
		"TACIT_HASH_MEMORY_KIB", "65536",
		"TACIT_HASH_TIME", "3",
		"TACIT_ENVELOPE", "1m30.5s",
		"TACIT_PASSWORD_MIN", "10",
		"TACIT_PASSWORD_MAX", "64",
		"TACIT_PASSWORD_REQUIRE", "digit, symbol",
		"TACIT_PASSWORD_BLOCKLIST", blocklist,
		"TACIT_SESSION_IDLE", "90m",
		"TACIT_SESSION_LIFETIME", "720h",
		"TACIT_SIGNUP_TTL", "1h0m1s",
		"TACIT_RESET_TTL", "15m",
		"TACIT_EMAIL_CHANGE_TTL", "2h",
		"TACIT_NOTIFY_UNKNOWN", "true",
		"TACIT_LIMIT_LOGIN", "free=4 delay=2s max_delay=2m lock=8 lock_for=30m window=2h",
		"TACIT_LIMIT_LOGIN_IP", "off",
		"TACIT_LIMIT_SIGNUP", "free=2",
		"TACIT_LIMIT_RESEND", "window=90m",
		"TACIT_LIMIT_RESET", "lock=0",
		"TACIT_LIMIT_RESET_SUBMIT_IP", "delay=500ms",
		"TACIT_LIMIT_REQUESTS_IP", "max_delay=0s",
		"TACIT_LIMIT_MAIL", "free=20 window=24h",
		"TACIT_THROTTLE_MAX_KEYS", "5000",
		"TACIT_REQUEST_TIMEOUT", "45s",
		"TACIT_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7,2001:db8::/32",
		"TACIT_COOKIE_SECURE", "true",
		"TACIT_LOG_LEVEL", "debug",
		"TACIT_LOG_FORMAT", "json",
	)
	first, err := Load("config", nil, getenv)
	if err != nil {
		t.Fatal(err)
	}
	text, err := first.YAML()
	if err != nil {
		t.Fatal(err)
	}
	second, err := Load("config", []string{"--config", writeFile(t, "saved.yaml", string(text))}, env())
	if err != nil {
		t.Fatalf("load printed config: %v\n%s", err, text)
	}
	again, err := second.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(text) {
		t.Errorf("printout changed after a round trip:\nfirst:\n%s\nsecond:\n%s", text, again)
	}
	first.from, second.from = nil, nil
	if !reflect.DeepEqual(first, second) {
		t.Errorf("config changed after a round trip:\n%+v\n%+v", first, second)
	}
	for _, line := range []string{
		"envelope: 1m30.5s\n", "session_idle: 1h30m\n", "session_lifetime: 720h\n",
		"signup_ttl: 1h0m1s\n", "password_require: digit,symbol\n", "hash_memory_kib: 65536\n",
		"reset_ttl: 15m\n", "email_change_ttl: 2h\n", "notify_unknown: true\n",
		"limit_login: free=4 delay=2s max_delay=2m lock=8 lock_for=30m window=2h\n",
		"limit_login_ip: off\n",
		"limit_mail: free=20 delay=0s max_delay=0s lock=0 lock_for=0s window=24h\n",
		"request_timeout: 45s\n",
		"throttle_max_keys: 5000\n", "trusted_proxies: 10.0.0.0/8,192.0.2.7,2001:db8::/32\n",
		"database_url: postgres://tacit@db.example.com:5432/tacit?sslmode=verify-full\n",
	} {
		if !strings.Contains(string(text), line) {
			t.Errorf("printout lacks %q:\n%s", line, text)
		}
	}
}

// TestEverySettingPrinted guards the settings table: each
// key is unique, and a configuration at its defaults prints every key.
func TestEverySettingPrinted(t *testing.T) {
	c, err := Load("config", nil, env())
	if err != nil {
		t.Fatal(err)
	}
	text, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range settings {
		if seen[s.key] {
			t.Errorf("setting %s listed twice", s.key)
		}
		seen[s.key] = true
		if !strings.Contains(string(text), "\n"+s.key+": ") {
			t.Errorf("printout lacks %s", s.key)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	blocklist := writeFile(t, "block.txt", "# ours\nCorrectHorse9\n")
	c, err := Load("config", nil, env("TACIT_PASSWORD_BLOCKLIST", blocklist, "TACIT_PASSWORD_REQUIRE", "digit"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.PasswordPolicy()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Check("correcthorse9", "correcthorse9")["password"]; got != tacit.CodeBreached {
		t.Errorf("extra blocklist entry: code %q, want breached", got)
	}
	if got := p.Check("password1", "password1")["password"]; got != tacit.CodeBreached {
		t.Errorf("shipped blocklist entry: code %q, want breached", got)
	}
	if got := p.Check("no digits here", "no digits here")["password"]; got != tacit.CodeMissingClasses {
		t.Errorf("missing digit: code %q, want missing_classes", got)
	}
	// The service's own words: its product name and host.
	if got := p.Check("Tacit1234", "Tacit1234")["password"]; got != tacit.CodeBreached {
		t.Errorf("the product's name and a few digits: code %q, want breached", got)
	}
	c.Product, c.BaseURL = "Acme", &url.URL{Scheme: "https", Host: "auth.acme.io"}
	if p, _ := c.PasswordPolicy(); p.Check("acme2024!", "acme2024!")["password"] != tacit.CodeBreached {
		t.Errorf("the product's name and a year allowed")
	}
	if _, listed := tacit.CommonPasswords()["correcthorse9"]; listed {
		t.Error("the extra blocklist leaked into the shared shipped list")
	}

	c.PasswordBlocklist = "/nonexistent/block.txt"
	_, err = c.PasswordPolicy()
	const want = "TACIT_PASSWORD_BLOCKLIST: open /nonexistent/block.txt: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("missing blocklist: error %v, want %s", err, want)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "localhost": true,
		"LOCALHOST.": true, "app.localhost": true,
		"": false, "0.0.0.0": false, "::": false, "example.com": false,
		"localhost.example.com": false, "10.0.0.1": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestLimitSettings checks that a throttle setting changes only the
// fields it names, keeping the rule's default for the rest, and that off
// switches a rule off.
func TestLimitSettings(t *testing.T) {
	file := writeFile(t, "c.yaml", "limit_login: free=9 window=3h\nlimit_mail: free=1\n")
	c, err := Load("config", nil, env(
		"TACIT_CONFIG", file,
		// The environment replaces the file's value whole: window is the
		// rule's default again, not the file's 3h.
		"TACIT_LIMIT_LOGIN", "lock_for=1h lock=12",
		"TACIT_LIMIT_SIGNUP", "off",
		"TACIT_LIMIT_RESET", "free=0",
	))
	if err != nil {
		t.Fatal(err)
	}
	want := flow.DefaultLimits()
	want.Login.Lock, want.Login.LockFor = 12, time.Hour
	want.Mail.Free = 1
	want.Signup = flow.Limit{}
	want.Reset.Free = 0
	if c.Limits != want {
		t.Errorf("Limits:\n got %+v\nwant %+v", c.Limits, want)
	}
	if got := strings.Join(c.LimitsOff(), ","); got != "limit_signup,limit_reset" {
		t.Errorf("LimitsOff = %s, want limit_signup,limit_reset", got)
	}
}

// TestTrustedProxies checks the parsed prefixes: a bare address is a
// one-host prefix, and it prints back bare.
func TestTrustedProxies(t *testing.T) {
	c, err := Load("config", nil, env("TACIT_TRUSTED_PROXIES", " 10.1.0.0/16 ,, ::1, 192.0.2.7/32, ::ffff:10.9.0.0/112, ::ffff:192.0.2.9"))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("10.9.0.0/16"),
		netip.MustParsePrefix("192.0.2.9/32"),
	}
	if !reflect.DeepEqual(c.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %v, want %v", c.TrustedProxies, want)
	}
	if got := getTrustedProxies(&c); got != "10.1.0.0/16,::1,192.0.2.7,10.9.0.0/16,192.0.2.9" {
		t.Errorf("printed as %q", got)
	}
	if c.trustsEveryone() {
		t.Error("trustsEveryone with no /0 prefix")
	}
	c, err = Load("config", nil, env("TACIT_TRUSTED_PROXIES", "10.0.0.1,::/0"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.trustsEveryone() {
		t.Error("::/0 not reported as trusting everyone")
	}
}

// TestLoadOIDCClients reads the config file's oidc_clients list, and
// refuses a client with an unknown key, without an id or redirect URI.
func TestLoadOIDCClients(t *testing.T) {
	file := writeFile(t, "tacit.yaml", `
oidc: true
oidc_clients:
  - id: grafana
    name: Grafana
    secret: s3cret
    redirect_uris: [https://grafana.example.com/cb]
    first_party: true
  - id: spa
    redirect_uris: [http://127.0.0.1:5173/cb]
    post_logout_redirect_uris: [http://127.0.0.1:5173/]
    id_token_alg: RS256
`)
	c, err := Load("config", nil, env("TACIT_CONFIG", file))
	if err != nil {
		t.Fatal(err)
	}
	if !c.OIDC || len(c.OIDCClients) != 2 {
		t.Fatalf("OIDC %v, clients %+v", c.OIDC, c.OIDCClients)
	}
	g, s := c.OIDCClients[0], c.OIDCClients[1]
	if g.ID != "grafana" || g.Name != "Grafana" || g.Secret != "s3cret" || !g.FirstParty || g.RedirectURIs[0] != "https://grafana.example.com/cb" {
		t.Errorf("first client %+v", g)
	}
	if s.Secret != "" || s.FirstParty || s.PostLogoutRedirectURIs[0] != "http://127.0.0.1:5173/" || s.IDTokenAlg != "RS256" || g.IDTokenAlg != "" {
		t.Errorf("second client %+v", s)
	}
	text, err := c.YAML()
	if err != nil || !strings.Contains(string(text), "oidc_clients:\n    - id: grafana\n") || strings.Contains(string(text), "s3cret") ||
		!strings.Contains(string(text), "secret: '****'") || !strings.Contains(string(text), "id_token_alg: RS256") {
		t.Errorf("tacit config prints the clients as:\n%s (%v)", text, err)
	}
	for name, body := range map[string]string{
		"unknown key":     "oidc_clients:\n  - id: a\n    redirect_uris: [https://a/]\n    scret: x\n",
		"no id":           "oidc_clients:\n  - redirect_uris: [https://a/]\n",
		"no redirect URI": "oidc_clients:\n  - id: a\n",
		"not a list":      "oidc_clients: a\n",
		"bad algorithm":   "oidc_clients:\n  - id: a\n    redirect_uris: [https://a/]\n    id_token_alg: HS256\n",
	} {
		if _, err := Load("config", nil, env("TACIT_CONFIG", writeFile(t, "bad.yaml", body))); err == nil || !strings.Contains(err.Error(), "oidc_clients") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

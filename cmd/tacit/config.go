package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/mail"
	"github.com/tacitauth/tacit/openid"
	"github.com/tacitauth/tacit/web"
	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration of a tacit server. Load fills it, in
// rising precedence, from defaults, an optional YAML file, TACIT_*
// environment variables and command-line flags.
//
// The settings of the flows, the HTTP surface and the storage upkeep are
// held in their own configurations, embedded here, and take their
// defaults from them (see defaults); this struct adds only what the
// command reads in a form of its own.
type Config struct {
	// flowSettings holds the flows' settings: SignupTTL, SessionIdle,
	// SessionLifetime, ResetTTL, EmailChangeTTL, NotifyUnknown, and
	// Envelope, which may be AutoEnvelope here. Its Mode, Policy and
	// Limits are not used: see RegistrationMode, Password* and Limits.
	flowSettings
	// httpSettings holds the HTTP settings: Product, BaseURL (nil until
	// finish derives it) and TrustedProxies, and RequestTimeout, which
	// here counts beyond the envelope. httpConfig sets the rest
	// (SecureCookies and Logger here are the methods).
	httpSettings
	// Upkeep holds ThrottleMaxKeys, OutboxMaxRows and ActivityKeep.
	web.Upkeep

	Addr    string // listen address, host:port
	DataDir string // holds the SQLite file; created 0700
	// Database is where state is kept: SQLite (in DataDir unless a path
	// is given) or PostgreSQL.
	Database Database

	// RegistrationMode is flow.Config.Mode, under the setting's name.
	RegistrationMode flow.Mode
	Mail             string   // MailDev or MailSMTP
	SMTPURL          *url.URL // with MailSMTP; nil otherwise
	MailFrom         string   // From header of every mail
	// MailLease is how long the mail worker's claim on a mail lasts:
	// after a crash, the mail in the dead worker's hands goes out again
	// this long after it was claimed.
	MailLease time.Duration

	HashMemoryKiB uint32
	HashTime      uint32

	// The password policy, but for the blocklist: PasswordPolicy reads
	// that from the file PasswordBlocklist names.
	PasswordMin       int
	PasswordMax       int
	PasswordRequire   []tacit.CharClass
	PasswordBlocklist string // extra file of passwords to refuse; "" for none

	// Limits are the throttling rules; a rule with Free 0 is off. The
	// flows hold theirs by pointer; flowConfig gives them a copy.
	Limits flow.Limits

	CookieSecure string // "auto", "true" or "false"; see SecureCookies

	LogLevel  slog.Level
	LogFormat string // "text" or "json"
	// Metrics is where Prometheus metrics are served: "off", "on" (at
	// /metrics on Addr) or a host:port of their own.
	Metrics string
	// AdminAddr is a host:port to serve the administration API on,
	// alone; "" serves it on Addr (when web.Config.AdminAPI is on).
	AdminAddr string

	// OIDC serves the OpenID Connect provider; OIDCClients are its
	// clients from the configuration file (the oidc_clients list, which
	// only the file can give).
	OIDC        bool
	OIDCClients []openid.Client
	// OIDCKeyRotation is how long an OpenID Connect signing key signs
	// before the housekeeping replaces it.
	OIDCKeyRotation time.Duration

	// from records, per YAML key, where the value in force came from (an
	// environment variable, a flag, a line of the file), so that an error
	// names the setting the way the user wrote it.
	from map[string]string
}

// flowSettings and httpSettings name the embedded configurations, whose
// types are both called Config.
type (
	flowSettings = flow.Config
	httpSettings = web.Config
)

// defaults is the configuration before any file, environment or flag.
// The flows', the HTTP surface's and the upkeep's own defaults are
// defined in their packages; only the command's own settings, and the
// two it sets otherwise (an envelope measured at start-up, and a bound on
// each request), are defined here. Every setting's default is its value
// here.
var defaults = func() Config {
	fc, hc := flow.DefaultConfig(), web.DefaultConfig()
	mode, policy, limits := fc.Mode, fc.Policy, *fc.Limits
	fc.Mode, fc.Policy, fc.Limits = "", tacit.PasswordPolicy{}, nil // held by the command's own fields
	fc.Envelope = AutoEnvelope
	hc.RequestTimeout = 30 * time.Second
	hc.ForwardAuth.Proxies = web.DefaultForwardAuthProxies
	hash := argon2id.DefaultParams()
	return Config{
		flowSettings: fc,
		httpSettings: hc,
		Upkeep:       web.DefaultUpkeep(),

		Addr:             "127.0.0.1:4455",
		DataDir:          "./tacit-data",
		RegistrationMode: mode,
		Mail:             MailDev,
		MailLease:        mail.DefaultLease,
		HashMemoryKiB:    hash.Memory,
		HashTime:         hash.Time,
		PasswordMin:      policy.Min,
		PasswordMax:      policy.Max,
		Limits:           limits,
		CookieSecure:     "auto",
		LogLevel:         slog.LevelInfo,
		LogFormat:        "text",
		Metrics:          "off",
		OIDCKeyRotation:  openid.DefaultKeyRotation,
	}
}()

// The mail drivers.
const (
	MailDev  = "dev"  // mail is stored and shown at /_dev/mail, never sent
	MailSMTP = "smtp" // mail is sent through an SMTP server
)

// AutoEnvelope as Config.Envelope asks for an envelope derived from the
// hash time measured at start-up, and measured again while serving.
const AutoEnvelope time.Duration = -1

// maxHashMemoryKiB is the most memory a hash may use. Package argon2id
// refuses to verify hashes that ask for more (so that a planted row cannot
// make one check allocate gigabytes); a higher setting would make hashes
// that can never be verified.
const maxHashMemoryKiB = 4 << 20

// maxPasswordMax bounds the longest password accepted, which bounds the
// hashing work an anonymous request can ask for.
const maxPasswordMax = 4096

// setting is one configuration value: its YAML key, how to parse it and
// how to print it. Its environment variable is TACIT_ followed by the key in
// upper case. A row is made by one of the constructors of settings.go, or
// written out for a value with a form of its own.
type setting struct {
	key   string
	flag  string // command-line flag without dashes; "" when there is none
	about string // one line for the help text
	// tag is the YAML tag the value prints with: "!!int" or "!!bool";
	// "" prints a string.
	tag string
	// set parses v into c. Its error says what is wrong with v and never
	// names the setting: the caller adds where v came from.
	set func(c *Config, v string) error
	// get formats the value in force, secrets masked.
	get func(c *Config) string
	// def is the default as text: get of defaults, filled in by
	// withDefaults.
	def string
}

func (s setting) env() string { return "TACIT_" + strings.ToUpper(s.key) }

// settings lists every setting in the order tacit config prints them.
var settings = withDefaults(slices.Concat(baseSettings, accountSettings, limitSettings(), throttleSettings, outputSettings))

// baseSettings are where tacit listens, its storage, mail and passwords.
var baseSettings = []setting{
	{key: "addr", flag: "addr", about: "address to listen on, host:port",
		set: setAddr, get: func(c *Config) string { return c.Addr }},
	{key: "data_dir", flag: "data-dir", about: "directory of the SQLite file tacit.db, used when database_url is empty",
		set: setDataDir, get: func(c *Config) string { return c.DataDir }},
	{key: "database_url", flag: "database-url",
		about: "database: empty for tacit.db in data_dir, sqlite:///path/to/file.db (or sqlite://relative/path.db), or postgres://user:password@host:5432/dbname",
		set:   setDatabaseURL, get: func(c *Config) string { return c.Database.Masked() }},
	{key: "base_url", flag: "base-url", about: "public URL of the server, used in mailed links (default http://<addr>)",
		set: setBaseURL, get: func(c *Config) string { return urlString(c.BaseURL) }},
	{key: "product", about: "product name shown in pages and mail",
		set: setProduct, get: func(c *Config) string { return c.Product }},
	choiceSetting("registration_mode", "sign-up form: email_first or full_form",
		func(c *Config) *flow.Mode { return &c.RegistrationMode }, flow.EmailFirst, flow.FullForm),
	choiceSetting("pow", "browser check (proof of work) on sign-up, resend, reset and sign-in: off, on_limit (once the client reached limit_requests_ip's or limit_login_ip's free count) or always",
		func(c *Config) *flow.ProofMode { return &c.Proof }, flow.ProofOff, flow.ProofOnLimit, flow.ProofAlways),
	wholeSetting("pow_cost", "browser check cost: a challenge's maxnumber; a browser hashes half of it on average",
		1, 1<<30, func(c *Config) *int { return &c.ProofCost }),
	choiceSetting("mail", "mail driver: dev (captured at /_dev/mail) or smtp",
		func(c *Config) *string { return &c.Mail }, MailDev, MailSMTP),
	{key: "smtp_url", about: "SMTP server, e.g. smtp://user:password@host:587 (required with mail: smtp)",
		set: setSMTPURL, get: func(c *Config) string { return maskPassword(c.SMTPURL) }},
	{key: "mail_from", about: `From address (default "<product> <no-reply@<base URL host>>")`,
		set: setMailFrom, get: func(c *Config) string { return c.MailFrom }},
	durationSetting("mail_lease", "how long the mail worker holds a mail it is sending; a mail a crashed process had in hand goes out again after it (so at most this late, and perhaps twice)",
		func(c *Config) *time.Duration { return &c.MailLease }),
	wholeSetting("hash_memory_kib", "Argon2id memory per hash, KiB", 8, maxHashMemoryKiB,
		func(c *Config) *uint32 { return &c.HashMemoryKiB }),
	wholeSetting("hash_time", "Argon2id passes per hash", 1, 1<<32-1,
		func(c *Config) *uint32 { return &c.HashTime }),
	{key: "envelope", about: "least response time of sensitive requests: a duration, or auto (just above the idle hash time, measured at start-up and again while serving)",
		set: setEnvelope, get: getEnvelope},
	durationSetting("request_timeout", "longest a request may take beyond the envelope; past it, it gives up waiting for the database and is answered 500",
		func(c *Config) *time.Duration { return &c.RequestTimeout }),
	wholeSetting("password_min", "fewest characters in a password", 1, maxPasswordMax,
		func(c *Config) *int { return &c.PasswordMin }),
	wholeSetting("password_max", "most characters in a password (at most 4096)", 1, maxPasswordMax,
		func(c *Config) *int { return &c.PasswordMax }),
	{key: "password_require", about: "character classes a password must contain: comma list of lower, upper, digit, symbol",
		set: setPasswordRequire, get: getPasswordRequire},
	{key: "password_blocklist", about: "file of extra passwords to refuse, one per line",
		set: setPasswordBlocklist, get: func(c *Config) string { return c.PasswordBlocklist }},
	durationSetting("session_idle", "a session unused this long ends",
		func(c *Config) *time.Duration { return &c.SessionIdle }),
	durationSetting("session_lifetime", "a session ends this long after sign-in",
		func(c *Config) *time.Duration { return &c.SessionLifetime }),
	durationSetting("signup_ttl", "how long a sign-up link works",
		func(c *Config) *time.Duration { return &c.SignupTTL }),
	boolSetting("oidc", "true to serve the OpenID Connect provider (clients from oidc_clients in the config file and from tacit clients add)",
		func(c *Config) *bool { return &c.OIDC }),
	durationSetting("oidc_key_rotation", "how long an OpenID Connect signing key signs before the housekeeping replaces it (once across instances); the old key stays in the JWKS until the tokens it signed have expired",
		func(c *Config) *time.Duration { return &c.OIDCKeyRotation }),
}

// outputSettings are how tacit answers and logs.
var outputSettings = []setting{
	choiceSetting("cookie_secure", "Secure cookie attribute: auto (true iff base_url is https), true or false",
		func(c *Config) *string { return &c.CookieSecure }, "auto", "true", "false"),
	{key: "log_level", about: "debug, info, warn or error",
		set: setLogLevel, get: func(c *Config) string { return strings.ToLower(c.LogLevel.String()) }},
	choiceSetting("log_format", "text or json",
		func(c *Config) *string { return &c.LogFormat }, "text", "json"),
	{key: "metrics", about: "Prometheus metrics: off, on (GET /metrics on addr) or host:port to serve them on an address of their own",
		set: setMetrics, get: func(c *Config) string { return c.Metrics }},
	boolSetting("admin_api", "true to serve the operators' administration API at /admin/api/ (bearer tokens from tacit admin-tokens add), on addr or on admin_addr; its answers say whether an address has an account",
		func(c *Config) *bool { return &c.AdminAPI }),
	{key: "admin_addr", about: "host:port to serve the administration API on, alone, instead of on addr (needs admin_api: true)",
		set: setAdminAddr, get: func(c *Config) string { return c.AdminAddr }},
}

// setAdminAddr takes "" or a host:port.
func setAdminAddr(c *Config, v string) error {
	if v != "" {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return fmt.Errorf("must be host:port, got %q", v)
		}
	}
	c.AdminAddr = v
	return nil
}

// setMetrics takes off, on or a host:port.
func setMetrics(c *Config, v string) error {
	if v == "off" || v == "on" {
		c.Metrics = v
		return nil
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return fmt.Errorf("must be off, on or host:port, got %q", v)
	}
	c.Metrics = v
	return nil
}

func lookupSetting(key string) (setting, bool) {
	i := slices.IndexFunc(settings, func(s setting) bool { return s.key == key })
	if i < 0 {
		return setting{}, false
	}
	return settings[i], true
}

// configEnv names the environment variable that points at a config file;
// the --config flag overrides it.
const configEnv = "TACIT_CONFIG"

// newFlagSet returns the flags shared by the commands that read the
// configuration. Flag values are kept as text and applied after the file
// and the environment, so that flags win over both.
func newFlagSet(name string) (fs *flag.FlagSet, configPath *string) {
	fs = flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by the caller
	configPath = fs.String("config", "", "YAML configuration file ("+configEnv+")")
	for _, s := range settings {
		if s.flag != "" {
			fs.String(s.flag, "", s.about+" ("+s.env()+")")
		}
	}
	return fs, configPath
}

// settingOfFlag returns the setting a flag sets.
func settingOfFlag(name string) (setting, bool) {
	i := slices.IndexFunc(settings, func(s setting) bool { return s.flag == name })
	if i < 0 {
		return setting{}, false
	}
	return settings[i], true
}

// Load parses a command's arguments (flags only) and returns the
// configuration in force. A flag problem is a usageError; flag.ErrHelp
// means -h was given.
func Load(command string, args []string, getenv func(string) string) (Config, error) {
	return loadWith(command, args, getenv, nil)
}

// loadWith is Load for a command with flags of its own, which extra
// defines on the flag set (nil for none).
func loadWith(command string, args []string, getenv func(string) string, extra func(*flag.FlagSet)) (Config, error) {
	c, _, err := loadArgs(command, args, getenv, extra, 0)
	return c, err
}

// loadArgs is loadWith for a command that also takes up to maxArgs
// arguments, before, after or between its flags; it returns them.
func loadArgs(command string, args []string, getenv func(string) string, extra func(*flag.FlagSet), maxArgs int) (Config, []string, error) {
	fs, configPath := newFlagSet(command)
	if extra != nil {
		extra(fs)
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return Config{}, nil, err
			}
			return Config{}, nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		positional, args = append(positional, fs.Arg(0)), fs.Args()[1:]
	}
	if len(positional) > maxArgs {
		return Config{}, nil, usageError{fmt.Sprintf("%s: unexpected argument %q", command, positional[maxArgs])}
	}
	c, err := loadConfig(fs, configPath, getenv)
	return c, positional, err
}

// loadConfig builds the configuration from the defaults, the file, the
// environment and the flags parsed into fs.
func loadConfig(fs *flag.FlagSet, configPath *string, getenv func(string) string) (Config, error) {

	c, err := defaultConfig()
	if err != nil {
		return Config{}, err
	}
	switch {
	case *configPath != "":
		err = c.applyFile(*configPath, "--config")
	case getenv(configEnv) != "":
		err = c.applyFile(getenv(configEnv), configEnv)
	}
	if err != nil {
		return Config{}, err
	}
	if err := c.applyEnv(getenv); err != nil {
		return Config{}, err
	}
	var flagErr error
	fs.Visit(func(f *flag.Flag) {
		if s, ok := settingOfFlag(f.Name); ok && flagErr == nil {
			flagErr = c.apply(s, f.Value.String(), "--"+f.Name)
		}
	})
	if flagErr != nil {
		return Config{}, flagErr
	}
	if err := c.finish(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// defaultConfig returns the configuration before any file, environment
// or flag: every setting at its default.
func defaultConfig() (Config, error) {
	c := defaults
	c.from = map[string]string{}
	// Parsing each default again checks that it reads back, and sets
	// what a value implies (the engine of an empty database_url).
	for _, s := range settings {
		if err := s.set(&c, s.def); err != nil {
			return Config{}, fmt.Errorf("default %s: %w", s.key, err)
		}
	}
	return c, nil
}

// apply sets one value and remembers where it came from.
func (c *Config) apply(s setting, v, from string) error {
	if err := s.set(c, v); err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	c.from[s.key] = from
	return nil
}

// name returns how the user gave a setting, or its environment variable
// when it is at its default.
func (c *Config) name(key string) string {
	if from, ok := c.from[key]; ok {
		return from
	}
	s, _ := lookupSetting(key)
	return s.env()
}

// applyEnv applies the TACIT_* variables that are set. An empty variable
// counts as unset.
func (c *Config) applyEnv(getenv func(string) string) error {
	for _, s := range settings {
		if v := getenv(s.env()); v != "" {
			if err := c.apply(s, v, s.env()); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyFile applies a YAML file: one mapping of setting keys to values.
// Unknown keys are errors, so a misspelt setting cannot silently keep its
// default.
func (c *Config) applyFile(path, from string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: must be a mapping of setting: value", path, root.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value == oidcClientsKey {
			if err := c.applyClients(v, fmt.Sprintf("%s:%d: %s", path, k.Line, oidcClientsKey)); err != nil {
				return err
			}
			continue
		}
		s, ok := lookupSetting(k.Value)
		if !ok {
			return fmt.Errorf("%s:%d: unknown key %q", path, k.Line, k.Value)
		}
		at := fmt.Sprintf("%s:%d: %s", path, k.Line, s.key)
		if seen[s.key] {
			return fmt.Errorf("%s: given twice", at)
		}
		seen[s.key] = true
		text, err := nodeText(v)
		if err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		if err := c.apply(s, text, at); err != nil {
			return err
		}
	}
	return nil
}

// oidcClientsKey is the config file's list of OpenID Connect clients.
const oidcClientsKey = "oidc_clients"

// applyClients reads the oidc_clients list: mappings of id, name, secret
// (none for a public client), redirect_uris, post_logout_redirect_uris,
// first_party and id_token_alg. Unknown keys are errors, as for settings.
func (c *Config) applyClients(n *yaml.Node, at string) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s: must be a list of clients", at)
	}
	var list []openid.Client
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			return fmt.Errorf("%s:%d: must be a mapping of id, name, secret, redirect_uris, post_logout_redirect_uris, first_party, id_token_alg", at, item.Line)
		}
		for i := 0; i < len(item.Content); i += 2 {
			switch k := item.Content[i]; k.Value {
			case "id", "name", "secret", "redirect_uris", "post_logout_redirect_uris", "first_party", "id_token_alg":
			default:
				return fmt.Errorf("%s:%d: unknown key %q", at, k.Line, k.Value)
			}
		}
		var cl openid.Client
		if err := item.Decode(&cl); err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		if cl.ID == "" || len(cl.RedirectURIs) == 0 {
			return fmt.Errorf("%s:%d: a client needs an id and at least one redirect URI", at, item.Line)
		}
		if _, err := openid.ParseIDTokenAlg(cl.IDTokenAlg); err != nil {
			return fmt.Errorf("%s:%d: %w", at, item.Line, err)
		}
		list = append(list, cl)
	}
	c.OIDCClients = list
	return nil
}

// nodeText returns a YAML value as the text an environment variable would
// hold: a scalar as written, null as "", and a list of scalars joined by
// commas (so password_require may be written as a list).
func nodeText(n *yaml.Node) (string, error) {
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		return "", nil
	case n.Kind == yaml.ScalarNode:
		return n.Value, nil
	case n.Kind == yaml.SequenceNode:
		var parts []string
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return "", errors.New("must be a value or a list of values")
			}
			parts = append(parts, item.Value)
		}
		return strings.Join(parts, ","), nil
	}
	return "", errors.New("must be a value or a list of values")
}

// finish fills the defaults that derive from other settings and checks
// the rules that span several settings.
func (c *Config) finish() error {
	if c.Database.Engine == engineSQLite && c.Database.raw == "" {
		c.Database.Path = filepath.Join(c.DataDir, "tacit.db")
	}
	if c.BaseURL == nil {
		host, _, _ := net.SplitHostPort(c.Addr)
		// A derived base URL is http://addr. That only makes sense, and
		// is only safe with plain HTTP cookies, on a loopback address.
		if !isLoopback(host) {
			return fmt.Errorf("%s: required when %s (%q) is not a loopback address",
				c.name("base_url"), c.name("addr"), c.Addr)
		}
		c.BaseURL = &url.URL{Scheme: "http", Host: c.Addr}
	}
	if c.MailFrom == "" {
		c.MailFrom = formatAddress(c.Product, "no-reply@"+c.BaseURL.Hostname())
	}
	if c.AdminAddr != "" && !c.AdminAPI {
		return fmt.Errorf("%s: set, but %s is false: the administration API is off; set it to true to serve the API on %q",
			c.name("admin_addr"), c.name("admin_api"), c.AdminAddr)
	}
	if c.PasswordMin > c.PasswordMax {
		return fmt.Errorf("%s: must not exceed %s (%d), got %d",
			c.name("password_min"), c.name("password_max"), c.PasswordMax, c.PasswordMin)
	}
	if c.Mail == MailSMTP && c.SMTPURL == nil {
		return fmt.Errorf("%s: required when %s is smtp", c.name("smtp_url"), c.name("mail"))
	}
	if c.Mail == MailSMTP {
		// The derived From address may not be deliverable (an IP
		// address host); say so before the first mail fails.
		if _, err := netmail.ParseAddress(c.MailFrom); err != nil {
			return fmt.Errorf("%s: must be a mail address such as \"Example <no-reply@example.com>\", got %q",
				c.name("mail_from"), c.MailFrom)
		}
	}
	return c.checkCookies()
}

// checkCookies refuses cookies without the Secure attribute anywhere but
// on a loopback host: over plain HTTP on a network, anyone on the path
// could read session cookies.
func (c *Config) checkCookies() error {
	host := c.BaseURL.Hostname()
	if c.SecureCookies() || isLoopback(host) {
		return nil
	}
	if c.CookieSecure == "false" {
		return fmt.Errorf("%s: false is for local development only, but the base URL host %q is not a loopback address",
			c.name("cookie_secure"), host)
	}
	return fmt.Errorf("%s: must be https when its host is not a loopback address (plain HTTP cookies are for local development only), got %q",
		c.name("base_url"), c.BaseURL.String())
}

// SecureCookies reports whether cookies carry the Secure attribute.
func (c *Config) SecureCookies() bool {
	switch c.CookieSecure {
	case "true":
		return true
	case "false":
		return false
	}
	return c.BaseURL != nil && c.BaseURL.Scheme == "https"
}

// DBPath is the SQLite file in force; "" with PostgreSQL.
func (c *Config) DBPath() string { return c.Database.Path }

// HashParams returns the Argon2id parameters. Parallelism is fixed at one
// lane: concurrent requests already use every core, and OWASP's
// recommended settings assume p=1.
func (c *Config) HashParams() argon2id.Params {
	p := argon2id.DefaultParams()
	p.Memory, p.Time, p.Threads = c.HashMemoryKiB, c.HashTime, 1
	return p
}

// PasswordPolicy returns the password rules, reading the extra blocklist
// file if one is configured.
func (c *Config) PasswordPolicy() (tacit.PasswordPolicy, error) {
	p := tacit.PasswordPolicy{
		Min:       c.PasswordMin,
		Max:       c.PasswordMax,
		Require:   c.PasswordRequire,
		Blocklist: tacit.CommonPasswords(),
	}
	if c.BaseURL != nil {
		p.Context = tacit.ContextWords(c.Product, c.BaseURL.Hostname())
	}
	if c.PasswordBlocklist == "" {
		return p, nil
	}
	text, err := os.ReadFile(c.PasswordBlocklist)
	if err != nil {
		return p, fmt.Errorf("%s: %w", c.name("password_blocklist"), err)
	}
	// The shipped map is shared and must not be modified: merge into a
	// fresh one.
	extra := tacit.ParseBlocklist(string(text))
	merged := make(map[string]struct{}, len(p.Blocklist)+len(extra))
	for _, set := range []map[string]struct{}{p.Blocklist, extra} {
		for pw := range set {
			merged[pw] = struct{}{}
		}
	}
	p.Blocklist = merged
	return p, nil
}

// Logger returns a logger writing to w in the configured format and level.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// YAML returns the configuration in the file format, secrets masked, so
// that it can be saved and loaded again.
func (c *Config) YAML() ([]byte, error) {
	m := &yaml.Node{Kind: yaml.MappingNode,
		HeadComment: "tacit configuration; secrets are masked as ****"}
	for _, s := range settings {
		tag := s.tag
		if tag == "" {
			tag = "!!str"
		}
		m.Content = append(m.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.key},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s.get(c)})
	}
	if len(c.OIDCClients) > 0 {
		clients := make([]openid.Client, len(c.OIDCClients))
		for i, cl := range c.OIDCClients {
			if cl.Secret != "" {
				cl.Secret = "****"
			}
			clients[i] = cl
		}
		var list yaml.Node
		if err := list.Encode(clients); err != nil {
			return nil, err
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: oidcClientsKey}, &list)
	}
	return yaml.Marshal(m)
}

// isLoopback reports whether host names this machine only: a loopback IP
// address, or localhost (which RFC 6761 reserves for loopback).
func isLoopback(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func setAddr(c *Config, v string) error {
	// Any host is accepted, or none for every interface; finish checks
	// that a non-loopback address comes with a base URL.
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("must be host:port, got %q", v)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("must be host:port with a port number, got %q", v)
	}
	c.Addr = v
	return nil
}

func setDataDir(c *Config, v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	c.DataDir = v
	return nil
}

// setDatabaseURL reads database_url; see parseDatabaseURL.
func setDatabaseURL(c *Config, v string) error {
	d, err := parseDatabaseURL(v)
	if err != nil {
		return err
	}
	c.Database = d
	return nil
}

func setBaseURL(c *Config, v string) error {
	if v == "" {
		c.BaseURL = nil // derived from addr
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("must be an absolute http:// or https:// URL, got %q", v)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(v, "#") {
		return fmt.Errorf("must not have a query or fragment, got %q", v)
	}
	if u.User != nil {
		return fmt.Errorf("must not hold a user name or password, got %q", v)
	}
	c.BaseURL = u
	return nil
}

func urlString(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.String()
}

// setProduct refuses control characters because the name goes into mail
// headers, where a line break would let it add headers of its own.
func setProduct(c *Config, v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("must not be empty")
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return fmt.Errorf("must not contain control characters, got %q", v)
	}
	c.Product = v
	return nil
}

func setSMTPURL(c *Config, v string) error {
	if v == "" {
		c.SMTPURL = nil
		return nil
	}
	// The sender's own parser decides what is valid; its errors never
	// repeat the URL, which may hold a password.
	if _, err := mail.NewSMTPSender(v, "check <check@example.com>"); err != nil {
		return err
	}
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("must be a URL such as smtp://user:password@host:587")
	}
	c.SMTPURL = u
	return nil
}

// maskPassword prints u with its password, if any, replaced by ****.
func maskPassword(u *url.URL) string {
	if u == nil {
		return ""
	}
	if _, has := u.User.Password(); !has {
		return u.String()
	}
	m := *u
	m.User = url.User(u.User.Username())
	// The escaped user name holds no '@', so the first '@' ends it.
	return strings.Replace(m.String(), "@", ":****@", 1)
}

func setMailFrom(c *Config, v string) error {
	if v == "" {
		c.MailFrom = "" // derived from product and base URL
		return nil
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return fmt.Errorf("must not contain control characters, got %q", v)
	}
	if _, err := netmail.ParseAddress(v); err != nil {
		return fmt.Errorf("must be a mail address such as \"Example <no-reply@example.com>\", got %q", v)
	}
	c.MailFrom = v
	return nil
}

// formatAddress returns a From header value. A plain name is written
// bare, as people write it; any other is quoted or encoded by net/mail.
func formatAddress(name, addr string) string {
	plain := !strings.ContainsFunc(name, func(r rune) bool {
		return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || r == '-' || r == '_')
	})
	if plain && strings.TrimSpace(name) == name {
		return name + " <" + addr + ">"
	}
	return (&netmail.Address{Name: name, Address: addr}).String()
}

// parseWhole parses a whole number in [lo, hi].
func parseWhole(v string, lo, hi uint64) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil || n < lo || n > hi {
		if hi == 1<<32-1 {
			return 0, fmt.Errorf("must be a whole number ≥ %d, got %q", lo, v)
		}
		return 0, fmt.Errorf("must be a whole number from %d to %d, got %q", lo, hi, v)
	}
	return n, nil
}

func setEnvelope(c *Config, v string) error {
	if v == "auto" {
		c.Envelope = AutoEnvelope
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("must be auto or a duration such as 250ms (0s turns it off), got %q", v)
	}
	c.Envelope = d
	return nil
}

func getEnvelope(c *Config) string {
	if c.Envelope == AutoEnvelope {
		return "auto"
	}
	return flow.FormatDuration(c.Envelope)
}

func setPasswordRequire(c *Config, v string) error {
	var classes []tacit.CharClass
	for part := range strings.SplitSeq(v, ",") {
		class := tacit.CharClass(strings.TrimSpace(part))
		switch class {
		case "":
			continue
		case tacit.Lower, tacit.Upper, tacit.Digit, tacit.Symbol:
		default:
			return fmt.Errorf("must be a comma-separated list of lower, upper, digit, symbol; got %q", v)
		}
		if !slices.Contains(classes, class) {
			classes = append(classes, class)
		}
	}
	c.PasswordRequire = classes
	return nil
}

func getPasswordRequire(c *Config) string {
	parts := make([]string, len(c.PasswordRequire))
	for i, class := range c.PasswordRequire {
		parts[i] = string(class)
	}
	return strings.Join(parts, ",")
}

func setPasswordBlocklist(c *Config, v string) error {
	c.PasswordBlocklist = v
	return nil
}

func setLogLevel(c *Config, v string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		return fmt.Errorf("must be debug, info, warn or error, got %q", v)
	}
	c.LogLevel = l
	return nil
}

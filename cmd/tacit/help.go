package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// command is the help of one tacit command: "tacit COMMAND --help" and
// "tacit help COMMAND" print it.
type command struct {
	name     string
	synopsis []string // usage lines, after "tacit "
	about    string   // what the command does, one or more paragraphs
	// flags defines the command's flags on a flag set, to list them; nil
	// when it takes none.
	flags func(*flag.FlagSet)
	// settings says the command reads the configuration: its help ends
	// with where else settings come from.
	settings bool
	examples []string // each a command line, after "$ "
}

// commands are the commands with a help of their own, in the order
// "tacit help" lists them. scan has its own (scanUsage).
var commands = []command{
	{
		name:     "serve",
		synopsis: []string{"serve [flags]"},
		about: `Runs the server: the pages, the JSON API, the forward-auth endpoint and
the mail worker. It migrates the database on start, logs to stderr, and
stops gracefully on SIGINT or SIGTERM.

One serve per SQLite file: a second one on the same file is refused while
the first runs (it holds the lock file <database>.lock). PostgreSQL takes
any number of instances.`,
		flags:    configFlags,
		settings: true,
		examples: []string{
			"tacit serve",
			"TACIT_DATA_DIR=/var/lib/tacit tacit serve --addr 127.0.0.1:8080",
			"tacit serve --config /etc/tacit.yaml",
		},
	},
	{
		name:     "migrate",
		synopsis: []string{"migrate [flags]"},
		about: `Creates the database schema or brings it up to date, then exits, saying
which it did. serve migrates on start too; run this to migrate ahead of a
deploy. It may run while a serve uses the same database: migrations are
safe to run at once on both engines.`,
		flags:    configFlags,
		settings: true,
		examples: []string{
			"tacit migrate --data-dir /var/lib/tacit",
			"tacit migrate --database-url postgres://tacit:password@127.0.0.1:5432/tacit",
		},
	},
	{
		name:     "migrate-data",
		synopsis: []string{"migrate-data --from URL --to URL [--sessions=false]"},
		about: `Copies every account (address, password hash, creation time, disabled
flag) with its two-step sign-in (authenticator, last step used, recovery
codes) and, unless --sessions=false, every live session from one database
to another. Either engine works on either side. The target is migrated
first and must hold no accounts.

Stop the servers on both while it runs: a SQLite file a serve holds is
refused. Not copied, and named table by table: pending sign-ups (those
users sign up again), reset and email-change links, sign-ins waiting for
their second step, throttle counters and their key, and the outbox and dev
mailbox: mail still queued in the source is not sent (the command warns
with the count). A source table or column this version does not know stops
the copy before it starts.`,
		flags: func(fs *flag.FlagSet) { migrateDataFlags(fs) },
		examples: []string{
			"tacit migrate-data --from sqlite:///var/lib/tacit/tacit.db --to postgres://tacit:password@db:5432/tacit",
		},
	},
	{
		name:     "backup",
		synopsis: []string{"backup [flags] FILE"},
		about: `Writes a copy of the configured SQLite database (chosen as serve chooses
it) to FILE, which must not exist, while a serve may go on using the
database: the copy is one consistent moment (SQLite's VACUUM INTO, in a
read transaction that does not stop writers), compacted, readable by its
owner only, and whole or absent. To restore it, stop tacit, remove
<database>-wal and <database>-shm, move the copy to <database>, and start
tacit. A database file replaced while a serve runs is refused (each
request that uses it answers 503 and logs an error) until that serve is
restarted.
PostgreSQL is backed up with its own tools (pg_dump).`,
		flags:    configFlags,
		settings: true,
		examples: []string{
			"tacit backup --data-dir /var/lib/tacit /var/backups/tacit-$(date +%F).db",
		},
	},
	{
		name:     "seed",
		synopsis: []string{"seed --accounts N [--password P] [--prefix seed] [flags]"},
		about: `Adds N verified accounts <prefix>-1@example.com … <prefix>-N@example.com
to the configured database (chosen as serve chooses it), all sharing one
Argon2id hash of the password made with the configured hash settings, for
benchmarks. Refuses if any of those addresses has an account, and while a
serve runs on the same SQLite file.`,
		flags:    func(fs *flag.FlagSet) { configFlags(fs); new(seedOptions).flags(fs) },
		settings: true,
		examples: []string{
			"tacit seed --accounts 100000 --data-dir /tmp/bench",
		},
	},
	{
		name: "users",
		synopsis: []string{
			"users list [--contains TEXT] [--state active|disabled] [--limit 50] [--after ID] [--json] [flags]",
			"users show ADDRESS [--json] [flags]",
			"users disable ADDRESS | enable ADDRESS [--json] [flags]",
			"users delete ADDRESS --yes [--json] [flags]",
			"users end-sessions ADDRESS [--json] [flags]",
			"users send-reset ADDRESS [--json] [flags]",
			"users create ADDRESS [--json] [flags]",
		},
		about: `Administers accounts in the configured database (chosen as serve chooses
it), alongside a running serve.

  list          the accounts in ID order, a page at a time, filtered by part
                of the address and by state; the last line says how to get
                the next page
  show          one account: state, creation, two-step sign-in and recovery
                codes left, live sessions
  disable       the account can no longer sign in, and its sessions and
                mailed links end; every public page then answers for the
                address as for one without an account
  enable        lets a disabled account sign in again with its password
  delete        deletes the account and everything tied to it (sessions,
                links, two-step sign-in, sign-ups of its address): the
                address is as if it never had one, and can sign up again.
                Needs --yes
  end-sessions  signs the account out everywhere
  send-reset    queues a mail with a password reset link to the account
  create        queues an invitation to an address without an account: a
                link to choose a password, which makes the account

Mail is queued in the outbox, which the server's mail worker delivers.
These commands say whether an address has an account: they are for
operators, never exposed to the public. Exit status: 0 done, 1 failure,
2 usage error, 3 refused because of the account's state (no account for
the address, an account already there for create, a disabled one for
send-reset).`,
		flags:    usersFlags,
		settings: true,
		examples: []string{
			"tacit users list --contains @example.com --state disabled",
			"tacit users show alice@example.com --json",
			"tacit users delete alice@example.com --yes",
			"tacit users create bob@example.com",
		},
	},
	{
		name: "admin-tokens",
		synopsis: []string{
			"admin-tokens add NAME --scope read|write [flags]",
			"admin-tokens list [--json] [flags]",
			"admin-tokens remove NAME [flags]",
		},
		about: `Manages the bearer tokens of the administration API (/admin/api/, served
with admin_api: true) in the configured database, alongside a running
serve.

  add     makes a token called NAME (letters, digits, '-', '_', '.'; at most
          64) and prints it once: only the SHA-256 of its secret is kept.
          Scope read lists and shows accounts; write does everything
  list    the tokens: name, scope, when made and last used; never a secret
  remove  deletes the token called NAME; it stops working at once

Exit status: 0 done, 1 failure (a name taken or unknown), 2 usage error.`,
		flags:    adminTokensFlags,
		settings: true,
		examples: []string{
			"tacit admin-tokens add helpdesk --scope read",
			"tacit admin-tokens list",
			"tacit admin-tokens remove helpdesk",
		},
	},
	{
		name:     "clients",
		synopsis: []string{"clients add --id ID --redirect-uri URI[,URI] [--name N] [--public] [--first-party] [--post-logout-redirect-uri URI] [--id-token-alg RS256] [flags]", "clients list [flags]", "clients remove --id ID [flags]"},
		about: `Adds, lists or removes the OpenID Connect clients kept in the configured
database (those of the config file's oidc_clients are not listed). add
prints a confidential client's secret once; only its hash is kept. A
public client has no secret and must use PKCE (S256). Redirect URIs are
matched exactly. --id-token-alg RS256 signs the client's ID tokens with
RSA, for apps that know no ES256. remove ends the client's tokens and
consents too.`,
		flags:    func(fs *flag.FlagSet) { configFlags(fs); new(clientOptions).flags(fs) },
		settings: true,
		examples: []string{
			"tacit clients add --id grafana --name Grafana --redirect-uri https://grafana.example.com/login/generic_oauth --first-party",
			"tacit clients add --id spa --public --redirect-uri https://app.example.com/callback",
			"tacit clients add --id legacy --redirect-uri https://old.example.com/oidc/callback --id-token-alg RS256",
			"tacit clients list",
		},
	},
	{
		name:     "keys",
		synopsis: []string{"keys rotate [flags]", "keys list [flags]"},
		about: `rotate makes a new OpenID Connect signing key for each algorithm in use
(ES256, and RS256 once a client configured for it was served), which signs
from now on on every instance. The old keys stay in the JWKS, so tokens
they signed still verify until they expire; the housekeeping then removes
them. The housekeeping also rotates each key on its own once it has signed
for oidc_key_rotation (once across instances).
list shows each key: its kid, algorithm, when it was made, and when it is
rotated or, once retired, when it leaves the JWKS.`,
		flags:    configFlags,
		settings: true,
		examples: []string{"tacit keys rotate --config /etc/tacit.yaml", "tacit keys list --config /etc/tacit.yaml"},
	},
	{
		name:     "config",
		synopsis: []string{"config [flags]"},
		about: `Prints the configuration in force (defaults, the YAML file, TACIT_*
variables and flags, merged) as YAML, secrets masked. The output is a valid
configuration file that gives the same settings back.`,
		flags:    configFlags,
		settings: true,
		examples: []string{
			"tacit config > tacit.yaml",
			"TACIT_MAIL=smtp TACIT_SMTP_URL=smtp://127.0.0.1:25 tacit config",
		},
	},
	{
		name:     "version",
		synopsis: []string{"version", "--version"},
		about: `Prints the version: the module version, the commit the binary was built
from, that commit's time and "modified" if the tree had uncommitted
changes, then the Go version and platform. A binary built without version
control information (go run, -buildvcs=false) prints (devel) and no
commit.`,
		examples: []string{"tacit version"},
	},
	{
		name:     "help",
		synopsis: []string{"help [COMMAND]"},
		about: `Prints the help of a command, the same as "tacit COMMAND --help", or
without one the list of commands and every setting.`,
		examples: []string{"tacit help serve"},
	},
}

// configFlags defines the flags shared by the commands that read the
// configuration: --config and the settings that have a flag.
func configFlags(fs *flag.FlagSet) {
	fs.String("config", "", "read settings from this YAML file (or set "+configEnv+")")
	for _, s := range settings {
		if s.flag != "" {
			fs.String(s.flag, "", s.about)
		}
	}
}

// flagValueNames are the placeholders of flag values in the help.
var flagValueNames = map[string]string{
	"config": "FILE", "addr": "HOST:PORT", "data-dir": "DIR", "database-url": "URL",
	"base-url": "URL", "from": "URL", "to": "URL", "accounts": "N", "password": "P",
	"prefix": "PREFIX", "contains": "TEXT", "state": "STATE", "limit": "N", "after": "ID",
}

// lookupCommand returns the command called name.
func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// help is the help text of c.
func (c command) help() string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	for _, s := range c.synopsis {
		fmt.Fprintf(&b, "  tacit %s\n", s)
	}
	fmt.Fprintf(&b, "\n%s\n\nFlags:\n", c.about)
	if c.flags != nil {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		writeFlags(&b, fs)
	}
	b.WriteString("  -h, --help\n        print this help\n")
	if c.settings {
		b.WriteString(`
Every setting can also come from the YAML file (--config, TACIT_CONFIG) or a
TACIT_* environment variable; flags win over both. "tacit help" lists every
setting.
`)
	}
	b.WriteString("\nExample")
	if len(c.examples) > 1 {
		b.WriteString("s")
	}
	b.WriteString(":\n")
	for _, e := range c.examples {
		fmt.Fprintf(&b, "  $ %s\n", e)
	}
	return b.String()
}

// writeFlags lists the flags of fs, in name order, as the global help
// lists settings: "--name VALUE", then what it does and its default.
func writeFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name := "--" + f.Name
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			name += "=true|false"
		} else {
			name += " " + cmp.Or(flagValueNames[f.Name], "VALUE")
		}
		def := f.DefValue
		if s, ok := settingOfFlag(f.Name); ok {
			def = s.def
			name += " (" + s.env() + ")"
		}
		if strings.ContainsRune(def, ' ') {
			def = strconv.Quote(def)
		}
		if def != "" && def != "0" {
			def = " (default " + def + ")"
		} else {
			def = ""
		}
		fmt.Fprintf(w, "  %s\n        %s%s\n", name, f.Usage, def)
	})
}

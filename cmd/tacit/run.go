package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// usageError is a mistake in how tacit was invoked, as opposed to a failure
// while doing what was asked. It exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitCode reports err, if any, as one line on stderr and returns the exit
// status: 0 for success, 2 for a usage error, 1 for anything else.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	// One line, always: wrapped errors from libraries may hold newlines.
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	fmt.Fprintf(stderr, "tacit: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	var st interface{ exitStatus() int } // a command's own status (scan)
	if errors.As(err, &st) {
		return st.exitStatus()
	}
	return 1
}

// run is the whole program: main only adds the process around it, so tests
// call run directly. args excludes the program name.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return withConfig(cmd, rest, getenv, stdout, nil, func(c Config) error {
			return serve(ctx, c, stderr)
		})
	case "migrate":
		return withConfig(cmd, rest, getenv, stdout, nil, func(c Config) error {
			return migrate(ctx, c, stdout)
		})
	case "migrate-data":
		opts, err := parseMigrateDataArgs(rest)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage())
			return nil
		}
		if err != nil {
			return err
		}
		return migrateData(ctx, opts, stdout, stderr)
	case "seed":
		var o seedOptions
		return withConfig(cmd, rest, getenv, stdout, o.flags, func(c Config) error {
			return seed(ctx, c, o, stdout)
		})
	case "config":
		return withConfig(cmd, rest, getenv, stdout, nil, func(c Config) error {
			return printConfig(c, stdout)
		})
	case "scan":
		return runScan(ctx, rest, stdout, stderr)
	case "version":
		if len(rest) > 0 {
			return usageError{fmt.Sprintf("version: unexpected argument %q", rest[0])}
		}
		return printVersion(stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage())
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q (run \"tacit help\" for usage)", cmd)}
}

// withConfig loads the configuration for a command, whose own flags extra
// defines (nil for none), and runs it. -h prints the help instead.
func withConfig(cmd string, args []string, getenv func(string) string, stdout io.Writer,
	extra func(*flag.FlagSet), do func(Config) error) error {
	c, err := loadWith(cmd, args, getenv, extra)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage())
		return nil
	}
	if err != nil {
		return err
	}
	return do(c)
}

// usage is the help text. Its list of settings comes from the settings
// table, so it cannot fall out of date.
func usage() string {
	var b strings.Builder
	b.WriteString(`tacit is an authentication server whose account flows never reveal
whether an email address has an account.

Usage:
  tacit <command> [flags]

Commands:
  serve          run the server
  migrate        create or upgrade the database schema, then exit
  migrate-data   copy accounts (two-step sign-in too) and sessions elsewhere
  seed           fill the database with test accounts, for benchmarks
  scan           scan a web application for account enumeration ("tacit scan -h")
  config         print the configuration in force as YAML (secrets masked)
  version        print the version
  help           print this help

Flags (serve, migrate, seed, config):
  --config FILE   read settings from a YAML file (or set TACIT_CONFIG)

Settings come from, in rising precedence: defaults, the YAML file, TACIT_*
environment variables, flags. "tacit config" prints them as a file.

`)
	width := 0
	for _, s := range settings {
		width = max(width, len(s.key))
	}
	for _, s := range settings {
		names := s.env()
		if s.flag != "" {
			names += ", --" + s.flag
		}
		def := ""
		if s.def != "" {
			def = " (default " + s.def + ")"
		}
		fmt.Fprintf(&b, "  %-*s %s\n        %s%s\n", width, s.key, names, s.about, def)
	}
	b.WriteString(`
Throttle rules (limit_*) read "free=5 delay=1s max_delay=1m lock=10
lock_for=15m window=1h": after free events a key waits delay before the next,
doubling with each further event up to max_delay; at lock events it is locked
for lock_for; a key with no event for window is forgotten. Fields left out
keep the rule's default; free=0 or "off" switches the rule off.

tacit migrate-data --from URL --to URL [--sessions=false]
  Copies every account (address, password hash, creation time, disabled
  flag) with its two-step sign-in (authenticator, last step used, recovery
  codes) and, unless --sessions=false, every live session from one
  database to another, e.g. from sqlite:///var/lib/tacit/tacit.db to
  postgres://tacit:password@db:5432/tacit. Either engine works on either
  side. The target is migrated first and must hold no accounts. Stop the
  servers on both while it runs. Not copied, and named table by table:
  pending sign-ups (those users sign up again), reset and email-change
  links, sign-ins waiting for their second step, throttle counters and
  their key, and the outbox and dev mailbox: mail still queued in the
  source is not sent (the command warns with the count). A source table or
  column this version does not know stops the copy before it starts.

tacit seed --accounts N [--password P] [--prefix seed]
  Adds N verified accounts <prefix>-1@example.com … <prefix>-N@example.com
  to the configured database (chosen as serve chooses it), all sharing one
  Argon2id hash of P (default "seed password 1") made with the configured
  hash settings. Refuses if any of those addresses has an account.
`)
	return b.String()
}

// printVersion prints the module version recorded in the binary, and the
// Go version that built it.
func printVersion(stdout io.Writer) error {
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	_, err := fmt.Fprintf(stdout, "tacit %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

// printConfig prints c as a configuration file.
func printConfig(c Config, stdout io.Writer) error {
	text, err := c.YAML()
	if err != nil {
		return fmt.Errorf("print configuration: %w", err)
	}
	_, err = stdout.Write(text)
	return err
}

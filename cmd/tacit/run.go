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
		return withConfig(cmd, rest, getenv, stdout, stderr, nil, func(c Config) error {
			return serve(ctx, c, stderr)
		})
	case "migrate":
		return withConfig(cmd, rest, getenv, stdout, stderr, nil, func(c Config) error {
			return migrate(ctx, c, stdout)
		})
	case "migrate-data":
		opts, err := parseMigrateDataArgs(rest)
		if errors.Is(err, flag.ErrHelp) {
			return printHelp(cmd, stdout)
		}
		if err != nil {
			return err
		}
		return migrateData(ctx, opts, stdout, stderr)
	case "backup":
		path, flags := splitBackupArgs(rest)
		return withConfig(cmd, flags, getenv, stdout, stderr, nil, func(c Config) error {
			return backup(ctx, c, path, stdout)
		})
	case "seed":
		var o seedOptions
		return withConfig(cmd, rest, getenv, stdout, stderr, o.flags, func(c Config) error {
			return seed(ctx, c, o, stdout)
		})
	case "config":
		return withConfig(cmd, rest, getenv, stdout, stderr, nil, func(c Config) error {
			return printConfig(c, stdout)
		})
	case "scan":
		return runScan(ctx, rest, stdout, stderr)
	case "users":
		return runUsers(ctx, rest, getenv, stdout, stderr)
	case "clients":
		return runClients(ctx, rest, getenv, stdout, stderr)
	case "admin-tokens":
		return runAdminTokens(ctx, rest, getenv, stdout, stderr)
	case "keys":
		return runKeys(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-version":
		if err := noArgs("version", rest); err != nil {
			return helpOr("version", err, stdout)
		}
		return printVersion(stdout)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && cmd == "help" {
			if len(rest) > 1 {
				return usageError{fmt.Sprintf("help: unexpected argument %q", rest[1])}
			}
			if name := rest[0]; name != "-h" && name != "-help" && name != "--help" {
				return printHelp(name, stdout)
			}
			return printHelp("help", stdout)
		}
		fmt.Fprint(stdout, usage())
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q (run \"tacit help\" for usage)", cmd)}
}

// noArgs parses the arguments of a command that takes none but -h.
func noArgs(cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{fmt.Sprintf("%s: %s", cmd, err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", cmd, fs.Arg(0))}
	}
	return nil
}

// helpOr prints cmd's help if err is flag.ErrHelp, and returns err
// otherwise.
func helpOr(cmd string, err error, stdout io.Writer) error {
	if errors.Is(err, flag.ErrHelp) {
		return printHelp(cmd, stdout)
	}
	return err
}

// printHelp prints the help of the command called name: "tacit help
// name" and "tacit name --help" print the same.
func printHelp(name string, stdout io.Writer) error {
	if name == "scan" {
		_, err := fmt.Fprint(stdout, scanUsage)
		return err
	}
	c, ok := lookupCommand(name)
	if !ok {
		return usageError{fmt.Sprintf("help: unknown command %q (run \"tacit help\" for the list)", name)}
	}
	_, err := fmt.Fprint(stdout, c.help())
	return err
}

// withConfig loads the configuration for a command, whose own flags extra
// defines (nil for none), and runs it. -h prints the command's help
// instead. Unknown TACIT_* variables are warned about on stderr first.
func withConfig(cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer,
	extra func(*flag.FlagSet), do func(Config) error) error {
	c, err := loadWith(cmd, args, getenv, extra)
	if errors.Is(err, flag.ErrHelp) {
		return printHelp(cmd, stdout)
	}
	// After the flags, so that a mistyped command line is reported
	// alone; before any other error, which the typo may explain.
	var ue usageError
	if !errors.As(err, &ue) {
		warnUnknownEnv(getenv, stderr)
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
  backup         copy the SQLite database to a new file, while serving
  seed           fill the database with test accounts, for benchmarks
  scan           scan a web application for account enumeration ("tacit scan -h")
  users          list, show, disable, enable, delete accounts; end their sessions; mail reset links and invitations
  admin-tokens   add, list or remove the administration API's bearer tokens
  config         print the configuration in force as YAML (secrets masked)
  version        print the version ("tacit --version" too)
  help           print this help, or a command's ("tacit help serve")

Every command prints its own flags and examples with --help (-h).

Flags (every command that opens the database):
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
`)
	return b.String()
}

// printVersion prints the version line (see versionLine).
func printVersion(stdout io.Writer) error {
	bi, ok := debug.ReadBuildInfo()
	_, err := fmt.Fprintln(stdout, versionLine(bi, ok))
	return err
}

// versionLine says which tacit this is: the module version, the commit it
// was built from, that commit's time and whether the tree had uncommitted
// changes (from the build info that go build records), then the Go version
// and platform:
//
//	tacit v1.2.0 (rev 0123456789ab, 2026-12-07T04:00:00Z) go1.26.8 linux/amd64
//
// A build without VCS information (go run, go test, -buildvcs=false)
// leaves out the parenthesis; one without a module version says (devel).
func versionLine(bi *debug.BuildInfo, ok bool) string {
	version := "(devel)"
	var vcs []string
	if ok && bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		var rev, at string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" {
			vcs = append(vcs, "rev "+rev[:min(len(rev), 12)])
		}
		if at != "" {
			vcs = append(vcs, at)
		}
		if modified {
			vcs = append(vcs, "modified")
		}
	}
	line := "tacit " + version
	if len(vcs) > 0 {
		line += " (" + strings.Join(vcs, ", ") + ")"
	}
	return line + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
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

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// accountStatus is the exit status of a users command refused because of
// the account's state: no account, one already there, or a disabled one.
// A script can tell it from a failure (1) and a usage error (2).
const accountStatus = 3

// accountError is a users command refused because of the account's state.
type accountError struct{ err error }

func (e accountError) Error() string   { return e.err.Error() }
func (e accountError) Unwrap() error   { return e.err }
func (e accountError) exitStatus() int { return accountStatus }

// usersOptions are the flags of the users commands.
type usersOptions struct {
	json     bool
	yes      bool
	contains string
	state    string
	limit    int
	after    int64
}

// usersCommands are the users subcommands: whether each takes an
// address, and its own flags beyond --json.
var usersCommands = map[string]struct {
	address bool
	flags   func(*usersOptions, *flag.FlagSet)
}{
	"list": {flags: func(o *usersOptions, fs *flag.FlagSet) {
		fs.StringVar(&o.contains, "contains", "", "only addresses that contain this text")
		fs.StringVar(&o.state, "state", "", "only accounts in this state: active or disabled")
		fs.IntVar(&o.limit, "limit", 50, "the most accounts listed")
		fs.Int64Var(&o.after, "after", 0, "list the accounts whose ID is above this (the next page)")
	}},
	"show":         {address: true},
	"disable":      {address: true},
	"enable":       {address: true},
	"delete":       {address: true, flags: func(o *usersOptions, fs *flag.FlagSet) { fs.BoolVar(&o.yes, "yes", false, "really delete") }},
	"end-sessions": {address: true},
	"send-reset":   {address: true},
	"create":       {address: true},
}

// usersFlags defines every users flag, for the help.
func usersFlags(fs *flag.FlagSet) {
	configFlags(fs)
	o := new(usersOptions)
	o.flags(fs)
	for _, sub := range []string{"list", "delete"} {
		usersCommands[sub].flags(o, fs)
	}
}

// flags defines the flags every users subcommand takes.
func (o *usersOptions) flags(fs *flag.FlagSet) {
	fs.BoolVar(&o.json, "json", false, "print JSON instead of text")
}

// runUsers runs "tacit users SUBCOMMAND …".
func runUsers(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"users: no subcommand given (list, show, disable, enable, delete, end-sessions, send-reset, create; see tacit users --help)"}
	}
	sub := args[0]
	if sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		return printHelp("users", stdout)
	}
	spec, ok := usersCommands[sub]
	if !ok {
		return usageError{fmt.Sprintf("users: unknown subcommand %q (see tacit users --help)", sub)}
	}
	name := "users " + sub
	var o usersOptions
	extra := func(fs *flag.FlagSet) {
		o.flags(fs)
		if spec.flags != nil {
			spec.flags(&o, fs)
		}
	}
	maxArgs := 0
	if spec.address {
		maxArgs = 1
	}
	c, pos, err := loadArgs(name, args[1:], getenv, extra, maxArgs)
	if errors.Is(err, flag.ErrHelp) {
		return printHelp("users", stdout)
	}
	var ue usageError
	if !errors.As(err, &ue) {
		warnUnknownEnv(getenv, stderr)
	}
	if err != nil {
		return err
	}
	var email string
	if spec.address {
		if len(pos) == 0 {
			return usageError{fmt.Sprintf("%s: give the account's address (tacit %s ADDRESS)", name, name)}
		}
		email = pos[0]
	}
	if err := o.check(sub, email); err != nil {
		return err
	}
	u, err := openUsers(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer u.close(&err)
	err = u.run(ctx, sub, email, o, stdout)
	if errors.Is(err, flow.ErrNoAccount) || errors.Is(err, flow.ErrHasAccount) || errors.Is(err, flow.ErrAccountDisabled) {
		return accountError{fmt.Errorf("%s: %w", name, err)}
	}
	if errors.Is(err, flow.ErrBadAddress) {
		return usageError{fmt.Sprintf("%s: %v", name, err)}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, c.Database.redact(err))
	}
	return nil
}

// check refuses flags that make no sense, before the database is opened.
func (o *usersOptions) check(sub, email string) error {
	switch {
	case sub == "list" && o.limit < 1:
		return usageError{"users list: --limit must be a whole number ≥ 1"}
	case sub == "list" && o.after < 0:
		return usageError{"users list: --after must be an account ID ≥ 0"}
	case sub == "list" && o.state != "" && o.state != string(tacit.AccountActive) && o.state != string(tacit.AccountDisabled):
		return usageError{fmt.Sprintf("users list: --state must be active or disabled, got %q", o.state)}
	case sub == "delete" && !o.yes:
		return usageError{fmt.Sprintf("users delete: deleting the account of %s cannot be undone; add --yes to go ahead", email)}
	}
	return nil
}

// users is an open database with the operator's flows over it.
type users struct {
	db store
	op *flow.Operator
	c  Config
}

// openUsers opens the configured database, which must exist and be
// migrated: the users commands never create one, and run alongside a
// serve on the same database (they take no lock).
func openUsers(ctx context.Context, c Config) (*users, error) {
	if c.Database.Engine == engineSQLite {
		if _, err := os.Stat(c.Database.Path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s (tacit migrate or tacit serve creates it)", c.Database.Path)
		}
	}
	db, err := openStore(ctx, c)
	if err != nil {
		return nil, err
	}
	current, err := db.MigrationsCurrent(ctx)
	if err == nil && !current {
		err = fmt.Errorf("database %s is not up to date (run tacit migrate)", c.Database.Display())
	}
	if err != nil {
		db.Close()
		return nil, c.Database.redact(err)
	}
	op, err := flow.NewOperator(db, c.flowConfig(tacit.PasswordPolicy{}, tacit.Links{Base: c.BaseURL}, 0, nil))
	if err != nil {
		db.Close()
		return nil, err
	}
	return &users{db: db, op: op, c: c}, nil
}

// close closes the database, keeping the first error.
func (u *users) close(err *error) { closeStore(u.db, err) }

// run runs one subcommand.
func (u *users) run(ctx context.Context, sub, email string, o usersOptions, w io.Writer) error {
	switch sub {
	case "list":
		return u.list(ctx, o, w)
	case "show":
		info, events, err := u.op.Show(ctx, email, showEvents)
		if err != nil {
			return err
		}
		if o.json {
			return writeJSON(w, flow.ReportOf(info, events))
		}
		return writeInfo(w, info, events)
	case "disable", "enable":
		act := u.op.Disable
		if sub == "enable" {
			act = u.op.Enable
		}
		changed, err := act(ctx, email)
		if err != nil {
			return err
		}
		state := sub + "d"
		text := fmt.Sprintf("%s %s", state, tacit.NormalizeEmail(email))
		switch {
		case !changed:
			text = fmt.Sprintf("%s was %s already", tacit.NormalizeEmail(email), state)
		case sub == "disable":
			text += " (its sessions and mailed links ended)"
		}
		return printResult(w, o.json, text, map[string]any{"email": tacit.NormalizeEmail(email), "state": state, "changed": changed})
	case "delete":
		if err := u.op.Delete(ctx, email); err != nil {
			return err
		}
		return printResult(w, o.json, "deleted the account of "+tacit.NormalizeEmail(email)+" and everything tied to it",
			map[string]any{"email": tacit.NormalizeEmail(email), "deleted": true})
	case "end-sessions":
		n, err := u.op.EndSessions(ctx, email)
		if err != nil {
			return err
		}
		return printResult(w, o.json, fmt.Sprintf("ended %d %s of %s", n, plural(n, "session"), tacit.NormalizeEmail(email)),
			map[string]any{"email": tacit.NormalizeEmail(email), "sessions_ended": n})
	case "send-reset":
		if err := u.op.SendReset(ctx, email); err != nil {
			return err
		}
		return printResult(w, o.json, fmt.Sprintf("queued a password reset link to %s (valid %s)", tacit.NormalizeEmail(email), flow.FormatDuration(u.c.ResetTTL)),
			map[string]any{"email": tacit.NormalizeEmail(email), "queued": tacit.MailResetPassword})
	case "create":
		if err := u.op.Invite(ctx, email); err != nil {
			return err
		}
		return printResult(w, o.json, fmt.Sprintf("queued an invitation to %s: a link to choose a password, valid %s; the account exists once it is used", tacit.NormalizeEmail(email), flow.FormatDuration(u.c.SignupTTL)),
			map[string]any{"email": tacit.NormalizeEmail(email), "queued": tacit.MailFinishSignup})
	}
	return fmt.Errorf("unknown subcommand %q", sub)
}

// list prints one page of accounts, and how to get the next.
func (u *users) list(ctx context.Context, o usersOptions, w io.Writer) error {
	q := tacit.AccountQuery{Contains: o.contains, State: tacit.AccountState(o.state), After: o.after, Limit: o.limit}
	list, next, err := u.op.List(ctx, q)
	if err != nil {
		return err
	}
	if o.json {
		out := struct {
			Accounts []tacit.AccountInfo `json:"accounts"`
			Next     int64               `json:"next_after,omitempty"`
		}{list, next}
		if out.Accounts == nil {
			out.Accounts = []tacit.AccountInfo{}
		}
		return writeJSON(w, out)
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no accounts")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tSTATE\tMFA\tSESSIONS\tCREATED")
	for _, i := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", i.ID, i.Email, i.State, onOff(i.MFA), i.Sessions, stamp(i.CreatedAt))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != 0 {
		_, err = fmt.Fprintf(w, "more: tacit users list --after %d\n", next)
	}
	return err
}

// showEvents is how many of an account's newest events show prints.
const showEvents = 20

// writeInfo prints one account, and its newest events, for a person.
func writeInfo(w io.Writer, i tacit.AccountInfo, events []tacit.Event) error {
	mfa := "off"
	if i.MFA {
		mfa = fmt.Sprintf("on (%d recovery %s left)", i.RecoveryCodes, plural(i.RecoveryCodes, "code"))
	}
	sessions := strconv.Itoa(i.Sessions)
	if !i.LastSessionAt.IsZero() {
		sessions += ", the newest started " + stamp(i.LastSessionAt)
	}
	lastSignIn := "none recorded"
	if !i.LastSignInAt.IsZero() {
		lastSignIn = stamp(i.LastSignInAt)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range [][2]string{
		{"email", i.Email}, {"id", strconv.FormatInt(i.ID, 10)}, {"state", string(i.State)},
		{"created", stamp(i.CreatedAt)}, {"last sign-in", lastSignIn}, {"two-step sign-in", mfa}, {"sessions", sessions},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(events) == 0 {
		_, err := fmt.Fprintln(w, "activity: none kept")
		return err
	}
	fmt.Fprintln(w, "activity (newest first):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range events {
		what := string(e.Kind)
		if e.Count > 0 {
			what += fmt.Sprintf(" (after %d failed)", e.Count)
		}
		if e.Kind == tacit.EventAdminAPI {
			what += fmt.Sprintf(" (token %s: %s, %s)", e.Actor, e.Operation, e.Outcome)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", stamp(e.At), what, e.IP, e.UserAgent)
	}
	return tw.Flush()
}

// printResult prints what a change did: text, or v as JSON.
func printResult(w io.Writer, asJSON bool, text string, v any) error {
	if asJSON {
		return writeJSON(w, v)
	}
	_, err := fmt.Fprintln(w, text)
	return err
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// stamp writes a time for the operator: UTC, to the second.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

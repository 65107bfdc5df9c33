package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/tacitauth/tacit/internal/sqlstore"
)

// copyBatch is how many rows migrate-data writes per transaction of the
// target: enough that commits do not dominate, few enough that no
// transaction grows large.
const copyBatch = 500

// copyProgressEvery is how many accounts pass between progress lines.
const copyProgressEvery = 10_000

// copiedTables and droppedTables are the tables migrate-data copies, with
// the columns it carries over, and those it leaves behind, with what the
// summary says of them (see sqlstore.Copy).
var (
	copiedTables  = sqlstore.CopiedTables
	droppedTables = sqlstore.DroppedTables
)

// migrateDataOptions are the arguments of migrate-data.
type migrateDataOptions struct {
	from, to Database
	sessions bool
	// batch is how many rows go into one transaction of the target;
	// progressEvery how many accounts pass between progress lines.
	batch, progressEvery int
}

// migrateDataFlags defines migrate-data's flags on fs.
func migrateDataFlags(fs *flag.FlagSet) (from, to *string, sessions *bool) {
	from = fs.String("from", "", "database URL to copy from")
	to = fs.String("to", "", "database URL to copy into")
	sessions = fs.Bool("sessions", true, "copy live sessions too")
	return from, to, sessions
}

// parseMigrateDataArgs reads migrate-data's flags. flag.ErrHelp means -h.
func parseMigrateDataArgs(args []string) (migrateDataOptions, error) {
	fs := flag.NewFlagSet("migrate-data", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by the caller
	from, to, sessions := migrateDataFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return migrateDataOptions{}, err
		}
		return migrateDataOptions{}, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return migrateDataOptions{}, usageError{fmt.Sprintf("migrate-data: unexpected argument %q", fs.Arg(0))}
	}
	opts := migrateDataOptions{sessions: *sessions, batch: copyBatch, progressEvery: copyProgressEvery}
	for _, f := range []struct {
		name  string
		value string
		dst   *Database
	}{{"--from", *from, &opts.from}, {"--to", *to, &opts.to}} {
		if f.value == "" {
			return migrateDataOptions{}, usageError{fmt.Sprintf("migrate-data: %s is required: a database URL such as %s", f.name, databaseURLExample)}
		}
		d, err := parseDatabaseURL(f.value)
		if err != nil {
			return migrateDataOptions{}, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = d
	}
	return opts, nil
}

// migrateData copies every account, with its authenticator and recovery
// codes, and, if asked, every live session from one database into another
// that has none. It reads the source in one read-only snapshot and writes
// the target through tacit.Store, so either engine works on either side.
// Account IDs may change; what belongs to an account follows it to its new
// ID.
func migrateData(ctx context.Context, opts migrateDataOptions, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	// The secrets (TOTP, signing keys) are opened with the source's key
	// and sealed again under the target's and the accounts' new IDs.
	srcKeys, dstConfig, err := copyKeys(getenv, opts.from, opts.to)
	if err != nil {
		return err
	}
	// Servers on either side must be stopped (a session or sign-up made
	// during the copy would be lost): a SQLite file a serve holds is
	// refused. The same file on both sides is locked once, and then
	// refused by checkNoAccounts, or copies nothing.
	from, err := lockDatabase(opts.from, "--from", "migrate-data")
	if err != nil {
		return err
	}
	defer from.release()
	if opts.to.Engine != engineSQLite || filepath.Clean(opts.to.Path) != filepath.Clean(opts.from.Path) {
		to, err := lockDatabase(opts.to, "--to", "migrate-data")
		if err != nil {
			return err
		}
		defer to.release()
	}
	src, err := openSnapshot(ctx, opts.from, "--from")
	if err != nil {
		return err
	}
	defer closeSnapshot(src, opts.from, "--from", &err)
	src.SetKeys(srcKeys)
	if err := checkSchema(ctx, src, opts.from); err != nil {
		return err
	}
	if err := checkSourceKeys(ctx, src, srcKeys, opts.from, getenv); err != nil {
		return err
	}
	dst, err := openDatabase(ctx, opts.to, "--to")
	if err != nil {
		return err
	}
	defer closeStore(dst, &err)
	if err := migrateStore(ctx, dst, opts.to, stdout); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if err := checkKeyFile(ctx, dst, dstConfig); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	dstKeys, err := dstConfig.sealKeys()
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	dst.SetKeys(dstKeys)
	// Refuses a target whose secrets another key sealed, before the copy.
	if _, err := sealStore(ctx, dst, dstConfig); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if err := checkNoAccounts(ctx, opts.to); err != nil {
		return err
	}

	now := time.Now()
	next := opts.progressEvery
	n, err := sqlstore.Copy(ctx, src, dst, sqlstore.CopyOptions{
		Sessions: opts.sessions,
		Now:      now,
		Batch:    opts.batch,
		Progress: func(accounts int) error {
			for ; accounts >= next; next += opts.progressEvery {
				if _, err := fmt.Fprintf(stdout, "copied %d accounts so far\n", next); err != nil {
					return err
				}
			}
			return nil
		},
		Source: opts.from.redact,
		Target: opts.to.redact,
	})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "copied %d accounts, %d authenticators (%d on), %d recovery codes, %d passkeys and %d sessions\n",
		n.Accounts, n.TOTP, n.TOTPOn, n.Codes, n.Passkeys, n.Sessions); err != nil {
		return err
	}
	if n.Keys+n.Subjects+n.Clients+n.Consents+n.Grants > 0 {
		if _, err := fmt.Fprintf(stdout, "copied OpenID Connect: %d signing keys, %d subject ids, %d clients, %d consents and %d grants\n",
			n.Keys, n.Subjects, n.Clients, n.Consents, n.Grants); err != nil {
			return err
		}
	}
	if n.AdminTokens > 0 {
		if _, err := fmt.Fprintf(stdout, "copied %d admin tokens\n", n.AdminTokens); err != nil {
			return err
		}
	}
	return reportNotCopied(ctx, src, opts, now, stdout, stderr)
}

// checkNoAccounts refuses a target that already has accounts: copying
// into it could meet an address twice, and would mix two user bases.
func checkNoAccounts(ctx context.Context, d Database) (err error) {
	s, err := openSnapshot(ctx, d, "--to")
	if err != nil {
		return err
	}
	defer closeSnapshot(s, d, "--to", &err)
	n, err := s.Accounts(ctx)
	if err != nil {
		return fmt.Errorf("--to: count accounts: %w", d.redact(err))
	}
	if n > 0 {
		return fmt.Errorf("--to: database %s already holds %d accounts; migrate-data copies only into a database without accounts", d.Display(), n)
	}
	return nil
}

// reportNotCopied names each table left behind in the source and says
// what that means, and warns about queued mail, which will now never be
// sent.
func reportNotCopied(ctx context.Context, src *sqlstore.Snapshot, opts migrateDataOptions, now time.Time, stdout, stderr io.Writer) error {
	signups, err := src.LiveSignups(ctx, now)
	if err != nil {
		return fmt.Errorf("--from: count sign-ups: %w", opts.from.redact(err))
	}
	mails, err := src.QueuedMail(ctx)
	if err != nil {
		return fmt.Errorf("--from: count queued mail: %w", opts.from.redact(err))
	}
	for _, d := range droppedTables {
		what := d.What
		if d.Name == "signups" {
			what = fmt.Sprintf("%d %s", signups, what)
		}
		if _, err := fmt.Fprintf(stdout, "not copied: %s (%s)\n", d.Name, what); err != nil {
			return err
		}
	}
	if !opts.sessions {
		if _, err := fmt.Fprintln(stdout, "not copied: sessions (--sessions=false); every user signs in again"); err != nil {
			return err
		}
	}
	if mails > 0 {
		_, err = fmt.Fprintf(stderr, "warning: %d mails queued in the source were not delivered and are not copied; they will not be sent\n", mails)
	}
	return err
}

// checkSchema refuses a source with a table, or a column of a copied table,
// that this version does not know (say, from a newer tacit): migrate-data
// cannot tell whether leaving it behind leaves an account less protected.
// A copied table or column the source lacks means an older schema.
func checkSchema(ctx context.Context, src *sqlstore.Snapshot, from Database) error {
	schema, err := src.Columns(ctx)
	if err != nil {
		return fmt.Errorf("--from: read the schema: %w", from.redact(err))
	}
	const unknown = "--from: %s is not one this tacit knows, so migrate-data cannot tell whether it holds what protects an account; copy with the tacit version that made it"
	for _, table := range slices.Sorted(maps.Keys(schema)) {
		copied, ok := copiedTables[table]
		if _, own := sqlstore.SchemaTables[table]; own {
			continue
		}
		if !ok {
			if !slices.ContainsFunc(droppedTables, func(d sqlstore.DroppedTable) bool { return d.Name == table }) {
				return fmt.Errorf(unknown, "table "+table)
			}
			continue
		}
		for _, col := range schema[table] {
			if !slices.Contains(copied, col) {
				return fmt.Errorf(unknown, "column "+table+"."+col)
			}
		}
	}
	for _, table := range slices.Sorted(maps.Keys(copiedTables)) {
		for _, col := range copiedTables[table] {
			if !slices.Contains(schema[table], col) {
				return fmt.Errorf("--from: the schema lacks %s.%s, so it is older than this tacit; run tacit migrate on it first", table, col)
			}
		}
	}
	return nil
}

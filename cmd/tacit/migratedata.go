package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/tacitauth/tacit"
)

// copyBatch is how many rows migrate-data writes per transaction of the
// target: enough that commits do not dominate, few enough that no
// transaction grows large.
const copyBatch = 500

// copyProgressEvery is how many accounts pass between progress lines.
const copyProgressEvery = 10_000

// copiedTables are the tables migrate-data copies, with the columns it
// carries over: each account and everything that decides how it signs in
// (its authenticator, the last step used, its recovery codes), and its
// sessions. IDs change; every row follows its account to the new one.
var copiedTables = map[string][]string{
	"accounts":       {"id", "email", "password_hash", "created_at", "disabled"},
	"totp":           {"account_id", "secret", "enabled", "last_step", "created_at", "failures"},
	"recovery_codes": {"account_id", "code_hash"},
	"sessions":       {"id", "account_id", "token_hash", "created_at", "last_seen_at", "expires_at", "user_agent", "ip"},
}

// droppedTable is a table migrate-data leaves behind on purpose, and what
// the summary says of it.
type droppedTable struct{ name, what string }

// droppedTables are the tables migrate-data leaves behind, in the order the
// summary names them. None of them protects an account: each is work in
// progress that its user starts again, or the server's own bookkeeping.
// Leaving behind a pending address change, reset or second step makes it
// fail, never succeed. A table in the source that is neither here nor in
// copiedTables stops migrate-data (checkSchema): it may be the next
// passkeys table, and forgetting it would quietly weaken the accounts.
var droppedTables = []droppedTable{
	{"signups", "pending sign-ups; those users sign up again"}, // prefixed with the count
	{"reset_tokens", "password reset links; their owners ask again"},
	{"email_changes", "address change links; those addresses stay as they were"},
	{"mfa_challenges", "sign-ins waiting for their second step; those users sign in again"},
	{"counters", "throttle counters; every limit starts afresh"},
	{"secrets", "the throttle counters' key; the target makes its own"},
	{"outbox", "mail, sent or queued"},
	{"dev_mailbox", "mail captured by the dev mail driver"},
}

// The reads migrate-data makes of the source (see snapshot). Accounts are
// read a batch at a time, in ID order, so that the second factors of each
// batch can be read next and written in the same transaction as their
// accounts: the target never holds an account without its second factor,
// even if the copy stops half way.
const (
	selectAccounts = `SELECT id, email, password_hash, created_at, disabled FROM accounts
		WHERE id > $1 ORDER BY id LIMIT $2`
	selectTOTP = `SELECT account_id, secret, enabled, last_step, created_at, failures FROM totp
		WHERE account_id BETWEEN $1 AND $2 ORDER BY account_id`
	selectRecoveryCodes = `SELECT account_id, code_hash FROM recovery_codes
		WHERE account_id BETWEEN $1 AND $2 ORDER BY account_id, code_hash`
	selectSessions = `SELECT id, account_id, token_hash, created_at, last_seen_at, expires_at, user_agent, ip
		FROM sessions WHERE expires_at > $1 ORDER BY id`
	countAccounts        = `SELECT count(*) FROM accounts`
	countLiveSignups     = `SELECT count(*) FROM signups WHERE expires_at > $1`
	countUndeliveredMail = `SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`
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
func migrateData(ctx context.Context, opts migrateDataOptions, stdout, stderr io.Writer) (err error) {
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
	defer func() {
		if cerr := src.close(); cerr != nil && err == nil {
			err = fmt.Errorf("--from: close: %w", opts.from.redact(cerr))
		}
	}()
	if err := checkSchema(ctx, src, opts.from); err != nil {
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
	if err := checkNoAccounts(ctx, opts.to); err != nil {
		return err
	}

	now := time.Now()
	c := &copier{src: src, dst: dst, opts: opts, stdout: stdout, ids: map[int64]int64{}}
	if err := c.copyAccounts(ctx); err != nil {
		return err
	}
	sessions := 0
	if opts.sessions {
		if sessions, err = c.copySessions(ctx, now); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(stdout, "copied %d accounts, %d authenticators (%d on), %d recovery codes and %d sessions\n",
		len(c.ids), c.totp, c.totpOn, c.codes, sessions); err != nil {
		return err
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
	defer func() {
		if cerr := s.close(); cerr != nil && err == nil {
			err = fmt.Errorf("--to: close: %w", d.redact(cerr))
		}
	}()
	n, err := s.count(ctx, countAccounts)
	if err != nil {
		return fmt.Errorf("--to: count accounts: %w", d.redact(err))
	}
	if n > 0 {
		return fmt.Errorf("--to: database %s already holds %d accounts; migrate-data copies only into a database without accounts", d.Display(), n)
	}
	return nil
}

// copier writes what it reads from a source snapshot into a target store,
// in batches of opts.batch rows per transaction.
type copier struct {
	src    *snapshot
	dst    store
	opts   migrateDataOptions
	stdout io.Writer
	ids    map[int64]int64 // source account ID → target account ID
	// What was copied besides accounts: authenticators, those of them
	// on, recovery codes.
	totp, totpOn, codes int
}

// accountBatch is one batch of accounts read from the source, in ID
// order, with their authenticators and recovery codes (by source ID).
type accountBatch struct {
	accounts []tacit.Account
	totp     []tacit.TOTP
	codes    map[int64][][]byte
}

// copyAccounts copies every account, keeping its address, password hash,
// creation time and disabled flag, together with its authenticator (secret,
// whether on, the last step used, creation time) and recovery codes, and
// prints progress.
func (c *copier) copyAccounts(ctx context.Context) error {
	next := c.opts.progressEvery
	after := int64(math.MinInt64)
	for {
		b, err := c.readAccounts(ctx, after)
		if err != nil {
			return fmt.Errorf("copy accounts: %w", c.opts.from.redact(err))
		}
		if len(b.accounts) == 0 {
			return nil
		}
		if err := c.writeAccounts(ctx, b); err != nil {
			return fmt.Errorf("copy accounts: %w", err)
		}
		for ; len(c.ids) >= next; next += c.opts.progressEvery {
			if _, err := fmt.Fprintf(c.stdout, "copied %d accounts so far\n", next); err != nil {
				return err
			}
		}
		after = b.accounts[len(b.accounts)-1].ID
	}
}

// readAccounts reads the batch of accounts whose IDs follow after, and
// their second factors.
func (c *copier) readAccounts(ctx context.Context, after int64) (accountBatch, error) {
	b := accountBatch{codes: map[int64][][]byte{}}
	err := c.src.each(ctx, selectAccounts, []any{after, c.opts.batch}, func(scan func(...any) error) error {
		var a tacit.Account
		var created int64
		if err := scan(&a.ID, &a.Email, &a.PasswordHash, &created, &a.Disabled); err != nil {
			return fmt.Errorf("read account: %w", err)
		}
		a.CreatedAt = fromMicros(created)
		b.accounts = append(b.accounts, a)
		return nil
	})
	if err != nil || len(b.accounts) == 0 {
		return b, err
	}
	first, last := b.accounts[0].ID, b.accounts[len(b.accounts)-1].ID
	err = c.src.each(ctx, selectTOTP, []any{first, last}, func(scan func(...any) error) error {
		var o tacit.TOTP
		var created int64
		if err := scan(&o.AccountID, &o.Secret, &o.Enabled, &o.LastStep, &created, &o.Failures); err != nil {
			return fmt.Errorf("read authenticator: %w", err)
		}
		o.CreatedAt = fromMicros(created)
		b.totp = append(b.totp, o)
		return nil
	})
	if err != nil {
		return b, err
	}
	err = c.src.each(ctx, selectRecoveryCodes, []any{first, last}, func(scan func(...any) error) error {
		var id int64
		var h []byte
		if err := scan(&id, &h); err != nil {
			return fmt.Errorf("read recovery code: %w", err)
		}
		b.codes[id] = append(b.codes[id], h)
		return nil
	})
	return b, err
}

// writeAccounts creates one batch of accounts, with their authenticators
// and recovery codes under their new IDs, in one transaction, and records
// the new IDs.
func (c *copier) writeAccounts(ctx context.Context, b accountBatch) error {
	newIDs := make(map[int64]int64, len(b.accounts))
	codes := 0
	err := c.dst.Update(ctx, func(tx tacit.Tx) error {
		clear(newIDs) // in case the store runs fn again
		codes = 0
		for _, a := range b.accounts {
			old := a.ID
			a.ID = 0
			err := tx.CreateAccount(ctx, &a)
			if errors.Is(err, tacit.ErrConflict) {
				return fmt.Errorf("%s already has an account in the target", a.Email)
			}
			if err != nil {
				return err
			}
			newIDs[old] = a.ID
		}
		// The snapshot saw the accounts of these rows (the schema's
		// foreign keys), in this batch's ID range.
		for _, o := range b.totp {
			id, ok := newIDs[o.AccountID]
			if !ok {
				return fmt.Errorf("authenticator of account %d, which is not in the source", o.AccountID)
			}
			o.AccountID = id
			if err := tx.SaveTOTP(ctx, o); err != nil {
				return err
			}
		}
		for _, a := range b.accounts {
			hashes := b.codes[a.ID]
			if len(hashes) == 0 {
				continue
			}
			if err := tx.SetRecoveryCodes(ctx, newIDs[a.ID], hashes); err != nil {
				return err
			}
			codes += len(hashes)
		}
		if codes != countCodes(b.codes) {
			return errors.New("recovery codes of accounts that are not in the source")
		}
		return nil
	})
	if err != nil {
		return c.opts.to.redact(err)
	}
	for old, id := range newIDs {
		c.ids[old] = id
	}
	for _, o := range b.totp {
		c.totp++
		if o.Enabled {
			c.totpOn++
		}
	}
	c.codes += codes
	return nil
}

// countCodes counts the recovery codes of a batch.
func countCodes(codes map[int64][][]byte) int {
	n := 0
	for _, hs := range codes {
		n += len(hs)
	}
	return n
}

// copySessions copies the sessions that have not reached their absolute
// expiry, tokens (stored hashed) and all, so that signed-in users stay
// signed in. The server still applies idle expiry to them.
func (c *copier) copySessions(ctx context.Context, now time.Time) (int, error) {
	batch := make([]tacit.Session, 0, c.opts.batch)
	copied := 0
	flush := func() error {
		err := c.dst.Update(ctx, func(tx tacit.Tx) error {
			for _, s := range batch {
				if err := tx.CreateSession(ctx, &s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return c.opts.to.redact(err)
		}
		copied += len(batch)
		batch = batch[:0]
		return nil
	}
	err := c.src.each(ctx, selectSessions, []any{now.UnixMicro()}, func(scan func(...any) error) error {
		var s tacit.Session
		var created, seen, expires int64
		err := scan(&s.ID, &s.AccountID, &s.TokenHash, &created, &seen, &expires, &s.UserAgent, &s.IP)
		if err != nil {
			return fmt.Errorf("read session: %w", err)
		}
		// The snapshot saw every account of these sessions, so each
		// has been copied.
		id, ok := c.ids[s.AccountID]
		if !ok {
			return fmt.Errorf("session %d belongs to account %d, which is not in the source", s.ID, s.AccountID)
		}
		s.ID, s.AccountID = 0, id
		s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
		batch = append(batch, s)
		if len(batch) < c.opts.batch {
			return nil
		}
		return flush()
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return copied, fmt.Errorf("copy sessions: %w", err)
	}
	return copied, nil
}

// reportNotCopied names each table left behind in the source and says
// what that means, and warns about queued mail, which will now never be
// sent.
func reportNotCopied(ctx context.Context, src *snapshot, opts migrateDataOptions, now time.Time, stdout, stderr io.Writer) error {
	signups, err := src.count(ctx, countLiveSignups, now.UnixMicro())
	if err != nil {
		return fmt.Errorf("--from: count sign-ups: %w", opts.from.redact(err))
	}
	mails, err := src.count(ctx, countUndeliveredMail)
	if err != nil {
		return fmt.Errorf("--from: count queued mail: %w", opts.from.redact(err))
	}
	for _, d := range droppedTables {
		what := d.what
		if d.name == "signups" {
			what = fmt.Sprintf("%d %s", signups, what)
		}
		if _, err := fmt.Fprintf(stdout, "not copied: %s (%s)\n", d.name, what); err != nil {
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
func checkSchema(ctx context.Context, src *snapshot, from Database) error {
	schema, err := src.columns(ctx)
	if err != nil {
		return fmt.Errorf("--from: read the schema: %w", from.redact(err))
	}
	const unknown = "--from: %s is not one this tacit knows, so migrate-data cannot tell whether it holds what protects an account; copy with the tacit version that made it"
	for _, table := range slices.Sorted(maps.Keys(schema)) {
		copied, ok := copiedTables[table]
		if !ok {
			if !slices.ContainsFunc(droppedTables, func(d droppedTable) bool { return d.name == table }) {
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

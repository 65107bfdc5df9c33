package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tacitauth/tacit"
)

// copyBatch is how many rows migrate-data writes per transaction of the
// target: enough that commits do not dominate, few enough that no
// transaction grows large.
const copyBatch = 500

// copyProgressEvery is how many accounts pass between progress lines.
const copyProgressEvery = 10_000

// The reads migrate-data makes of the source (see snapshot).
const (
	selectAccounts = `SELECT id, email, password_hash, created_at, disabled FROM accounts ORDER BY id`
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

// parseMigrateDataArgs reads migrate-data's flags. flag.ErrHelp means -h.
func parseMigrateDataArgs(args []string) (migrateDataOptions, error) {
	fs := flag.NewFlagSet("migrate-data", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by the caller
	from := fs.String("from", "", "database URL to copy from")
	to := fs.String("to", "", "database URL to copy into")
	sessions := fs.Bool("sessions", true, "copy live sessions too")
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

// migrateData copies every account and, if asked, every live session from
// one database into another that has none. It reads the source in one
// read-only snapshot and writes the target through tacit.Store, so either
// engine works on either side. Account IDs may change; sessions follow
// their accounts to the new IDs.
func migrateData(ctx context.Context, opts migrateDataOptions, stdout, stderr io.Writer) (err error) {
	src, err := openSnapshot(ctx, opts.from, "--from")
	if err != nil {
		return err
	}
	defer func() {
		if cerr := src.close(); cerr != nil && err == nil {
			err = fmt.Errorf("--from: close: %w", opts.from.redact(cerr))
		}
	}()
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
	if _, err := fmt.Fprintf(stdout, "copied %d accounts and %d sessions\n", len(c.ids), sessions); err != nil {
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
}

// copyAccounts copies every account, keeping its address, password hash,
// creation time and disabled flag, and prints progress.
func (c *copier) copyAccounts(ctx context.Context) error {
	batch := make([]tacit.Account, 0, c.opts.batch)
	next := c.opts.progressEvery
	flush := func() error {
		if err := c.writeAccounts(ctx, batch); err != nil {
			return err
		}
		batch = batch[:0]
		for ; len(c.ids) >= next; next += c.opts.progressEvery {
			if _, err := fmt.Fprintf(c.stdout, "copied %d accounts so far\n", next); err != nil {
				return err
			}
		}
		return nil
	}
	err := c.src.each(ctx, selectAccounts, nil, func(scan func(...any) error) error {
		var a tacit.Account
		var created int64
		if err := scan(&a.ID, &a.Email, &a.PasswordHash, &created, &a.Disabled); err != nil {
			return fmt.Errorf("read account: %w", err)
		}
		a.CreatedAt = fromMicros(created)
		batch = append(batch, a)
		if len(batch) < c.opts.batch {
			return nil
		}
		return flush()
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("copy accounts: %w", err)
	}
	return nil
}

// writeAccounts creates one batch of accounts in one transaction and
// records their new IDs.
func (c *copier) writeAccounts(ctx context.Context, batch []tacit.Account) error {
	newIDs := make([]int64, len(batch))
	err := c.dst.Update(ctx, func(tx tacit.Tx) error {
		for i, a := range batch {
			a.ID = 0
			err := tx.CreateAccount(ctx, &a)
			if errors.Is(err, tacit.ErrConflict) {
				return fmt.Errorf("%s already has an account in the target", a.Email)
			}
			if err != nil {
				return err
			}
			newIDs[i] = a.ID
		}
		return nil
	})
	if err != nil {
		return c.opts.to.redact(err)
	}
	for i, a := range batch {
		c.ids[a.ID] = newIDs[i]
	}
	return nil
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

// reportNotCopied says what stays behind in the source, and warns about
// queued mail, which will now never be sent.
func reportNotCopied(ctx context.Context, src *snapshot, opts migrateDataOptions, now time.Time, stdout, stderr io.Writer) error {
	signups, err := src.count(ctx, countLiveSignups, now.UnixMicro())
	if err != nil {
		return fmt.Errorf("--from: count sign-ups: %w", opts.from.redact(err))
	}
	mails, err := src.count(ctx, countUndeliveredMail)
	if err != nil {
		return fmt.Errorf("--from: count queued mail: %w", opts.from.redact(err))
	}
	notCopied := "not copied: %d pending sign-ups (those users sign up again), reset and email-change links, throttle counters, the outbox and the dev mailbox\n"
	if _, err := fmt.Fprintf(stdout, notCopied, signups); err != nil {
		return err
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

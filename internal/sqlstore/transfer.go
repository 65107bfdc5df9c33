package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/seal"
)

// CopiedTables are the tables Copy carries over, with their columns: each
// account and everything that decides how it signs in (its authenticator,
// the last step used, its recovery codes, its passkeys), its activity, and its sessions. IDs change;
// every row follows its account to the new one.
var CopiedTables = map[string][]string{
	"accounts":       {"id", "email", "password_hash", "created_at", "disabled"},
	"totp":           {"account_id", "secret", "enabled", "last_step", "created_at", "failures"},
	"recovery_codes": {"account_id", "code_hash"},
	"passkeys": {"id", "account_id", "credential_id", "user_handle", "name", "credential", "sign_count",
		"backup_eligible", "backup_state", "created_at", "last_used_at"},
	"sessions": {"id", "account_id", "token_hash", "created_at", "last_seen_at", "expires_at", "user_agent", "ip", "method"},
	"events":   {"id", "account_id", "kind", "at", "ip", "user_agent", "count", "actor", "operation", "outcome"},
	// OpenID Connect: the signing keys (so tokens already issued stay
	// verifiable), each account's subject id (so relying parties still
	// know the account), the clients, the consents, and with the
	// sessions the live grants (so signed-in apps stay signed in).
	"oidc_keys":     {"id", "algorithm", "private_key", "created_at", "retired_at"},
	"oidc_subjects": {"account_id", "subject"},
	"oidc_clients":  {"id", "name", "secret_hash", "redirect_uris", "post_logout_redirect_uris", "first_party", "id_token_alg", "created_at"},
	"oidc_consents": {"account_id", "client_id", "scopes", "created_at"},
	"oidc_grants": {"id", "account_id", "client_id", "scopes", "auth_time", "password_stamp", "refresh_hash",
		"access_hash", "access_expires_at", "created_at", "expires_at"},
	// The administration API's tokens (stored hashed), so that the
	// operators' tools keep working against the copy.
	"admin_tokens": {"id", "name", "scope", "secret_hash", "created_at", "last_used_at"},
}

// DroppedTable is a table Copy leaves behind on purpose, and what that
// means for the users of the copy.
type DroppedTable struct{ Name, What string }

// DroppedTables are the tables Copy leaves behind, in the order a summary
// names them. None of them protects an account: each is work in progress
// that its user starts again, or the server's own bookkeeping. Leaving
// behind a pending address change, reset or second step makes it fail,
// never succeed. A table of the schema that is neither here nor in
// CopiedTables must stop a copy (see Snapshot.Columns): it may be the
// next passkeys table, and forgetting it would quietly weaken the
// accounts.
var DroppedTables = []DroppedTable{
	{"signups", "pending sign-ups; those users sign up again"},
	{"reset_tokens", "password reset links; their owners ask again"},
	{"email_changes", "address change links; those addresses stay as they were"},
	{"mfa_challenges", "sign-ins waiting for their second step; those users sign in again"},
	{"oidc_auth_requests", "OpenID Connect sign-ins in progress and unexchanged codes; those apps sign in again"},
	{"passkey_challenges", "passkey ceremonies waiting for a browser; those users try again"},
	{"counters", "throttle counters; every limit starts afresh"},
	{"spent_proofs", "solved bot checks; their challenges expire within minutes"},
	{"secrets", "the throttle counters' key; the target makes its own"},
	{"outbox", "mail, sent or queued"},
	{"dev_mailbox", "mail captured by the dev mail driver"},
	{"account_ids", "the highest ID of a deleted account; the copy numbers accounts afresh"},
}

// SchemaTables are the tables a database's migrations make and fill
// itself, which hold nothing of any account: Copy neither carries nor
// empties them, and the target keeps its own.
var SchemaTables = map[string]string{
	"revocations": "the revocation generation that session caches poll",
}

// Snapshot is one read-only transaction over a whole database, for the
// reads that tacit.Store does not offer because only the maintenance
// commands need them: listing every account with its second factors and
// sessions, counting rows, and listing the schema. Everything read through
// it is one consistent state of the database.
type Snapshot struct {
	q       Querier
	dialect *Dialect
	close   func() error
	keys    *seal.Keys
}

// SetKeys gives the snapshot the keys that open its sealed secrets, which
// Copy reads in the clear and the target seals again under its own key
// and its own account IDs (see Store.SetKeys).
func (s *Snapshot) SetKeys(keys *seal.Keys) { s.keys = keys }

// NewSnapshot returns the snapshot of q, a read-only transaction of an
// engine with dialect d; close ends it.
func NewSnapshot(q Querier, d *Dialect, close func() error) *Snapshot {
	return &Snapshot{q: q, dialect: d, close: close}
}

// Close ends the snapshot's transaction and closes what it ran on.
func (s *Snapshot) Close() error { return s.close() }

// Columns returns the database's tables, each with its columns, as its
// schema lists them; the migration runner's table is left out.
func (s *Snapshot) Columns(ctx context.Context) (map[string][]string, error) {
	return columns(ctx, s.q, s.dialect)
}

// Columns returns the database's tables, each with its columns, as its
// schema lists them; the migration runner's table is left out. The store
// test suite checks with it that deleting an account leaves no row of it
// in any table.
func (s *Store) Columns(ctx context.Context) (map[string][]string, error) {
	return columns(ctx, s.Engine.Reader(), s.Dialect)
}

// columns reads the schema's tables and columns through q.
func columns(ctx context.Context, q Querier, d *Dialect) (map[string][]string, error) {
	out := map[string][]string{}
	_, err := collect(ctx, q, func(row Row) (struct{}, error) {
		var table, column string
		err := row.Scan(&table, &column)
		out[table] = append(out[table], column)
		return struct{}{}, err
	}, d.Columns)
	return out, err
}

// count runs a query that returns one number.
func (s *Snapshot) count(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := s.q.QueryRow(ctx, query, args...).Scan(&n)
	return n, err
}

// Rows counts the rows of table, a name from Columns (never input).
func (s *Snapshot) Rows(ctx context.Context, table string) (int64, error) {
	return s.count(ctx, `SELECT count(*) FROM `+table)
}

// Accounts counts the accounts.
func (s *Snapshot) Accounts(ctx context.Context) (int64, error) {
	return s.Rows(ctx, "accounts")
}

// LiveSignups counts the sign-ups that have not expired at now.
func (s *Snapshot) LiveSignups(ctx context.Context, now time.Time) (int64, error) {
	return s.count(ctx, `SELECT count(*) FROM signups WHERE expires_at > $1`, Micros(now))
}

// QueuedMail counts the mails neither delivered nor given up.
func (s *Snapshot) QueuedMail(ctx context.Context) (int64, error) {
	return s.count(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`)
}

// EmailsLike calls fn with each account address that matches the LIKE
// pattern like, in which \ escapes. SQLite matches without regard to
// ASCII case, so the caller must check what it is given.
func (s *Snapshot) EmailsLike(ctx context.Context, like string, fn func(email string) error) error {
	_, err := collect(ctx, s.q, func(row Row) (struct{}, error) {
		var email string
		if err := row.Scan(&email); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, fn(email)
	}, `SELECT email FROM accounts WHERE email LIKE $1 ESCAPE '\'`, like)
	return err
}

// accountBatch is one batch of accounts read from a snapshot, in ID
// order, with their authenticators and recovery codes (by source ID).
type accountBatch struct {
	accounts []tacit.Account
	totp     []tacit.TOTP
	codes    map[int64][][]byte
	events   []tacit.Event
	passkeys []tacit.Passkey
}

// readAccounts reads the batch of up to limit accounts whose IDs follow
// after, in ID order, and their second factors: so that a batch's second
// factors can be written in the same transaction as their accounts, and
// the target never holds an account without its second factor, even if
// the copy stops half way.
func (s *Snapshot) readAccounts(ctx context.Context, after int64, limit int) (accountBatch, error) {
	b := accountBatch{codes: map[int64][][]byte{}}
	var err error
	b.accounts, err = collect(ctx, s.q, func(row Row) (tacit.Account, error) {
		a, err := scanAccount(row)
		if err != nil {
			return a, fmt.Errorf("read account: %w", err)
		}
		return a, nil
	}, `SELECT `+accountColumns+` FROM accounts WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil || len(b.accounts) == 0 {
		return b, err
	}
	first, last := b.accounts[0].ID, b.accounts[len(b.accounts)-1].ID
	b.totp, err = collect(ctx, s.q, func(row Row) (tacit.TOTP, error) {
		var o tacit.TOTP
		var created int64
		if err := row.Scan(&o.AccountID, &o.Secret, &o.Enabled, &o.LastStep, &created, &o.Failures); err != nil {
			return o, fmt.Errorf("read authenticator: %w", err)
		}
		o.CreatedAt = FromMicros(created)
		var err error
		o.Secret, err = openTOTP(s.keys, o.AccountID, o.Secret)
		return o, err
	}, `SELECT account_id, secret, enabled, last_step, created_at, failures FROM totp
		WHERE account_id BETWEEN $1 AND $2 ORDER BY account_id`, first, last)
	if err != nil {
		return b, err
	}
	_, err = collect(ctx, s.q, func(row Row) (struct{}, error) {
		var id int64
		var h []byte
		if err := row.Scan(&id, &h); err != nil {
			return struct{}{}, fmt.Errorf("read recovery code: %w", err)
		}
		b.codes[id] = append(b.codes[id], h)
		return struct{}{}, nil
	}, `SELECT account_id, code_hash FROM recovery_codes
		WHERE account_id BETWEEN $1 AND $2 ORDER BY account_id, code_hash`, first, last)
	if err != nil {
		return b, err
	}
	b.events, err = collect(ctx, s.q, scanEvent, `SELECT `+eventColumns+` FROM events
		WHERE account_id BETWEEN $1 AND $2 ORDER BY id`, first, last)
	if err != nil {
		return b, err
	}
	b.passkeys, err = collect(ctx, s.q, func(row Row) (tacit.Passkey, error) {
		p, err := scanPasskey(row)
		if err != nil {
			return p, fmt.Errorf("read passkey: %w", err)
		}
		return p, nil
	}, `SELECT `+passkeyColumns+` FROM passkeys WHERE account_id BETWEEN $1 AND $2 ORDER BY id`, first, last)
	return b, err
}

// CopyOptions say what Copy copies and how.
type CopyOptions struct {
	// Sessions copies the sessions live at Now too.
	Sessions bool
	Now      time.Time
	// Batch is how many rows go into one transaction of the target.
	Batch int
	// Progress, if set, is called after each batch of accounts with how
	// many have been copied so far.
	Progress func(accounts int) error
	// Source and Target, if set, rewrite the errors of reading the
	// snapshot and of writing the target, to keep out what they may
	// quote (a database URL's password).
	Source, Target func(error) error
}

// Copied is what Copy copied: accounts, authenticators (and how many of
// them on), recovery codes, passkeys, sessions and activity events, and
// of the OpenID Connect provider signing keys, subject ids, clients,
// consents and grants.
type Copied struct {
	Accounts, TOTP, TOTPOn, Codes, Passkeys, Sessions, Events int
	Keys, Subjects, Clients, Consents, Grants                 int
	AdminTokens                                               int
}

// Copy copies every account of src, keeping its address, password hash,
// creation time and disabled flag, together with its authenticator
// (secret, whether on, the last step used, creation time) and recovery
// codes and passkeys (with their signature counters, backup flags, user
// handles and times of last use), and, if asked, every live session, tokens (stored hashed) and
// all, into dst through tacit.Store, so either engine works on either
// side. Account IDs may change; what belongs to an account follows it to
// its new ID. It writes o.Batch rows per transaction.
func Copy(ctx context.Context, src *Snapshot, dst tacit.Store, o CopyOptions) (Copied, error) {
	c := &copier{src: src, dst: dst, o: o, ids: map[int64]int64{}}
	if c.o.Source == nil {
		c.o.Source = func(err error) error { return err }
	}
	if c.o.Target == nil {
		c.o.Target = c.o.Source
	}
	if err := c.copyAccounts(ctx); err != nil {
		return c.n, err
	}
	if o.Sessions {
		if err := c.copySessions(ctx); err != nil {
			return c.n, err
		}
	}
	if err := c.copyOpenID(ctx); err != nil {
		return c.n, fmt.Errorf("copy OpenID Connect state: %w", err)
	}
	tokens, err := collect(ctx, c.src.q, scanAdminToken, `SELECT `+adminTokenColumns+` FROM admin_tokens ORDER BY id`)
	if err != nil {
		return c.n, fmt.Errorf("copy admin tokens: %w", c.o.Source(err))
	}
	if err := writeBatches(ctx, c, tokens, func(tx tacit.Tx, t tacit.AdminToken) error { return tx.CreateAdminToken(ctx, t) }); err != nil {
		return c.n, fmt.Errorf("copy admin tokens: %w", err)
	}
	c.n.AdminTokens = len(tokens)
	return c.n, nil
}

// copier writes what it reads from a snapshot into a store.
type copier struct {
	src *Snapshot
	dst tacit.Store
	o   CopyOptions
	ids map[int64]int64 // source account ID → target account ID
	n   Copied
}

// copyAccounts copies the accounts and their second factors, batch by
// batch.
func (c *copier) copyAccounts(ctx context.Context) error {
	after := int64(math.MinInt64)
	for {
		b, err := c.src.readAccounts(ctx, after, c.o.Batch)
		if err != nil {
			return fmt.Errorf("copy accounts: %w", c.o.Source(err))
		}
		if len(b.accounts) == 0 {
			return nil
		}
		if err := c.writeAccounts(ctx, b); err != nil {
			return fmt.Errorf("copy accounts: %w", err)
		}
		if c.o.Progress != nil {
			if err := c.o.Progress(len(c.ids)); err != nil {
				return err
			}
		}
		after = b.accounts[len(b.accounts)-1].ID
	}
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
		for _, hs := range b.codes {
			codes -= len(hs)
		}
		if codes != 0 {
			return errors.New("recovery codes of accounts that are not in the source")
		}
		for _, e := range b.events {
			id, ok := newIDs[e.AccountID]
			if !ok {
				return fmt.Errorf("event of account %d, which is not in the source", e.AccountID)
			}
			e.ID, e.AccountID = 0, id
			if err := tx.AddEvent(ctx, &e); err != nil {
				return err
			}
		}
		for _, p := range b.passkeys {
			id, ok := newIDs[p.AccountID]
			if !ok {
				return fmt.Errorf("passkey of account %d, which is not in the source", p.AccountID)
			}
			p.ID, p.AccountID = 0, id
			if err := tx.CreatePasskey(ctx, &p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return c.o.Target(err)
	}
	for old, id := range newIDs {
		c.ids[old] = id
	}
	c.n.Accounts = len(c.ids)
	for _, o := range b.totp {
		c.n.TOTP++
		if o.Enabled {
			c.n.TOTPOn++
		}
	}
	for _, hs := range b.codes {
		c.n.Codes += len(hs)
	}
	c.n.Events += len(b.events)
	c.n.Passkeys += len(b.passkeys)
	return nil
}

// copySessions copies the sessions that have not reached their absolute
// expiry, so that signed-in users stay signed in. The server still applies
// idle expiry to them.
func (c *copier) copySessions(ctx context.Context) error {
	batch := make([]tacit.Session, 0, c.o.Batch)
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
			return c.o.Target(err)
		}
		c.n.Sessions += len(batch)
		batch = batch[:0]
		return nil
	}
	_, err := collect(ctx, c.src.q, func(row Row) (struct{}, error) {
		s, err := scanSession(row)
		if err != nil {
			return struct{}{}, fmt.Errorf("read session: %w", err)
		}
		// The snapshot saw every account of these sessions, so each
		// has been copied.
		id, ok := c.ids[s.AccountID]
		if !ok {
			return struct{}{}, fmt.Errorf("session %d belongs to account %d, which is not in the source", s.ID, s.AccountID)
		}
		s.ID, s.AccountID = 0, id
		batch = append(batch, s)
		if len(batch) < c.o.Batch {
			return struct{}{}, nil
		}
		return struct{}{}, flush()
	}, `SELECT `+sessionColumns+` FROM sessions WHERE expires_at > $1 ORDER BY id`, Micros(c.o.Now))
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("copy sessions: %w", err)
	}
	return nil
}

package storetest

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/sqlstore"
)

// Copy fills every table of a database of engine from, copies it with
// sqlstore.Copy into a fresh database of engine to, and that one back into
// a fresh one of from: the copy that tacit migrate-data makes, within one
// engine (Run calls it so) or across two. Each hop checks every table of
// the live schema: a table must be copied whole (every column, every row)
// or be one of sqlstore.DroppedTables and arrive empty, so a table added
// to the schema fails this test until the copy carries it or says why it
// need not. The accounts, their second factors and sessions must arrive
// as they were, under new IDs.
func Copy[A, B Migrator](t *testing.T, from Engine[A], to Engine[B]) {
	first, middle, last := from.Fresh(t), to.Fresh(t), from.Fresh(t)
	src := from.openMigratedAt(t, first)
	fillEveryTable(t, src)
	mid := to.openMigratedAt(t, middle)
	copyChecked(t, snapshot(t, from, first), mid, func() *sqlstore.Snapshot { return snapshot(t, to, middle) }, true)
	dst := from.openMigratedAt(t, last)
	copyChecked(t, snapshot(t, to, middle), dst, func() *sqlstore.Snapshot { return snapshot(t, from, last) }, false)
	for _, email := range copyFixtureEmails {
		if got, want := accountState(t, dst, email), accountState(t, src, email); !reflect.DeepEqual(got, want) {
			t.Errorf("%s after two copies:\n got  %+v\n want %+v", email, got, want)
		}
	}
	if got, want := adminTokens(t, dst), adminTokens(t, src); !reflect.DeepEqual(got, want) {
		t.Errorf("admin tokens after two copies:\n got  %+v\n want %+v", got, want)
	}
}

// adminTokens lists a store's administration API tokens, times in UTC.
func adminTokens(t *testing.T, s tacit.Store) []tacit.AdminToken {
	t.Helper()
	var out []tacit.AdminToken
	view(t, s, func(tx tacit.Tx) error {
		list, err := tx.AdminTokens(context.Background())
		for _, a := range list {
			a.CreatedAt, a.LastUsedAt = a.CreatedAt.UTC(), a.LastUsedAt.UTC()
			out = append(out, a)
		}
		return err
	})
	return out
}

// snapshot opens the engine's snapshot of the database at where, closed
// when the test ends.
func snapshot[S Migrator](t *testing.T, e Engine[S], where string) *sqlstore.Snapshot {
	t.Helper()
	if e.Snapshot == nil {
		t.Fatal("Engine.Snapshot is not set")
	}
	s, err := e.Snapshot(context.Background(), where)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// copyChecked copies src into dst and checks every table of src's schema
// against after, a snapshot of dst taken once the copy is done. full says
// that src was filled by fillEveryTable, so that every table of it, not
// only the copied ones, must hold rows.
func copyChecked(t *testing.T, src *sqlstore.Snapshot, dst tacit.Store, after func() *sqlstore.Snapshot, full bool) {
	t.Helper()
	ctx := context.Background()
	n, err := sqlstore.Copy(ctx, src, dst, sqlstore.CopyOptions{Sessions: true, Now: time.Now(), Batch: 2})
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if n.Accounts != len(copyFixtureEmails) || n.TOTP != 2 || n.TOTPOn != 1 || n.Codes != 3 || n.Passkeys != 2 || n.Sessions != 2 ||
		n.Keys != 1 || n.Subjects != 2 || n.Clients != 1 || n.Consents != 1 || n.Grants != 1 || n.AdminTokens != 2 {
		t.Errorf("Copy copied %+v", n)
	}
	schema, err := src.Columns(ctx)
	if err != nil {
		t.Fatalf("Columns: %v", err)
	}
	out := after()
	rows := func(s *sqlstore.Snapshot, table string) int64 {
		n, err := s.Rows(ctx, table)
		if err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		return n
	}
	for _, table := range slices.Sorted(maps.Keys(schema)) {
		copied, isCopied := sqlstore.CopiedTables[table]
		isDropped := slices.ContainsFunc(sqlstore.DroppedTables, func(d sqlstore.DroppedTable) bool { return d.Name == table })
		if _, ok := sqlstore.SchemaTables[table]; ok {
			if isCopied || isDropped {
				t.Errorf("table %s is the schema's own and also copied or dropped", table)
			}
			continue
		}
		in := rows(src, table)
		switch {
		case isCopied && isDropped:
			t.Errorf("table %s is both copied and dropped", table)
		case isCopied:
			if got, want := slices.Sorted(slices.Values(schema[table])), slices.Sorted(slices.Values(copied)); !slices.Equal(got, want) {
				t.Errorf("table %s has columns %q; the copy carries %q", table, got, want)
			}
			if in == 0 {
				t.Errorf("table %s is empty in the source: the test copies nothing of it", table)
			}
			if got := rows(out, table); got != in {
				t.Errorf("table %s: %d rows in the copy, want %d as in the source", table, got, in)
			}
		case isDropped:
			if full && in == 0 {
				t.Errorf("table %s is empty in the source: fillEveryTable does not fill it", table)
			}
			if got := rows(out, table); got != 0 {
				t.Errorf("table %s, dropped, has %d rows in the copy", table, got)
			}
		default:
			t.Errorf("table %s is neither copied (sqlstore.CopiedTables) nor dropped on purpose (sqlstore.DroppedTables)", table)
		}
	}
	for table := range sqlstore.CopiedTables {
		if _, ok := schema[table]; !ok {
			t.Errorf("sqlstore.CopiedTables names %s, which the schema lacks", table)
		}
	}
	for _, d := range sqlstore.DroppedTables {
		if _, ok := schema[d.Name]; !ok {
			t.Errorf("sqlstore.DroppedTables names %s, which the schema lacks", d.Name)
		}
	}
}

// copyFixtureEmails are the accounts fillEveryTable makes.
var copyFixtureEmails = []string{"ada@example.com", "bob@example.com", "eve@example.com"}

// fillEveryTable writes rows into every table: accounts (one disabled),
// an authenticator that is on with recovery codes and one that is off,
// live sessions, and the work in progress and bookkeeping a copy leaves
// behind.
func fillEveryTable(t *testing.T, s tacit.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Truncate(time.Microsecond).UTC()
	update(t, s, func(tx tacit.Tx) error {
		var ids []int64
		for i, email := range copyFixtureEmails {
			a := tacit.Account{Email: email, PasswordHash: "$argon2id$hash-of-" + email, CreatedAt: base, Disabled: i == 2}
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
			ids = append(ids, a.ID)
		}
		ada, bob := ids[0], ids[1]
		// A deleted account, which leaves its ID behind (account_ids).
		gone := tacit.Account{Email: "gone@example.com", PasswordHash: "h", CreatedAt: base}
		if err := tx.CreateAccount(ctx, &gone); err != nil {
			return err
		}
		if err := tx.DeleteAccount(ctx, gone.ID); err != nil {
			return err
		}
		steps := []error{
			tx.SaveTOTP(ctx, tacit.TOTP{AccountID: ada, Secret: "ada secret", Enabled: true, LastStep: 7, CreatedAt: base, Failures: 2}),
			tx.SaveTOTP(ctx, tacit.TOTP{AccountID: bob, Secret: "bob secret", CreatedAt: base}),
			tx.SetRecoveryCodes(ctx, ada, [][]byte{hash(10), hash(11), hash(12)}),
			tx.CreateSession(ctx, &tacit.Session{AccountID: ada, TokenHash: hash(20), CreatedAt: base, LastSeenAt: base,
				ExpiresAt: now.Add(time.Hour), UserAgent: "ua", IP: "192.0.2.1", Method: tacit.SessionPasskey}),
			tx.CreateSession(ctx, &tacit.Session{AccountID: bob, TokenHash: hash(21), CreatedAt: base, LastSeenAt: base,
				ExpiresAt: now.Add(2 * time.Hour), Method: tacit.SessionSecondStep}),
			tx.CreateSignup(ctx, &tacit.Signup{Email: "new@example.com", TokenHash: hash(30), PasswordHash: "h", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
			tx.CreateResetToken(ctx, &tacit.ResetToken{AccountID: ada, TokenHash: hash(31), PasswordStamp: []byte("stamp"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
			tx.CreateEmailChange(ctx, &tacit.EmailChange{AccountID: ada, NewEmail: "ada2@example.com", TokenHash: hash(32), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
			tx.CreateMFAChallenge(ctx, &tacit.MFAChallenge{AccountID: ada, TokenHash: hash(33), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
			tx.CreatePasskey(ctx, &tacit.Passkey{AccountID: ada, CredentialID: hash(40), UserHandle: hash(41), Name: "laptop",
				Credential: []byte(`{"publicKey":"AQ"}`), SignCount: 7, BackupEligible: true, BackupState: true, CreatedAt: base, LastUsedAt: base.Add(time.Hour)}),
			tx.CreatePasskey(ctx, &tacit.Passkey{AccountID: bob, CredentialID: hash(42), UserHandle: hash(43), Name: "key",
				Credential: []byte(`{}`), CreatedAt: base}),
			tx.CreatePasskeyChallenge(ctx, &tacit.PasskeyChallenge{TokenHash: hash(34), Purpose: tacit.PasskeyLogin, Session: []byte(`{}`), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
			tx.EnqueueMail(ctx, &tacit.Mail{Kind: tacit.MailVerify, To: "new@example.com", CreatedAt: now}),
			tx.AddEvent(ctx, &tacit.Event{AccountID: ada, Kind: tacit.EventSignedIn, At: base, IP: "192.0.2.1", UserAgent: "ua", Count: 3}),
			tx.AddEvent(ctx, &tacit.Event{AccountID: bob, Kind: tacit.EventPasswordChanged, At: base.Add(time.Second)}),
			tx.AddEvent(ctx, &tacit.Event{AccountID: bob, Kind: tacit.EventAdminAPI, At: base.Add(2 * time.Second),
				Actor: "helpdesk", Operation: "show", Outcome: "done"}),
			tx.CreateAdminToken(ctx, tacit.AdminToken{ID: "tok1", Name: "helpdesk", Scope: tacit.AdminRead, SecretHash: hash(50),
				CreatedAt: base, LastUsedAt: base.Add(time.Minute)}),
			tx.CreateAdminToken(ctx, tacit.AdminToken{ID: "tok2", Name: "ops", Scope: tacit.AdminWrite, SecretHash: hash(51), CreatedAt: base}),
			tx.CreateSigningKey(ctx, tacit.SigningKey{ID: "k1", Algorithm: "ES256", PrivateKey: []byte("der"), CreatedAt: base}),
			tx.CreateSubject(ctx, ada, "sub-ada"),
			tx.CreateSubject(ctx, bob, "sub-bob"),
			tx.CreateOIDCClient(ctx, tacit.OIDCClient{ID: "app", Name: "App", SecretHash: hash(40), RedirectURIs: []string{"https://app.example/cb"}, IDTokenAlg: "RS256", CreatedAt: base}),
			tx.SaveConsent(ctx, tacit.Consent{AccountID: ada, ClientID: "app", Scopes: []string{"openid", "email"}, CreatedAt: base}),
			tx.CreateGrant(ctx, tacit.Grant{ID: "g1", AccountID: bob, ClientID: "app", Scopes: []string{"openid"}, AuthTime: base,
				PasswordStamp: []byte("stamp"), RefreshHash: hash(41), AccessHash: hash(42), AccessExpiresAt: now.Add(time.Minute),
				CreatedAt: base, ExpiresAt: now.Add(time.Hour)}),
			tx.CreateAuthRequest(ctx, tacit.AuthRequest{ID: "r1", ClientID: "app", Request: []byte("{}"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
			tx.SpendProof(ctx, hash(43), now.Add(time.Hour)),
		}
		_, err := tx.HitCounter(ctx, []byte("counter"), now, time.Hour)
		for _, e := range append(steps, err) {
			if e != nil {
				return e
			}
		}
		return nil
	})
	if _, err := s.Secret(ctx, "copy"); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveDevMail(ctx, tacit.DevMail{To: "new@example.com", Subject: "s", SentAt: now}); err != nil {
		t.Fatal(err)
	}
}

// copiedState is what a copy must keep of an account: the account, its
// authenticator, its recovery codes and its sessions, without IDs.
type copiedState struct {
	Account  tacit.Account
	TOTP     tacit.TOTP
	Codes    []bool // which of fillEveryTable's codes it holds
	Passkeys []tacit.Passkey
	Sessions []tacit.Session
	Events   []tacit.Event
}

// accountState reads the copiedState of email's account.
func accountState(t *testing.T, s tacit.Store, email string) copiedState {
	t.Helper()
	ctx := context.Background()
	var st copiedState
	err := s.Update(ctx, func(tx tacit.Tx) error {
		a, err := tx.AccountByEmail(ctx, email)
		if err != nil {
			return err
		}
		st.Account = utcAccount(a)
		st.Account.ID = 0
		if o, err := tx.TOTPByAccount(ctx, a.ID); err == nil {
			st.TOTP = utcTOTP(o)
			st.TOTP.AccountID = 0
		}
		for _, h := range [][]byte{hash(10), hash(11), hash(12)} {
			st.Codes = append(st.Codes, tx.UseRecoveryCode(ctx, a.ID, h) == nil)
		}
		passkeys, err := tx.PasskeysByAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, p := range passkeys {
			p = utcPasskey(p)
			p.ID, p.AccountID = 0, 0
			st.Passkeys = append(st.Passkeys, p)
		}
		sessions, err := tx.SessionsByAccount(ctx, a.ID)
		for _, se := range sessions {
			se = utcSession(se)
			se.ID, se.AccountID = 0, 0
			st.Sessions = append(st.Sessions, se)
		}
		if err != nil {
			return err
		}
		events, err := tx.Events(ctx, a.ID, 100)
		for _, e := range events {
			e.ID, e.AccountID, e.At = 0, 0, e.At.UTC()
			st.Events = append(st.Events, e)
		}
		if err != nil {
			return err
		}
		return errAbort // spends no recovery code
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("state of %s: %v", email, err)
	}
	return st
}

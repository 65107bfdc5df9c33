package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// schemaReader is a store that lists its schema, as every engine's does
// (sqlstore.Store.Columns).
type schemaReader interface {
	Columns(ctx context.Context) (map[string][]string, error)
}

// testDeleteAccount fills every table, deletes one account, and checks
// that no table holds a row of it (by account_id, or by its address for
// the tables keyed by address) while another account keeps all of its;
// the address can then have an account again, and deleting a missing
// account is ErrNotFound. A new table that holds an account's rows fails
// here until DeleteAccount deletes them.
func testDeleteAccount(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.fresh(t)
	fillEveryTable(t, s)
	now := time.Now()
	var ada, bob tacit.Account
	update(t, s, func(tx tacit.Tx) error {
		var err error
		if ada, err = tx.AccountByEmail(ctx, "ada@example.com"); err != nil {
			return err
		}
		if bob, err = tx.AccountByEmail(ctx, "bob@example.com"); err != nil {
			return err
		}
		// A sign-up of the address made while the account existed.
		return tx.CreateSignup(ctx, &tacit.Signup{Email: ada.Email, TokenHash: hash(40), CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	})
	schema, err := s.(schemaReader).Columns(ctx)
	if err != nil {
		t.Fatalf("Columns: %v", err)
	}
	count := func(table, where string) int {
		var n int
		e.row(t, s, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s`, table, where), &n)
		return n
	}
	// held counts the rows of each table that belong to a, by ID or by
	// address.
	held := func(a tacit.Account) map[string]int {
		out := map[string]int{}
		for _, table := range slices.Sorted(maps.Keys(schema)) {
			cols := schema[table]
			switch {
			case table == "accounts":
				out[table] = count(table, fmt.Sprintf("id = %d", a.ID))
			case slices.Contains(cols, "account_id"):
				out[table] = count(table, fmt.Sprintf("account_id = %d", a.ID))
			case table == "signups":
				out[table] = count(table, fmt.Sprintf("email = '%s'", a.Email))
			}
		}
		return out
	}
	before := held(ada)
	for _, table := range []string{"accounts", "sessions", "totp", "recovery_codes", "reset_tokens", "email_changes", "mfa_challenges", "signups", "events"} {
		if before[table] == 0 {
			t.Errorf("the fixture gives %s no row of the account: the test proves nothing for it", table)
		}
	}
	bobBefore := held(bob)
	update(t, s, func(tx tacit.Tx) error { return tx.DeleteAccount(ctx, ada.ID) })
	for table, n := range held(ada) {
		if n != 0 {
			t.Errorf("after DeleteAccount, %s holds %d rows of the account", table, n)
		}
	}
	equal(t, "the other account's rows", held(bob), bobBefore)
	err = s.Update(ctx, func(tx tacit.Tx) error { return tx.DeleteAccount(ctx, ada.ID) })
	wantErr(t, "DeleteAccount(deleted)", err, tacit.ErrNotFound)
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.AccountByEmail(ctx, ada.Email)
		wantErr(t, "AccountByEmail(deleted)", err, tacit.ErrNotFound)
		return nil
	})
	again := createAccount(t, s, ada.Email)
	if again.ID <= ada.ID {
		t.Errorf("the address's new account has ID %d, not above the deleted one's %d", again.ID, ada.ID)
	}
	// The newest account deleted: its ID is not handed on either, an
	// application may key its own data by it.
	newest := createAccount(t, s, "newest@example.com")
	update(t, s, func(tx tacit.Tx) error { return tx.DeleteAccount(ctx, newest.ID) })
	if next := createAccount(t, s, "next@example.com"); next.ID <= newest.ID {
		t.Errorf("a new account got ID %d after the newest account, %d, was deleted", next.ID, newest.ID)
	}
}

func testSetDisabled(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	for _, want := range []bool{true, true, false} {
		update(t, s, func(tx tacit.Tx) error { return tx.SetDisabled(ctx, a.ID, want) })
		view(t, s, func(tx tacit.Tx) error {
			got, err := tx.AccountByID(ctx, a.ID)
			if err == nil && got.Disabled != want {
				t.Errorf("Disabled = %v, want %v", got.Disabled, want)
			}
			return err
		})
	}
	err := s.Update(ctx, func(tx tacit.Tx) error { return tx.SetDisabled(ctx, a.ID+1000, true) })
	wantErr(t, "SetDisabled(missing)", err, tacit.ErrNotFound)
}

// testAccountDirectory lists and describes accounts: filters by address
// and state, pages by ID, counts live sessions and recovery codes only.
func testAccountDirectory(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	dir := s.(tacit.AccountDirectory)
	now := base.Add(time.Hour)
	var ids []int64
	update(t, s, func(tx tacit.Tx) error {
		for i, email := range []string{"ada@example.com", "bob@example.org", "a_d%a@example.com", "carl@example.com"} {
			a := tacit.Account{Email: email, PasswordHash: "h", CreatedAt: base.Add(time.Duration(i) * time.Second), Disabled: i == 1}
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
			ids = append(ids, a.ID)
		}
		steps := []error{
			tx.SaveTOTP(ctx, tacit.TOTP{AccountID: ids[0], Secret: "s", Enabled: true, CreatedAt: base}),
			tx.SaveTOTP(ctx, tacit.TOTP{AccountID: ids[3], Secret: "s", CreatedAt: base}),
			tx.SetRecoveryCodes(ctx, ids[0], [][]byte{hash(1), hash(2)}),
			tx.CreateSession(ctx, &tacit.Session{AccountID: ids[0], TokenHash: hash(3), CreatedAt: base, LastSeenAt: base, ExpiresAt: now.Add(time.Hour)}),
			tx.CreateSession(ctx, &tacit.Session{AccountID: ids[0], TokenHash: hash(4), CreatedAt: base.Add(time.Minute), LastSeenAt: base, ExpiresAt: now.Add(time.Hour)}),
			// Past its absolute expiry: not counted.
			tx.CreateSession(ctx, &tacit.Session{AccountID: ids[0], TokenHash: hash(5), CreatedAt: base.Add(time.Hour), LastSeenAt: base, ExpiresAt: now}),
			tx.AddEvent(ctx, &tacit.Event{AccountID: ids[0], Kind: tacit.EventSignedIn, At: base.Add(time.Second)}),
			tx.AddEvent(ctx, &tacit.Event{AccountID: ids[0], Kind: tacit.EventSignedIn, At: base.Add(2 * time.Second)}),
			tx.AddEvent(ctx, &tacit.Event{AccountID: ids[0], Kind: tacit.EventPasswordChanged, At: base.Add(3 * time.Second)}),
		}
		for _, err := range steps {
			if err != nil {
				return err
			}
		}
		return nil
	})
	info, err := dir.AccountInfo(ctx, "ada@example.com", now)
	if err != nil {
		t.Fatalf("AccountInfo: %v", err)
	}
	info.CreatedAt, info.LastSessionAt, info.LastSignInAt = info.CreatedAt.UTC(), info.LastSessionAt.UTC(), info.LastSignInAt.UTC()
	equal(t, "AccountInfo", info, tacit.AccountInfo{ID: ids[0], Email: "ada@example.com", State: tacit.AccountActive,
		CreatedAt: base, MFA: true, RecoveryCodes: 2, Sessions: 2, LastSessionAt: base.Add(time.Minute), LastSignInAt: base.Add(2 * time.Second)})
	_, err = dir.AccountInfo(ctx, "nobody@example.com", now)
	wantErr(t, "AccountInfo(missing)", err, tacit.ErrNotFound)

	// The live sessions metric counts the same two: before their absolute
	// expiry and seen after the idle cut-off.
	live := s.(interface {
		LiveSessions(ctx context.Context, now, idleSince time.Time) (int64, error)
	})
	for _, c := range []struct {
		what       string
		now, since time.Time
		want       int64
	}{
		{"live sessions", now, base.Add(-time.Minute), 2},
		{"live sessions, all idle too long", now, base, 0},
		{"live sessions, all past their expiry", now.Add(time.Hour), base.Add(-time.Minute), 0},
	} {
		if n, err := live.LiveSessions(ctx, c.now, c.since); err != nil || n != c.want {
			t.Errorf("%s: %d, %v; want %d", c.what, n, err, c.want)
		}
	}

	list := func(q tacit.AccountQuery) []string {
		t.Helper()
		q.Now = now
		if q.Limit == 0 {
			q.Limit = 10
		}
		got, err := dir.ListAccounts(ctx, q)
		if err != nil {
			t.Fatalf("ListAccounts(%+v): %v", q, err)
		}
		var emails []string
		for _, i := range got {
			emails = append(emails, i.Email+"/"+string(i.State))
		}
		return emails
	}
	equal(t, "all", list(tacit.AccountQuery{}), []string{"ada@example.com/active", "bob@example.org/disabled", "a_d%a@example.com/active", "carl@example.com/active"})
	equal(t, "disabled", list(tacit.AccountQuery{State: tacit.AccountDisabled}), []string{"bob@example.org/disabled"})
	equal(t, "active", list(tacit.AccountQuery{State: tacit.AccountActive, Contains: "example.com"}), []string{"ada@example.com/active", "a_d%a@example.com/active", "carl@example.com/active"})
	// Wildcards in the filter are taken literally.
	equal(t, "contains _d%", list(tacit.AccountQuery{Contains: "_d%"}), []string{"a_d%a@example.com/active"})
	equal(t, "contains nothing matching", list(tacit.AccountQuery{Contains: "zzz"}), []string(nil))
	equal(t, "page 1", list(tacit.AccountQuery{Limit: 2}), []string{"ada@example.com/active", "bob@example.org/disabled"})
	equal(t, "page 2", list(tacit.AccountQuery{Limit: 2, After: ids[1]}), []string{"a_d%a@example.com/active", "carl@example.com/active"})
}

// testActivity appends events, lists them newest first and limited, and
// purges the old ones.
func testActivity(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	want := []tacit.Event{
		{AccountID: a.ID, Kind: tacit.EventSignedIn, At: base, IP: "192.0.2.1", UserAgent: "Firefox", Count: 4},
		{AccountID: a.ID, Kind: tacit.EventPasswordChanged, At: base.Add(time.Minute)},
		{AccountID: a.ID, Kind: tacit.EventMFAEnabled, At: base.Add(2 * time.Minute), IP: "2001:db8::1"},
		{AccountID: a.ID, Kind: tacit.EventAdminAPI, At: base.Add(3 * time.Minute), Actor: "helpdesk", Operation: "disable", Outcome: "unchanged"},
	}
	update(t, s, func(tx tacit.Tx) error {
		for i := range want {
			if err := tx.AddEvent(ctx, &want[i]); err != nil {
				return err
			}
		}
		return tx.AddEvent(ctx, &tacit.Event{AccountID: b.ID, Kind: tacit.EventSignedIn, At: base})
	})
	list := func(limit int) []tacit.Event {
		var out []tacit.Event
		view(t, s, func(tx tacit.Tx) error {
			got, err := tx.Events(ctx, a.ID, limit)
			for _, e := range got {
				e.At = e.At.UTC()
				out = append(out, e)
			}
			return err
		})
		return out
	}
	equal(t, "Events", list(10), []tacit.Event{want[3], want[2], want[1], want[0]})
	equal(t, "Events limited", list(2), []tacit.Event{want[3], want[2]})
	if err := s.PurgeActivity(ctx, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	equal(t, "Events after purge", list(10), []tacit.Event{want[3], want[2], want[1]})
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.Events(ctx, b.ID, 10)
		if err == nil && len(got) != 0 {
			t.Errorf("bob's old event outlived the purge: %+v", got)
		}
		return err
	})
}

// testAdminTokens creates, finds, lists, touches and deletes
// administration API tokens; a name or ID taken twice is ErrConflict.
func testAdminTokens(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	ops := tacit.AdminToken{ID: "id-ops", Name: "ops", Scope: tacit.AdminWrite, SecretHash: hash(1), CreatedAt: base}
	desk := tacit.AdminToken{ID: "id-desk", Name: "desk", Scope: tacit.AdminRead, SecretHash: hash(2), CreatedAt: base.Add(time.Second)}
	update(t, s, func(tx tacit.Tx) error {
		if err := tx.CreateAdminToken(ctx, ops); err != nil {
			return err
		}
		return tx.CreateAdminToken(ctx, desk)
	})
	for _, dup := range []tacit.AdminToken{
		{ID: "id-other", Name: "ops", Scope: tacit.AdminRead, SecretHash: hash(3), CreatedAt: base},
		{ID: "id-ops", Name: "other", Scope: tacit.AdminRead, SecretHash: hash(3), CreatedAt: base},
	} {
		err := s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateAdminToken(ctx, dup) })
		wantErr(t, "CreateAdminToken "+dup.Name+"/"+dup.ID, err, tacit.ErrConflict)
	}
	used := base.Add(time.Hour)
	update(t, s, func(tx tacit.Tx) error { return tx.TouchAdminToken(ctx, "id-desk", used) })
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.AdminTokenByID(ctx, "id-desk")
		if err != nil {
			return err
		}
		got.CreatedAt, got.LastUsedAt = got.CreatedAt.UTC(), got.LastUsedAt.UTC()
		want := desk
		want.LastUsedAt = used
		equal(t, "AdminTokenByID", got, want)
		_, err = tx.AdminTokenByID(ctx, "id-nobody")
		wantErr(t, "AdminTokenByID unknown", err, tacit.ErrNotFound)
		return nil
	})
	names := func() []string {
		var out []string
		for _, a := range adminTokens(t, s) {
			out = append(out, a.Name+"/"+string(a.Scope))
		}
		return out
	}
	equal(t, "AdminTokens", names(), []string{"desk/read", "ops/write"})
	update(t, s, func(tx tacit.Tx) error { return tx.DeleteAdminToken(ctx, "ops") })
	err := s.Update(ctx, func(tx tacit.Tx) error { return tx.DeleteAdminToken(ctx, "ops") })
	wantErr(t, "DeleteAdminToken twice", err, tacit.ErrNotFound)
	err = s.Update(ctx, func(tx tacit.Tx) error { return tx.TouchAdminToken(ctx, "id-ops", used) })
	wantErr(t, "TouchAdminToken deleted", err, tacit.ErrNotFound)
	equal(t, "AdminTokens after delete", names(), []string{"desk/read"})
}

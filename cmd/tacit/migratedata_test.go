package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
)

// testHash hashes password with the cheap parameters of fastEnv, which
// the servers of these tests verify with.
func testHash(t *testing.T, password string) string {
	t.Helper()
	p := argon2id.DefaultParams()
	p.Memory, p.Time, p.Threads = 64, 1, 1
	h, err := argon2id.New(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

// apiCall makes a JSON API request (body "" for none) with an optional
// session token and returns the status and the trimmed body.
func apiCall(t *testing.T, method, url, body, session string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "tacit_session", Value: session})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// login signs in through POST /api/login and returns the status and body.
func login(t *testing.T, base, email, password string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	return apiCall(t, http.MethodPost, base+"/api/login", string(body), "")
}

// sourceFixture is what fillSource puts in a source database.
type sourceFixture struct {
	accounts int    // accounts in the source
	session  string // token of alice's live session
	// sessionAt is when alice's live session was created, last seen
	// and expires.
	sessionAt  [3]time.Time
	expired    string // token of alice's expired session
	bobSession string // token of bob's live session
}

var (
	aliceCreated = time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)
	bobCreated   = time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
)

// fillSource creates, in the database at dbURL: fillers accounts, then
// alice (password "alice password 1") and bob (disabled), with IDs past a
// gap, so that their IDs in a fresh target differ and sessions must be
// mapped; a live and an expired
// session for alice and a live one for bob; a pending and an expired
// sign-up; one delivered and one queued mail.
func fillSource(t *testing.T, dbURL string, fillers int) sourceFixture {
	t.Helper()
	ctx := context.Background()
	db := openTestStore(t, dbURL)
	now := time.Now()
	create := func(emails ...string) []tacit.Account {
		var out []tacit.Account
		err := db.Update(ctx, func(tx tacit.Tx) error {
			for _, e := range emails {
				a := tacit.Account{Email: e, PasswordHash: "$argon2id$unused", CreatedAt: now}
				if err := tx.CreateAccount(ctx, &a); err != nil {
					return err
				}
				out = append(out, a)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var emails []string
	for i := range fillers {
		emails = append(emails, fmt.Sprintf("filler-%d@example.com", i))
	}
	for len(emails) > 0 {
		n := min(len(emails), 1000)
		create(emails[:n]...)
		emails = emails[n:]
	}
	// Deleted once alice and bob exist, these leave a gap in the IDs.
	create("gap-1@example.com", "gap-2@example.com", "gap-3@example.com")

	alice := tacit.Account{Email: "alice@example.com", PasswordHash: testHash(t, "alice password 1"), CreatedAt: aliceCreated}
	bob := tacit.Account{Email: "bob@example.com", PasswordHash: testHash(t, "bob password 1"), CreatedAt: bobCreated, Disabled: true}
	token, hash := tacit.NewToken()
	expired, expiredHash := tacit.NewToken()
	bobToken, bobHash := tacit.NewToken()
	// As stored: microseconds, UTC.
	at := [3]time.Time{now.Add(-time.Hour), now.Add(-time.Minute), now.Add(24 * time.Hour)}
	for i := range at {
		at[i] = at[i].Truncate(time.Microsecond).UTC()
	}
	var mailID int64
	err := db.Update(ctx, func(tx tacit.Tx) error {
		for _, a := range []*tacit.Account{&alice, &bob} {
			if err := tx.CreateAccount(ctx, a); err != nil {
				return err
			}
		}
		sessions := []tacit.Session{
			{AccountID: alice.ID, TokenHash: hash, CreatedAt: at[0], LastSeenAt: at[1], ExpiresAt: at[2],
				UserAgent: "Firefox on Linux", IP: "192.0.2.1"},
			{AccountID: alice.ID, TokenHash: expiredHash, CreatedAt: now.Add(-48 * time.Hour), LastSeenAt: now.Add(-48 * time.Hour),
				ExpiresAt: now.Add(-time.Hour)},
			{AccountID: bob.ID, TokenHash: bobHash, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)},
		}
		for i := range sessions {
			if err := tx.CreateSession(ctx, &sessions[i]); err != nil {
				return err
			}
		}
		_, h1 := tacit.NewToken()
		_, h2 := tacit.NewToken()
		for _, s := range []tacit.Signup{
			{Email: "carol@example.com", TokenHash: h1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			{Email: "dave@example.com", TokenHash: h2, CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(-24 * time.Hour)},
		} {
			if err := tx.CreateSignup(ctx, &s); err != nil {
				return err
			}
		}
		for _, to := range []string{"alice@example.com", "carol@example.com"} {
			m := tacit.Mail{Kind: "verify", To: to, Data: map[string]string{"link": "x"}, CreatedAt: now}
			if err := tx.EnqueueMail(ctx, &m); err != nil {
				return err
			}
			mailID = m.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, dbURL, `DELETE FROM accounts WHERE email LIKE 'gap-%'`)
	if alice.ID != int64(fillers)+4 {
		t.Fatalf("alice's source ID is %d, want %d (after the gap)", alice.ID, fillers+4)
	}
	if err := db.MailSent(ctx, mailID, now); err != nil {
		t.Fatal(err)
	}
	return sourceFixture{accounts: fillers + 2, session: token, sessionAt: at, expired: expired, bobSession: bobToken}
}

// TestMigrateData copies between every pair of engines, then serves the
// target and signs in with a copied account and a copied session.
func TestMigrateData(t *testing.T) {
	for _, tt := range []struct {
		name     string
		from, to func(*testing.T) string
		fillers  int
	}{
		// 1,200 fillers make three batches of accounts, the last one
		// short.
		{"sqlite to sqlite", sqliteURL, sqliteURL, 1_200},
		{"sqlite to postgres", sqliteURL, postgresURL, 1_200},
		{"postgres to sqlite", postgresURL, sqliteURL, 1_200},
		{"postgres to postgres", postgresURL, postgresURL, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			from, to := tt.from(t), tt.to(t)
			testMigrateData(t, from, to, tt.fillers)
		})
	}
}

func testMigrateData(t *testing.T, from, to string, fillers int) {
	fx := fillSource(t, from, fillers)
	toDB, err := parseDatabaseURL(to)
	if err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"migrate-data", "--from", from, "--to", to}, env(), &stdout, &stderr)
	if err != nil {
		t.Fatalf("migrate-data: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	want := "database " + toDB.Display() + " migrated\n" +
		fmt.Sprintf("copied %d accounts and 2 sessions\n", fx.accounts) +
		"not copied: 1 pending sign-ups (those users sign up again), reset and email-change links, throttle counters, the outbox and the dev mailbox\n"
	if stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", &stdout, want)
	}
	const wantWarning = "warning: 1 mails queued in the source were not delivered and are not copied; they will not be sent\n"
	if stderr.String() != wantWarning {
		t.Errorf("stderr:\n%s\nwant:\n%s", &stderr, wantWarning)
	}

	// Before serving, which touches the session.
	checkTargetAccounts(t, from, to, fx)
	checkTargetServes(t, to, fx)

	// A second copy would meet every address again: refused.
	err = run(context.Background(), []string{"migrate-data", "--from", from, "--to", to}, env(), io.Discard, io.Discard)
	wantErr := fmt.Sprintf("--to: database %s already holds %d accounts; migrate-data copies only into a database without accounts",
		toDB.Display(), fx.accounts)
	if err == nil || err.Error() != wantErr {
		t.Errorf("copy into a non-empty target: %v\nwant %s", err, wantErr)
	}
}

// checkTargetServes runs tacit serve on the copied database: alice signs
// in with her password, her copied session works and keeps its account's
// address and creation time, and disabled bob cannot sign in.
func checkTargetServes(t *testing.T, to string, fx sourceFixture) {
	t.Helper()
	addr := freeAddr(t)
	var log lockedBuffer
	stop := startServe(t, addr, fastEnv(filepath.Join(t.TempDir(), "unused"), "TACIT_DATABASE_URL", to), &log)
	defer stop()
	base := "http://" + addr

	if status, body := login(t, base, "alice@example.com", "alice password 1"); status != http.StatusOK || body != `{"status":"signed_in"}` {
		t.Errorf("alice signs in on the target: %d %s, want 200 signed_in", status, body)
	}
	if status, body := login(t, base, "alice@example.com", "wrong password 1"); status != http.StatusUnauthorized {
		t.Errorf("alice with a wrong password: %d %s, want 401", status, body)
	}
	if status, body := login(t, base, "bob@example.com", "bob password 1"); status != http.StatusUnauthorized {
		t.Errorf("disabled bob signs in: %d %s, want 401", status, body)
	}

	status, body := apiCall(t, http.MethodGet, base+"/api/session", "", fx.session)
	if status != http.StatusOK {
		t.Fatalf("GET /api/session with alice's copied session: %d %s", status, body)
	}
	var got struct {
		Account struct {
			Email     string    `json:"email"`
			CreatedAt time.Time `json:"created_at"`
		} `json:"account"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	// The API shows whole seconds; checkTargetAccounts compares exactly.
	if got.Account.Email != "alice@example.com" || !got.Account.CreatedAt.Equal(aliceCreated.Truncate(time.Second)) {
		t.Errorf("copied session's account: %s, created %s; want alice@example.com, created %s",
			got.Account.Email, got.Account.CreatedAt, aliceCreated)
	}
}

// checkTargetAccounts compares the copied accounts with the source's:
// the same address, password hash, creation time (to the microsecond) and
// disabled flag, alice and bob under new IDs; and the sessions: live ones
// copied whole to their account's new ID, the expired one left behind.
func checkTargetAccounts(t *testing.T, from, to string, fx sourceFixture) {
	t.Helper()
	ctx := context.Background()
	src, dst := openTestStore(t, from), openTestStore(t, to)
	emails := []string{"alice@example.com", "bob@example.com"}
	if fx.accounts > 2 {
		emails = append(emails, "filler-0@example.com")
	}
	ids := map[string]int64{}
	for _, email := range emails {
		var a, b tacit.Account
		err := src.View(ctx, func(tx tacit.Tx) (err error) {
			a, err = tx.AccountByEmail(ctx, email)
			return err
		})
		if err != nil {
			t.Fatalf("%s in the source: %v", email, err)
		}
		err = dst.View(ctx, func(tx tacit.Tx) (err error) {
			b, err = tx.AccountByEmail(ctx, email)
			return err
		})
		if err != nil {
			t.Fatalf("%s in the target: %v", email, err)
		}
		if email != "filler-0@example.com" && a.ID == b.ID {
			t.Errorf("%s kept ID %d: the test wants IDs to change", email, a.ID)
		}
		ids[email] = b.ID
		a.ID, b.ID = 0, 0
		if a != b {
			t.Errorf("%s copied as\n%+v\nwant\n%+v", email, b, a)
		}
	}

	want := tacit.Session{AccountID: ids["alice@example.com"], TokenHash: tacit.HashToken(fx.session),
		CreatedAt: fx.sessionAt[0], LastSeenAt: fx.sessionAt[1], ExpiresAt: fx.sessionAt[2],
		UserAgent: "Firefox on Linux", IP: "192.0.2.1"}
	var alice, bob tacit.Session
	var expiredErr error
	err := dst.View(ctx, func(tx tacit.Tx) (err error) {
		if alice, err = tx.SessionByToken(ctx, tacit.HashToken(fx.session)); err != nil {
			return err
		}
		if bob, err = tx.SessionByToken(ctx, tacit.HashToken(fx.bobSession)); err != nil {
			return err
		}
		_, expiredErr = tx.SessionByToken(ctx, tacit.HashToken(fx.expired))
		return nil
	})
	if err != nil {
		t.Fatalf("copied sessions: %v", err)
	}
	alice.ID = 0
	if !reflect.DeepEqual(alice, want) {
		t.Errorf("alice's session copied as\n%+v\nwant\n%+v", alice, want)
	}
	if bob.AccountID != ids["bob@example.com"] {
		t.Errorf("bob's session belongs to account %d, want %d", bob.AccountID, ids["bob@example.com"])
	}
	if !errors.Is(expiredErr, tacit.ErrNotFound) {
		t.Errorf("expired session in the target: %v, want not found", expiredErr)
	}
}

// TestMigrateDataProgress copies with small batches and a small progress
// interval, to check the progress lines and the batch boundaries.
func TestMigrateDataProgress(t *testing.T) {
	from, to := sqliteURL(t), sqliteURL(t)
	fx := fillSource(t, from, 43) // 45 accounts
	opts, err := parseMigrateDataArgs([]string{"--from", from, "--to", to})
	if err != nil {
		t.Fatal(err)
	}
	opts.batch, opts.progressEvery = 7, 20
	var stdout bytes.Buffer
	if err := migrateData(context.Background(), opts, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := "database " + opts.to.Path + " migrated\n" +
		"copied 20 accounts so far\n" +
		"copied 40 accounts so far\n" +
		"copied 45 accounts and 2 sessions\n"
	if got := stdout.String(); !strings.HasPrefix(got, want) {
		t.Errorf("stdout:\n%s\nwant it to start:\n%s", got, want)
	}
	checkTargetAccounts(t, from, to, fx)
}

// TestMigrateDataWithoutSessions checks --sessions=false: accounts are
// copied, sessions not, and the output says so.
func TestMigrateDataWithoutSessions(t *testing.T) {
	from, to := sqliteURL(t), sqliteURL(t)
	fx := fillSource(t, from, 0)
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"migrate-data", "--from", from, "--to", to, "--sessions=false"}, env(), &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"copied 2 accounts and 0 sessions\n",
		"not copied: sessions (--sessions=false); every user signs in again\n",
	} {
		if !strings.Contains(stdout.String(), line) {
			t.Errorf("stdout lacks %q:\n%s", line, &stdout)
		}
	}
	addr := freeAddr(t)
	stop := startServe(t, addr, fastEnv(t.TempDir(), "TACIT_DATABASE_URL", to), io.Discard)
	defer stop()
	if status, _ := apiCall(t, http.MethodGet, "http://"+addr+"/api/session", "", fx.session); status != http.StatusUnauthorized {
		t.Errorf("session not copied still works: status %d, want 401", status)
	}
}

// TestMigrateDataArgs checks the refused invocations.
func TestMigrateDataArgs(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, tt := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"--to", "sqlite:///x.db"}, "migrate-data: --from is required: a database URL such as " + databaseURLExample, true},
		{[]string{"--from", "sqlite:///x.db"}, "migrate-data: --to is required: a database URL such as " + databaseURLExample, true},
		{[]string{"--from", "sqlite:///x.db", "--to", "sqlite:///y.db", "extra"}, `migrate-data: unexpected argument "extra"`, true},
		{[]string{"--from", "mysql://u:hunter2@db/x", "--to", "sqlite:///y.db"},
			`--from: must be sqlite:///path/to/tacit.db, sqlite://relative/path.db or postgres://user:password@host:5432/dbname (or empty for tacit.db in data_dir), got scheme "mysql"`, false},
		// A missing source is an error, not a new empty database.
		{[]string{"--from", "sqlite://" + missing, "--to", sqliteURL(t)},
			"--from: open sqlite: stat " + missing + ": no such file or directory", false},
	} {
		err := run(context.Background(), append([]string{"migrate-data"}, tt.args...), env(), io.Discard, io.Discard)
		if err == nil || err.Error() != tt.want {
			t.Errorf("migrate-data %q: %v\nwant %s", tt.args, err, tt.want)
		}
		var ue usageError
		if isUsage := errors.As(err, &ue); isUsage != tt.usage {
			t.Errorf("migrate-data %q: usage error %v, want %v", tt.args, isUsage, tt.usage)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reading a missing source created it: %v", err)
	}
}

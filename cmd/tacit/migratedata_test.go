package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp/totp"
	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/seal"
	"github.com/tacitauth/tacit/internal/sqlstore"
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
	// aliceTOTP and bobTOTP are their authenticators in the source
	// (alice's on, bob's being set up); aliceCodes the hashes of
	// alice's recovery codes.
	aliceTOTP, bobTOTP tacit.TOTP
	aliceCodes         [][]byte
	// adminToken is a write token of the administration API, made in
	// the source.
	adminToken string
}

var (
	aliceCreated = time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)
	bobCreated   = time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
)

// fillSource creates, in the database at dbURL: fillers accounts, then
// alice (password "alice password 1") and bob (disabled), with IDs past a
// gap, so that their IDs in a fresh target differ and sessions must be
// mapped; a live and an expired
// session for alice and a live one for bob; two-step sign-in on for
// alice, with recovery codes, and being set up by bob; a pending and an
// expired sign-up; one delivered and one queued mail; and a row in each
// table that is not copied: a reset link, an address change, a second
// step waiting, a throttle counter and the throttle key.
func fillSource(t *testing.T, dbURL string, fillers int) sourceFixture {
	t.Helper()
	ctx := context.Background()
	db := openTestStore(t, dbURL)
	db.SetKeys(seal.NewKeys(sourceKey))
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
	var aliceTOTP, bobTOTP tacit.TOTP
	var aliceCodes [][]byte
	for range 3 {
		_, h := tacit.NewToken()
		aliceCodes = append(aliceCodes, h)
	}
	err := db.Update(ctx, func(tx tacit.Tx) error {
		for _, a := range []*tacit.Account{&alice, &bob} {
			if err := tx.CreateAccount(ctx, a); err != nil {
				return err
			}
		}
		aliceTOTP = tacit.TOTP{AccountID: alice.ID, Secret: "JBSWY3DPEHPK3PXP", Enabled: true, LastStep: 59_000_123, CreatedAt: at[0], Failures: 7}
		bobTOTP = tacit.TOTP{AccountID: bob.ID, Secret: "KRSXG5CTMVRXEZLU", CreatedAt: at[1]}
		for _, o := range []tacit.TOTP{aliceTOTP, bobTOTP} {
			if err := tx.SaveTOTP(ctx, o); err != nil {
				return err
			}
		}
		if err := tx.SetRecoveryCodes(ctx, alice.ID, aliceCodes); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, &tacit.Event{AccountID: alice.ID, Kind: tacit.EventSignedIn, At: at[0], IP: "192.0.2.1", Count: 2}); err != nil {
			return err
		}
		for i, id := range []int64{alice.ID, bob.ID} {
			_, credID := tacit.NewToken()
			_, handle := tacit.NewToken()
			if err := tx.CreatePasskey(ctx, &tacit.Passkey{AccountID: id, CredentialID: credID, UserHandle: handle,
				Name: fmt.Sprintf("key %d", i), Credential: []byte(`{}`), SignCount: uint32(i), CreatedAt: at[i]}); err != nil {
				return err
			}
		}
		_, r1 := tacit.NewToken()
		_, r2 := tacit.NewToken()
		_, r3 := tacit.NewToken()
		if err := tx.CreateResetToken(ctx, &tacit.ResetToken{AccountID: alice.ID, TokenHash: r1,
			PasswordStamp: tacit.PasswordStamp(alice.PasswordHash), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.CreateEmailChange(ctx, &tacit.EmailChange{AccountID: alice.ID, NewEmail: "alice2@example.com",
			TokenHash: r2, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.CreateMFAChallenge(ctx, &tacit.MFAChallenge{AccountID: alice.ID, TokenHash: r3,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		if _, err := tx.HitCounter(ctx, []byte("a throttle key"), now, time.Hour); err != nil {
			return err
		}
		_, g1 := tacit.NewToken()
		for _, err := range []error{
			tx.CreateSigningKey(ctx, tacit.SigningKey{ID: "k1", Algorithm: "ES256", PrivateKey: []byte("der"), CreatedAt: now}),
			tx.CreateSubject(ctx, alice.ID, "alice-subject"),
			tx.CreateOIDCClient(ctx, tacit.OIDCClient{ID: "app", Name: "App", RedirectURIs: []string{"https://app.example/cb"}, CreatedAt: now}),
			tx.SaveConsent(ctx, tacit.Consent{AccountID: alice.ID, ClientID: "app", Scopes: []string{"openid"}, CreatedAt: now}),
			tx.CreateGrant(ctx, tacit.Grant{ID: "g1", AccountID: alice.ID, ClientID: "app", Scopes: []string{"openid"}, AuthTime: now,
				PasswordStamp: tacit.PasswordStamp(alice.PasswordHash), RefreshHash: g1, AccessExpiresAt: now.Add(time.Minute),
				CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
			tx.CreateAuthRequest(ctx, tacit.AuthRequest{ID: "r1", ClientID: "app", Request: []byte("{}"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}),
		} {
			if err != nil {
				return err
			}
		}
		sessions := []tacit.Session{
			{AccountID: alice.ID, TokenHash: hash, CreatedAt: at[0], LastSeenAt: at[1], ExpiresAt: at[2],
				UserAgent: "Firefox on Linux", IP: "192.0.2.1", Method: tacit.SessionSecondStep},
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
	if _, err := db.Secret(ctx, "throttle"); err != nil {
		t.Fatal(err)
	}
	op, err := flow.NewOperator(db, flow.Config{Links: tacit.Links{Base: &url.URL{Scheme: "http", Host: "127.0.0.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	adminToken, err := op.CreateAdminToken(ctx, "ops", tacit.AdminWrite)
	if err != nil {
		t.Fatal(err)
	}
	return sourceFixture{accounts: fillers + 2, session: token, sessionAt: at, expired: expired, bobSession: bobToken,
		aliceTOTP: aliceTOTP, bobTOTP: bobTOTP, aliceCodes: aliceCodes, adminToken: adminToken}
}

// notCopiedLines is what migrate-data says it left behind, from the
// source that fillSource made: every table not copied, by name.
const notCopiedLines = "not copied: signups (1 pending sign-ups; those users sign up again)\n" +
	"not copied: reset_tokens (password reset links; their owners ask again)\n" +
	"not copied: email_changes (address change links; those addresses stay as they were)\n" +
	"not copied: mfa_challenges (sign-ins waiting for their second step; those users sign in again)\n" +
	"not copied: oidc_auth_requests (OpenID Connect sign-ins in progress and unexchanged codes; those apps sign in again)\n" +
	"not copied: passkey_challenges (passkey ceremonies waiting for a browser; those users try again)\n" +
	"not copied: counters (throttle counters; every limit starts afresh)\n" +
	"not copied: spent_proofs (solved bot checks; their challenges expire within minutes)\n" +
	"not copied: secrets (the throttle counters' key; the target makes its own)\n" +
	"not copied: outbox (mail, sent or queued)\n" +
	"not copied: dev_mailbox (mail captured by the dev mail driver)\n" +
	"not copied: account_ids (the highest ID of a deleted account; the copy numbers accounts afresh)\n"

// The source's secrets are sealed under sourceKey, which migrate-data is
// given as a former key; the target's under targetKey, its key.
var (
	sourceKey, sourceKeyText = seal.NewRandomKey()
	targetKey, targetKeyText = seal.NewRandomKey()
)

// copyEnv is migrate-data's environment: the target's key, and the
// source's as a former one.
func copyEnv() func(string) string {
	return env("TACIT_SECRET_KEY", targetKeyText, "TACIT_SECRET_KEY_OLD", sourceKeyText)
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
	err = run(context.Background(), []string{"migrate-data", "--from", from, "--to", to}, copyEnv(), &stdout, &stderr)
	if err != nil {
		t.Fatalf("migrate-data: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	want := "database " + toDB.Display() + " migrated\n" +
		fmt.Sprintf("copied %d accounts, 2 authenticators (1 on), 3 recovery codes, 2 passkeys and 2 sessions\n", fx.accounts) +
		"copied OpenID Connect: 1 signing keys, 1 subject ids, 1 clients, 1 consents and 1 grants\n" +
		"copied 1 admin tokens\n" +
		notCopiedLines
	if stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", &stdout, want)
	}
	const wantWarning = "warning: 1 mails queued in the source were not delivered and are not copied; they will not be sent\n"
	if stderr.String() != wantWarning {
		t.Errorf("stderr:\n%s\nwant:\n%s", &stderr, wantWarning)
	}

	// Before serving, which touches the session.
	checkTargetAccounts(t, from, to, fx)
	checkEveryTable(t, from, to)
	checkTargetServes(t, to, fx)

	// A second copy would meet every address again: refused.
	err = run(context.Background(), []string{"migrate-data", "--from", from, "--to", to}, copyEnv(), io.Discard, io.Discard)
	wantErr := fmt.Sprintf("--to: database %s already holds %d accounts; migrate-data copies only into a database without accounts",
		toDB.Display(), fx.accounts)
	if err == nil || err.Error() != wantErr {
		t.Errorf("copy into a non-empty target: %v\nwant %s", err, wantErr)
	}
}

// checkTargetServes runs tacit serve on the copied database: alice's
// password takes her to her second step, her copied session works and keeps its account's
// address and creation time, and disabled bob cannot sign in.
func checkTargetServes(t *testing.T, to string, fx sourceFixture) {
	t.Helper()
	addr := freeAddr(t)
	var log lockedBuffer
	stop := startServe(t, addr, fastEnv(filepath.Join(t.TempDir(), "unused"), "TACIT_DATABASE_URL", to, "TACIT_SECRET_KEY", targetKeyText, "TACIT_ADMIN_API", "true"), &log)
	defer stop()
	base := "http://" + addr

	// The administration API's token made in the source works on the
	// target.
	req, _ := http.NewRequest(http.MethodGet, base+"/admin/api/accounts/alice@example.com", nil)
	req.Header.Set("Authorization", "Bearer "+fx.adminToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the source's admin token on the target: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Her password is right, and her second step is still asked for.
	if status, body := login(t, base, "alice@example.com", "alice password 1"); status != http.StatusOK || body != `{"status":"mfa_required"}` {
		t.Errorf("alice signs in on the target: %d %s, want 200 mfa_required", status, body)
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
	src.SetKeys(seal.NewKeys(sourceKey))
	dst.SetKeys(seal.NewKeys(targetKey))
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
		UserAgent: "Firefox on Linux", IP: "192.0.2.1", Method: tacit.SessionSecondStep}
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
	checkTargetMFA(t, dst, ids, fx)
}

// errRollback ends a transaction that only checked what it could write.
var errRollback = errors.New("rolled back")

// checkTargetMFA checks that alice's authenticator (secret, on, the last
// step used, creation time) and each of her recovery codes, and bob's
// authenticator being set up, came across to their accounts' new IDs, and
// that an account without one did not gain one.
func checkTargetMFA(t *testing.T, dst store, ids map[string]int64, fx sourceFixture) {
	t.Helper()
	ctx := context.Background()
	for email, want := range map[string]tacit.TOTP{"alice@example.com": fx.aliceTOTP, "bob@example.com": fx.bobTOTP} {
		want.AccountID = ids[email]
		var got tacit.TOTP
		err := dst.View(ctx, func(tx tacit.Tx) (err error) {
			got, err = tx.TOTPByAccount(ctx, ids[email])
			return err
		})
		if err != nil || got != want {
			t.Errorf("%s's authenticator in the target: %+v, %v\nwant %+v", email, got, err, want)
		}
	}
	if id, ok := ids["filler-0@example.com"]; ok {
		err := dst.View(ctx, func(tx tacit.Tx) error {
			_, err := tx.TOTPByAccount(ctx, id)
			return err
		})
		if !errors.Is(err, tacit.ErrNotFound) {
			t.Errorf("an account without an authenticator has one in the target: %v", err)
		}
	}
	// Each code is there: using it works (and is rolled back).
	err := dst.Update(ctx, func(tx tacit.Tx) error {
		n, err := tx.RecoveryCodesLeft(ctx, ids["alice@example.com"])
		if err != nil {
			return err
		}
		if n != len(fx.aliceCodes) {
			t.Errorf("alice has %d recovery codes in the target, want %d", n, len(fx.aliceCodes))
		}
		for i, h := range fx.aliceCodes {
			if err := tx.UseRecoveryCode(ctx, ids["alice@example.com"], h); err != nil {
				t.Errorf("alice's recovery code %d in the target: %v", i, err)
			}
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
}

// schemaColumns reads the tables of the database at dbURL, and the
// columns of each, from its schema (sqlite_schema, information_schema),
// leaving out schema_migrations, the migration runner's own.
func schemaColumns(t *testing.T, dbURL string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	d, err := parseDatabaseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	add := func(table, column string) {
		if table != "schema_migrations" {
			out[table] = append(out[table], column)
		}
	}
	if d.Engine == enginePostgres {
		conn, err := pgx.Connect(ctx, d.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT table_name::text, column_name::text FROM information_schema.columns
			WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
		if err != nil {
			t.Fatal(err)
		}
		var table, column string
		_, err = pgx.ForEachRow(rows, []any{&table, &column}, func() error { add(table, column); return nil })
		if err != nil {
			t.Fatal(err)
		}
	} else {
		db, err := sql.Open("sqlite", d.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_schema AS m, pragma_table_info(m.name) AS p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' ORDER BY m.name, p.cid`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var table, column string
			if err := rows.Scan(&table, &column); err != nil {
				t.Fatal(err)
			}
			add(table, column)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if len(out["accounts"]) == 0 {
		t.Fatalf("the schema of %s lists no accounts table: %v", dbURL, out)
	}
	return out
}

// rowCount counts the rows of a table of the database at dbURL.
func rowCount(t *testing.T, dbURL, table, where string) int64 {
	t.Helper()
	ctx := context.Background()
	d, err := parseDatabaseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	query := "SELECT count(*) FROM " + table + " " + where
	var n int64
	if d.Engine == enginePostgres {
		var conn *pgx.Conn
		if conn, err = pgx.Connect(ctx, d.URL); err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		err = conn.QueryRow(ctx, query).Scan(&n)
	} else {
		var db *sql.DB
		if db, err = sql.Open("sqlite", d.Path); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.QueryRowContext(ctx, query).Scan(&n)
	}
	if err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// checkEveryTable goes through every table of the source's schema: each
// must be either copied, with all of its columns, or left behind on
// purpose. A copied table holds rows in the source (the fixture exercises
// it) and as many in the target (for sessions, the live ones); a table
// left behind holds none in the target. So a table added to the schema
// (passkeys, say) cannot be forgotten: this fails until migrate-data
// copies it or says why it need not.
func checkEveryTable(t *testing.T, from, to string) {
	t.Helper()
	schema := schemaColumns(t, from)
	for table, columns := range schema {
		copied, isCopied := copiedTables[table]
		isDropped := slices.ContainsFunc(droppedTables, func(d sqlstore.DroppedTable) bool { return d.Name == table })
		if _, own := sqlstore.SchemaTables[table]; own && !isCopied && !isDropped {
			continue // every database has its own
		}
		switch {
		case isCopied && isDropped:
			t.Errorf("table %s is both copied and left behind", table)
		case isCopied:
			slices.Sort(columns)
			copied = slices.Sorted(slices.Values(copied))
			if !slices.Equal(columns, copied) {
				t.Errorf("table %s has columns %q; migrate-data copies %q", table, columns, copied)
			}
			where := ""
			if table == "sessions" {
				where = fmt.Sprintf("WHERE expires_at > %d", time.Now().UnixMicro())
			}
			n, m := rowCount(t, from, table, where), rowCount(t, to, table, "")
			if n == 0 {
				t.Errorf("table %s is empty in the source: the test copies nothing of it", table)
			}
			if m != n {
				t.Errorf("table %s: %d rows in the target, want %d as in the source", table, m, n)
			}
		case isDropped:
			where := ""
			if table == "secrets" {
				// The target's own record of its sealing key's id.
				where = "WHERE name <> 'seal_key_id'"
			}
			if n := rowCount(t, to, table, where); n != 0 {
				t.Errorf("table %s, not copied, has %d rows in the target", table, n)
			}
		default:
			t.Errorf("table %s is neither copied by migrate-data nor listed as left behind (droppedTables)", table)
		}
	}
	for table := range copiedTables {
		if _, ok := schema[table]; !ok {
			t.Errorf("copiedTables names %s, which the schema lacks", table)
		}
	}
	for _, d := range droppedTables {
		if _, ok := schema[d.Name]; !ok {
			t.Errorf("droppedTables names %s, which the schema lacks", d.Name)
		}
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
	if err := migrateData(context.Background(), opts, copyEnv(), &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := "database " + opts.to.Path + " migrated\n" +
		"copied 20 accounts so far\n" +
		"copied 40 accounts so far\n" +
		"copied 45 accounts, 2 authenticators (1 on), 3 recovery codes, 2 passkeys and 2 sessions\n"
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
	err := run(context.Background(), []string{"migrate-data", "--from", from, "--to", to, "--sessions=false"}, copyEnv(), &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"copied 2 accounts, 2 authenticators (1 on), 3 recovery codes, 2 passkeys and 0 sessions\n",
		"not copied: sessions (--sessions=false); every user signs in again\n",
	} {
		if !strings.Contains(stdout.String(), line) {
			t.Errorf("stdout lacks %q:\n%s", line, &stdout)
		}
	}
	addr := freeAddr(t)
	stop := startServe(t, addr, fastEnv(t.TempDir(), "TACIT_DATABASE_URL", to, "TACIT_SECRET_KEY", targetKeyText), io.Discard)
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

// client is an HTTP client with its own cookies, for a test that goes
// through sign-in steps.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: base, http: &http.Client{Jar: jar}}
}

// post sends body (a JSON object given as pairs of strings, or none) and
// returns the status and the trimmed answer.
func (c *client) post(path string, kv ...string) (int, string) {
	c.t.Helper()
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	body, _ := json.Marshal(m)
	resp, err := c.http.Post(c.base+path, "application/json", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// totpCode returns the code of secret for the time step of at.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestMigrateDataKeepsTwoStepSignIn is the move the README describes, end
// to end through the real server: an account turns on two-step sign-in on
// one database, migrate-data copies it to another, and on the new one a
// password alone does not sign in; the authenticator, the step it last
// used and the recovery codes work as before.
func TestMigrateDataKeepsTwoStepSignIn(t *testing.T) {
	for _, tt := range []struct {
		name     string
		from, to func(*testing.T) string
	}{
		{"sqlite to postgres", sqliteURL, postgresURL},
		{"postgres to sqlite", postgresURL, sqliteURL},
		{"sqlite to sqlite", sqliteURL, sqliteURL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			testMigrateDataKeepsTwoStepSignIn(t, tt.from(t), tt.to(t))
		})
	}
}

func testMigrateDataKeepsTwoStepSignIn(t *testing.T, from, to string) {
	const email, password = "mfa@example.com", "mfa password 1"
	var log lockedBuffer
	addr := freeAddr(t)
	stop := startServe(t, addr, fastEnv(t.TempDir(), "TACIT_DATABASE_URL", from, "TACIT_SECRET_KEY", sourceKeyText), &log)
	base := "http://" + addr
	owner := newClient(t, base)
	if status, body := owner.post("/api/register", "email", email); status != http.StatusAccepted {
		t.Fatalf("POST /api/register: %d %s", status, body)
	}
	token := mailToken(t, waitForMail(t, base, email).Text, base+"/register/complete?token=")
	if status, body := owner.post("/api/register/complete", "token", token, "password", password, "password_confirm", password); status != http.StatusCreated {
		t.Fatalf("POST /api/register/complete: %d %s", status, body)
	}
	if status, body := owner.post("/api/login", "email", email, "password", password); status != http.StatusOK || body != `{"status":"signed_in"}` {
		t.Fatalf("sign in: %d %s", status, body)
	}
	status, body := owner.post("/api/mfa/totp/setup")
	var setup struct{ Secret string }
	if err := json.Unmarshal([]byte(body), &setup); status != http.StatusOK || err != nil || setup.Secret == "" {
		t.Fatalf("POST /api/mfa/totp/setup: %d %s", status, body)
	}
	enabledAt := time.Now()
	status, body = owner.post("/api/mfa/totp/enable", "code", totpCode(t, setup.Secret, enabledAt), "password", password)
	var rc struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	if err := json.Unmarshal([]byte(body), &rc); status != http.StatusOK || err != nil || len(rc.RecoveryCodes) == 0 {
		t.Fatalf("POST /api/mfa/totp/enable: %d %s", status, body)
	}
	// On the source, the password alone no longer signs in.
	if status, body := newClient(t, base).post("/api/login", "email", email, "password", password); body != `{"status":"mfa_required"}` {
		t.Fatalf("sign in on the source with MFA on: %d %s, want mfa_required", status, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"migrate-data", "--from", from, "--to", to}, copyEnv(), &stdout, &stderr); err != nil {
		t.Fatalf("migrate-data: %v\n%s%s", err, &stdout, &stderr)
	}

	addr = freeAddr(t)
	stop = startServe(t, addr, fastEnv(t.TempDir(), "TACIT_DATABASE_URL", to, "TACIT_SECRET_KEY", targetKeyText), &log)
	defer stop()
	base = "http://" + addr
	second := func(what string) *client {
		t.Helper()
		c := newClient(t, base)
		status, body := c.post("/api/login", "email", email, "password", password)
		if status != http.StatusOK || body != `{"status":"mfa_required"}` {
			t.Fatalf("%s: the password alone answers %d %s on the target, want 200 mfa_required", what, status, body)
		}
		return c
	}
	c := second("first sign-in")
	// The code that turned MFA on was used: its step is spent.
	if status, body := c.post("/api/login/mfa", "code", totpCode(t, setup.Secret, enabledAt)); status != http.StatusUnauthorized {
		t.Errorf("the code used on the source, again on the target: %d %s, want 401", status, body)
	}
	if status, body := c.post("/api/login/mfa", "code", totpCode(t, setup.Secret, enabledAt.Add(30*time.Second))); status != http.StatusOK || body != `{"status":"signed_in"}` {
		t.Errorf("the next code on the target: %d %s, want 200 signed_in", status, body)
	}
	c = second("sign-in with a recovery code")
	if status, body := c.post("/api/login/mfa", "code", rc.RecoveryCodes[0]); status != http.StatusOK || body != `{"status":"signed_in"}` {
		t.Errorf("a recovery code on the target: %d %s, want 200 signed_in", status, body)
	}
	c = second("sign-in with a used recovery code")
	if status, body := c.post("/api/login/mfa", "code", rc.RecoveryCodes[0]); status != http.StatusUnauthorized {
		t.Errorf("a used recovery code on the target: %d %s, want 401", status, body)
	}
}

// TestMigrateDataRefusesUnknownSchema checks that migrate-data stops,
// copying nothing, at a table or a column of a copied table that it does
// not know: what it would leave behind might be what protects an account
// (a second factor, a lock), and the summary could not say so.
func TestMigrateDataRefusesUnknownSchema(t *testing.T) {
	for _, tt := range []struct {
		name, stmt, want string
	}{
		{"table", `CREATE TABLE security_keys (account_id INTEGER NOT NULL, credential BLOB NOT NULL)`,
			"--from: table security_keys is not one this tacit knows, so migrate-data cannot tell whether it holds what protects an account; copy with the tacit version that made it"},
		{"column", `ALTER TABLE totp ADD COLUMN passkey_hint TEXT NOT NULL DEFAULT ''`,
			"--from: column totp.passkey_hint is not one this tacit knows, so migrate-data cannot tell whether it holds what protects an account; copy with the tacit version that made it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			from, to := sqliteURL(t), sqliteURL(t)
			fillSource(t, from, 0)
			execSQL(t, from, tt.stmt)
			err := run(context.Background(), []string{"migrate-data", "--from", from, "--to", to}, copyEnv(), io.Discard, io.Discard)
			if err == nil || err.Error() != tt.want {
				t.Errorf("migrate-data: %v\nwant %s", err, tt.want)
			}
			if _, err := os.Stat(strings.TrimPrefix(to, "sqlite://")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("migrate-data made the target before refusing: %v", err)
			}
		})
	}
}

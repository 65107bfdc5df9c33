package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// tacit migrate lists the accounts that migration 006 could not bring to
// their canonical address because another account has it, and those whose
// address is no longer accepted, on both engines; it merges nothing.
func TestMigrateReportsAddresses(t *testing.T) {
	for name, dbURL := range map[string]func(*testing.T) string{"sqlite": sqliteURL, "postgres": postgresURL} {
		t.Run(name, func(t *testing.T) {
			dbURL := dbURL(t)
			db := openTestStore(t, dbURL)
			ctx := context.Background()
			var ids []int64
			for _, email := range []string{"kate@example.com", "\u212aate@example.com", "j\u030cane@example.com", "a\u200bb@example.com"} {
				a := tacit.Account{Email: email, PasswordHash: "x", CreatedAt: time.Now()}
				if err := db.Update(ctx, func(tx tacit.Tx) error { return tx.CreateAccount(ctx, &a) }); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, a.ID)
			}
			keyDir := t.TempDir() // where the key file of a PostgreSQL database goes
			execSQL(t, dbURL, `DELETE FROM schema_migrations WHERE version = 6`)
			var stdout bytes.Buffer
			if err := run(ctx, []string{"migrate", "--database-url", dbURL}, env("TACIT_DATA_DIR", keyDir), &stdout, io.Discard); err != nil {
				t.Fatal(err)
			}
			d, _ := parseDatabaseURL(dbURL)
			wantReport := fmt.Sprintf("addresses held by several accounts: 1 (left unchanged; keep one account per address, remove or rename the others by hand)\n"+
				"  \"kate@example.com\": account %d \"kate@example.com\" account %d \"\\u212aate@example.com\"\n"+
				"accounts with an address no longer accepted (invisible characters): 1 (they can sign in, but not reset their password)\n"+
				"  account %d \"a\\u200bb@example.com\"\n", ids[0], ids[1], ids[3])
			if want := "database " + d.Display() + " migrated\n" + wantReport; stdout.String() != want {
				t.Errorf("migrate printed\n%s\nwant\n%s", &stdout, want)
			}
			// The report stays until the operator acts; the rest moved.
			stdout.Reset()
			if err := run(ctx, []string{"migrate", "--database-url", dbURL}, env("TACIT_DATA_DIR", keyDir), &stdout, io.Discard); err != nil {
				t.Fatal(err)
			}
			if want := "database " + d.Display() + " is current\n" + wantReport; stdout.String() != want {
				t.Errorf("second migrate printed\n%s\nwant\n%s", &stdout, want)
			}
			// serve, which migrates by itself, warns of them at start.
			var logs bytes.Buffer
			if err := warnAddresses(ctx, db, d, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
				t.Fatal(err)
			}
			if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "addresses_held_by_several_accounts=1") ||
				!strings.Contains(l, "addresses_no_longer_accepted=1") {
				t.Errorf("serve's warning: %s", l)
			}
			err := db.View(ctx, func(tx tacit.Tx) error {
				a, err := tx.AccountByID(ctx, ids[2])
				if err == nil && a.Email != "\u01f0ane@example.com" {
					t.Errorf("account %d: %+q, want \\u01f0ane@example.com", a.ID, a.Email)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

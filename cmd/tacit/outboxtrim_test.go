package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/testenv"
)

// TestTrimOutbox fills a real outbox and checks that a trim logs the row
// count at debug while under the cap, warns when it had to delete handled
// rows early, and warns louder, with the count, when it dropped pending
// mail, never an owner notice.
func TestTrimOutbox(t *testing.T) {
	ctx := context.Background()
	db := testenv.SQLite(t)
	now := time.Now()
	kinds := []tacit.MailKind{tacit.MailNone, tacit.MailNone, tacit.MailPasswordChanged, tacit.MailResetPassword, tacit.MailFinishSignup}
	err := db.Update(ctx, func(tx tacit.Tx) error {
		for _, k := range kinds {
			m := tacit.Mail{Kind: k, To: "jane@example.com", CreatedAt: now}
			if err := tx.EnqueueMail(ctx, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var log bytes.Buffer
	trimOutbox(ctx, db, 10, testLogger(&log))
	if want := "level=DEBUG msg=\"trimmed mail outbox\" rows=5\n"; log.String() != want {
		t.Errorf("under the cap, log:\n%s\nwant:\n%s", log.String(), want)
	}

	log.Reset()
	trimOutbox(ctx, db, 3, testLogger(&log))
	want := "level=WARN msg=\"mail outbox reached outbox_max_rows; handled mail and rows that send nothing may have been deleted early\" rows=3 outbox_max_rows=3\n"
	if log.String() != want {
		t.Errorf("at the cap, log:\n%s\nwant:\n%s", log.String(), want)
	}

	log.Reset()
	trimOutbox(ctx, db, 0, testLogger(&log))
	want = "level=ERROR msg=\"mail outbox over outbox_max_rows with pending mail: dropped the oldest pending mail that anyone can cause (sign-up, reset and similar links), kept every security notice\" dropped=2 rows=1 outbox_max_rows=0\n"
	if log.String() != want {
		t.Errorf("over the cap, log:\n%s\nwant:\n%s", log.String(), want)
	}
	ms, err := db.ClaimMail(ctx, now, time.Minute, 10)
	if err != nil || len(ms) != 1 || ms[0].Kind != tacit.MailPasswordChanged {
		t.Errorf("left in the outbox: %+v, %v; want the password notice", ms, err)
	}
}

// TestOutboxMaxRowsSetting checks the setting's default and that it is read.
func TestOutboxMaxRowsSetting(t *testing.T) {
	c, err := Load("config", nil, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.OutboxMaxRows != defaultOutboxMaxRows {
		t.Errorf("default outbox_max_rows = %d, want %d", c.OutboxMaxRows, defaultOutboxMaxRows)
	}
	c, err = Load("config", nil, env("TACIT_OUTBOX_MAX_ROWS", "5000"))
	if err != nil {
		t.Fatal(err)
	}
	if c.OutboxMaxRows != 5000 {
		t.Errorf("outbox_max_rows = %d, want 5000", c.OutboxMaxRows)
	}
}

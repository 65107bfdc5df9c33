package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/testenv"
)

// testLogger returns a logger at debug level whose lines, without times,
// go to buf.
func testLogger(buf io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// TestTrimCounters fills a real database with throttle counters and
// checks that a trim drops the expired ones, logs at debug while under
// the cap and warns once live counters had to go.
func TestTrimCounters(t *testing.T) {
	ctx := context.Background()
	db := testenv.SQLite(t)
	now := time.Now()
	err := db.Update(ctx, func(tx tacit.Tx) error {
		for i, at := range []time.Time{now, now, now, now.Add(-2 * time.Hour), now.Add(-3 * time.Hour)} {
			if _, err := tx.HitCounter(ctx, []byte{byte(i)}, at, time.Hour); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var log bytes.Buffer
	trimCounters(ctx, db, 10, testLogger(&log))
	if want := "level=DEBUG msg=\"trimmed throttle counters\" counters=3\n"; log.String() != want {
		t.Errorf("under the cap, log:\n%s\nwant:\n%s", log.String(), want)
	}

	log.Reset()
	trimCounters(ctx, db, 2, testLogger(&log))
	want := "level=WARN msg=\"throttle counters reached throttle_max_keys; the least recently hit that held nothing back may have been dropped\" counters=2 throttle_max_keys=2\n"
	if log.String() != want {
		t.Errorf("over the cap, log:\n%s\nwant:\n%s", log.String(), want)
	}
	if left, err := db.TrimCounters(ctx, now, 100); err != nil || left != 2 {
		t.Errorf("counters left after trimming to 2: %d, %v", left, err)
	}
}

// TestTrimLoop checks that the loop trims at once, again every interval,
// and returns when its context ends.
func TestTrimLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	db := testenv.SQLite(t)
	var log lockedBuffer
	done := make(chan struct{})
	go func() {
		trimLoop(ctx, db, 5, 10*time.Millisecond, testLogger(&log), nil)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(log.String(), `msg="trimmed throttle counters" counters=0`) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 3 trims in 5s; log:\n%s", log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("trimLoop did not return within 5s of cancellation")
	}
	if strings.Contains(log.String(), "ERROR") {
		t.Errorf("cancellation logged an error:\n%s", log.String())
	}
}

// TestTrimLoopFailsClosed: counters that hold their keys back are never
// dropped, and when they alone exceed the cap the loop warns and tells the
// flows the table is full; once they fit, that it is not.
func TestTrimLoopFailsClosed(t *testing.T) {
	ctx := context.Background()
	db := testenv.SQLite(t)
	now := time.Now()
	err := db.Update(ctx, func(tx tacit.Tx) error {
		for i := range 3 {
			if _, err := tx.HitCounter(ctx, []byte{byte(i)}, now, time.Hour); err != nil {
				return err
			}
			if err := tx.HoldCounter(ctx, []byte{byte(i)}, now.Add(time.Hour)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		maxKeys int
		full    bool
		log     string
	}{
		{2, true, "level=WARN msg=\"throttle counters that hold keys back exceed throttle_max_keys; requests that need a new counter are throttled until some expire\" counters=3 throttle_max_keys=2\n"},
		{5, false, "level=DEBUG msg=\"trimmed throttle counters\" counters=3\n"},
	} {
		var log lockedBuffer
		loopCtx, cancel := context.WithCancel(ctx)
		got := make(chan bool, 1)
		go trimLoop(loopCtx, db, c.maxKeys, time.Hour, testLogger(&log), func(full bool) {
			got <- full
			cancel()
		})
		select {
		case full := <-got:
			if full != c.full {
				t.Errorf("max %d: full = %v, want %v", c.maxKeys, full, c.full)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("trimLoop did not report within 5s")
		}
		if log.String() != c.log {
			t.Errorf("max %d: log\n%s\nwant\n%s", c.maxKeys, log.String(), c.log)
		}
	}
}

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

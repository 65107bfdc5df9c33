package web_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/mail"
	"github.com/tacitauth/tacit/web"
)

// syncBuffer collects the log lines of the instance's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLibraryUpkeep runs tacit as a library, on a SQLite file, under a
// flood of sign-ups for made-up addresses: the instance purges expired
// records and keeps the throttle counters and the mail outbox under their
// caps by itself, and stops when its context ends.
func TestLibraryUpkeep(t *testing.T) {
	ctx := context.Background()
	db, hasher := testenv.SQLite(t), testenv.Hasher(t)
	const email, password = "ada@example.com", "a long enough password"
	if err := accountstate.Arrange(ctx, db, hasher, accountstate.Verified, email, password); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	expired, live := []byte("expired session"), []byte("live session")
	var accountID int64
	err := db.Update(ctx, func(tx tacit.Tx) error {
		a, err := tx.AccountByEmail(ctx, email)
		if err != nil {
			return err
		}
		for _, s := range []tacit.Session{
			{AccountID: a.ID, TokenHash: expired, CreatedAt: now.Add(-2 * time.Hour), LastSeenAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
			{AccountID: a.ID, TokenHash: live, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)},
		} {
			if err := tx.CreateSession(ctx, &s); err != nil {
				return err
			}
		}
		// Activity older than the default retention goes; newer stays.
		for _, at := range []time.Time{now.Add(-web.DefaultActivityKeep - time.Hour), now.Add(-time.Hour)} {
			if err := tx.AddEvent(ctx, &tacit.Event{AccountID: a.ID, Kind: tacit.EventSignedIn, At: at}); err != nil {
				return err
			}
		}
		accountID = a.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	const maxKeys, maxRows = 5, 10
	logs := &syncBuffer{}
	srv := httptest.NewUnstartedServer(nil)
	base, _ := url.Parse("http://" + srv.Listener.Addr().String())
	inst, err := web.NewInstance(web.Options{
		Store: db, Hasher: hasher, Sender: mail.DevSender{Box: db},
		Flow:   flow.Config{Links: tacit.Links{Base: base}, Limits: testenv.RoomyLimits()},
		Upkeep: web.Upkeep{ThrottleMaxKeys: maxKeys, OutboxMaxRows: maxRows, PurgeEvery: 20 * time.Millisecond, TrimEvery: 20 * time.Millisecond},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = inst
	srv.Start()
	defer srv.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan struct{})
	go func() { inst.Run(runCtx); close(ran) }()

	// Each address starts counters of its own and queues a mail.
	const flood = 40
	for i := range flood {
		resp, err := http.Post(srv.URL+"/api/register", "application/json",
			strings.NewReader(fmt.Sprintf(`{"email":"made-up-%d@example.com"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("sign-up %d: %d", i, resp.StatusCode)
		}
	}

	// Counting expired counters away is part of trimming, so asking the
	// store how many are left with no cap leaves the count as it is.
	var counters, rows int
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if counters, err = db.TrimCounters(ctx, time.Now(), 1<<30); err != nil {
			t.Fatal(err)
		}
		r, err := db.TrimOutbox(ctx, time.Now(), 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		rows = r.Left
		events := 0
		if err := db.View(ctx, func(tx tacit.Tx) error {
			list, err := tx.Events(ctx, accountID, 10)
			events = len(list)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		_, err = sessionByToken(ctx, db, expired)
		if counters <= maxKeys && rows <= maxRows && errors.Is(err, tacit.ErrNotFound) && events == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %d counters (cap %d), %d outbox rows (cap %d), expired session: %v, %d events (want the recent one)", counters, maxKeys, rows, maxRows, err, events)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := sessionByToken(ctx, db, live); err != nil {
		t.Errorf("the live session was purged: %v", err)
	}

	cancel()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancellation")
	}
	// Pending mail dropped at the outbox cap is logged at ERROR, and is
	// what a flood may cause; a housekeeping step that failed is not.
	for _, failed := range []string{`msg="purge expired records"`, `msg="purge old activity"`, `msg="trim throttle counters"`, `msg="trim mail outbox"`} {
		if strings.Contains(logs.String(), failed) {
			t.Errorf("logged %s:\n%s", failed, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `msg="throttle counters reached throttle_max_keys`) {
		t.Errorf("no warning that the counters reached their cap:\n%s", logs.String())
	}
}

func sessionByToken(ctx context.Context, db tacit.Store, h []byte) (tacit.Session, error) {
	var s tacit.Session
	err := db.View(ctx, func(tx tacit.Tx) error {
		var err error
		s, err = tx.SessionByToken(ctx, h)
		return err
	})
	return s, err
}

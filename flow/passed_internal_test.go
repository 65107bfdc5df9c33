package flow

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/sqlite"
)

// newInternal returns a Service over a fresh SQLite file, with its clock
// at *now.
func newInternal(t *testing.T, now *time.Time) *Service {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tacit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := argon2id.New(argon2id.Params{Memory: 64, Time: 1, Threads: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://auth.example.com")
	s, err := New(db, h, Config{Links: tacit.Links{Base: base}, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPassedTakesBackOnlyItsOwnHit: a successful sign-in leaves the
// address's counter as the outsider left it. Untouched since its hit, the
// counter is put back exactly (or removed if there was none); hit by
// others meanwhile, it loses one event and keeps theirs.
func TestPassedTakesBackOnlyItsOwnHit(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := newInternal(t, &now)
	r := rule{name: "login", limit: s.cfg.Limits.Login, id: "owner@example.com"}
	key := s.throttleKey(r.name, r.id)
	read := func() (tacit.Counter, bool) {
		var c tacit.Counter
		err := s.store.View(ctx, func(tx tacit.Tx) error {
			var err error
			c, err = tx.Counter(ctx, key, now)
			return err
		})
		if errors.Is(err, tacit.ErrNotFound) {
			return c, false
		}
		if err != nil {
			t.Fatal(err)
		}
		return c, true
	}
	admit := func() admission {
		var ad admission
		err := s.store.Update(ctx, func(tx tacit.Tx) error {
			var err error
			_, _, ad, err = s.admitFirst(ctx, tx, now, r)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ad
	}
	pass := func(ad admission) {
		if err := s.store.Update(ctx, func(tx tacit.Tx) error { return s.passed(ctx, tx, r, ad) }); err != nil {
			t.Fatal(err)
		}
	}

	// No counter before: none after.
	pass(admit())
	if c, ok := read(); ok {
		t.Fatalf("counter after a sign-in on a fresh address: %+v", c)
	}

	// An outsider's five failures, then the owner: put back exactly,
	// hold included.
	for range 5 {
		admit()
		now = now.Add(time.Millisecond)
	}
	before, _ := read()
	if before.Count != 5 || before.HoldUntil.IsZero() {
		t.Fatalf("after five failures: %+v", before)
	}
	now = now.Add(2 * time.Second)
	pass(admit())
	after, _ := read()
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("after the owner's sign-in:\n %+v\nwant as before\n %+v", after, before)
	}

	// The outsider hits between the owner's hit and its success (after
	// waiting out the delay that hit imposed): only the owner's event is
	// taken back.
	now = now.Add(4 * time.Second)
	ad := admit()
	now = now.Add(3 * time.Second)
	admit()
	theirs, _ := read()
	if theirs.Count != 7 {
		t.Fatalf("count %d after the owner's hit and the outsider's, want 7", theirs.Count)
	}
	pass(ad)
	got, _ := read()
	if got.Count != theirs.Count-1 || !got.LastAt.Equal(theirs.LastAt) {
		t.Fatalf("after the owner's success with an outsider's hit in between: %+v, want count %d and the outsider's last hit %v", got, theirs.Count-1, theirs.LastAt)
	}
	if want := r.limit.hold(got); !got.HoldUntil.Equal(want) {
		t.Errorf("hold %v, want %v", got.HoldUntil, want)
	}
}

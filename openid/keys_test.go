package openid

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/postgres"
	"github.com/tacitauth/tacit/sqlite"
)

// twoInstances opens two stores on one database of each engine, as two
// instances of tacit would.
var twoInstances = map[string]func(t *testing.T) (tacit.Store, tacit.Store){
	"sqlite": func(t *testing.T) (tacit.Store, tacit.Store) {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "tacit.db")
		open := func() tacit.Store {
			db, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return db
		}
		return open(), open()
	},
	"postgres": func(t *testing.T) (tacit.Store, tacit.Store) {
		ctx := context.Background()
		url, _ := testenv.PostgresSchema(t)
		open := func() tacit.Store {
			db, err := postgres.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return db
		}
		return open(), open()
	},
}

// TestRotateDueOnce: instances running the scheduled rotation at once
// make one new key per algorithm, not one each; a key not yet due is
// left alone; a retired key leaves the store once every token it signed
// has expired, not before.
func TestRotateDueOnce(t *testing.T) {
	const every, keep = 30 * 24 * time.Hour, 2 * time.Hour
	for engine, open := range twoInstances {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			a, b := open(t)
			start := time.Now().Truncate(time.Microsecond)
			for _, alg := range Algorithms {
				if err := EnsureKey(ctx, a, alg, start); err != nil {
					t.Fatal(err)
				}
			}
			if rotated, err := RotateDue(ctx, b, start.Add(every-time.Minute), every, keep); err != nil || len(rotated) != 0 {
				t.Fatalf("rotation before it is due: %v, %v", rotated, err)
			}

			due := start.Add(every + time.Minute)
			var wg sync.WaitGroup
			results := make([][]jose.SignatureAlgorithm, 6)
			for i := range results {
				s := a
				if i%2 == 1 {
					s = b
				}
				wg.Go(func() {
					r, err := RotateDue(ctx, s, due, every, keep)
					if err != nil {
						t.Errorf("instance %d: %v", i, err)
					}
					results[i] = r
				})
			}
			wg.Wait()
			count := map[jose.SignatureAlgorithm]int{}
			for _, r := range results {
				for _, alg := range r {
					count[alg]++
				}
			}
			keys, err := storedKeys(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			for _, alg := range Algorithms {
				if count[alg] != 1 {
					t.Errorf("%s rotated %d times by %d concurrent runs, want once", alg, count[alg], len(results))
				}
				if l := live(keys, alg); len(l) != 1 || !l[0].CreatedAt.Equal(due) {
					t.Errorf("%s keys that sign after the rotation: %+v", alg, l)
				}
			}
			if len(keys) != 2*len(Algorithms) {
				t.Fatalf("%d keys after one rotation of each algorithm, want %d", len(keys), 2*len(Algorithms))
			}

			// The retired keys stay until keep has passed since they
			// retired, then go; the new ones stay.
			if _, err := RotateDue(ctx, b, due.Add(keep), every, keep); err != nil {
				t.Fatal(err)
			}
			if keys, _ := storedKeys(ctx, a); len(keys) != 2*len(Algorithms) {
				t.Errorf("%d keys at the end of keep, want the retired ones still there", len(keys))
			}
			if _, err := RotateDue(ctx, b, due.Add(keep+time.Second), every, keep); err != nil {
				t.Fatal(err)
			}
			keys, _ = storedKeys(ctx, a)
			if len(keys) != len(Algorithms) {
				t.Errorf("%d keys after keep, want only the %d that sign", len(keys), len(Algorithms))
			}
			for _, k := range keys {
				if !k.RetiredAt.IsZero() {
					t.Errorf("retired key %s still stored", k.ID)
				}
			}
		})
	}
}

// TestRotateKeyForced: tacit keys rotate replaces ES256, and RS256 only
// once a client made one.
func TestRotateKeyForced(t *testing.T) {
	ctx := context.Background()
	db := testenv.SQLite(t)
	now := time.Now()
	if err := EnsureKey(ctx, db, jose.ES256, now); err != nil {
		t.Fatal(err)
	}
	if err := RotateKey(ctx, db, now); err != nil {
		t.Fatal(err)
	}
	keys, _ := storedKeys(ctx, db)
	if len(keys) != 2 || len(live(keys, jose.ES256)) != 1 || len(live(keys, jose.RS256)) != 0 {
		t.Fatalf("keys after a forced rotation without RS256: %+v", keys)
	}
	if err := EnsureKey(ctx, db, jose.RS256, now); err != nil {
		t.Fatal(err)
	}
	if err := RotateKey(ctx, db, now); err != nil {
		t.Fatal(err)
	}
	keys, _ = storedKeys(ctx, db)
	if len(keys) != 5 || len(live(keys, jose.ES256)) != 1 || len(live(keys, jose.RS256)) != 1 {
		t.Fatalf("keys after a forced rotation with RS256: %d", len(keys))
	}
	list, err := ListKeys(ctx, db, Config{})
	if err != nil || len(list) != 5 {
		t.Fatalf("ListKeys: %v, %v", list, err)
	}
	for _, k := range list {
		if k.RetiredAt.IsZero() != k.RemovedAt.IsZero() || k.RetiredAt.IsZero() == k.RotatesAt.IsZero() {
			t.Errorf("key %s: %+v", k.ID, k)
		}
	}
}

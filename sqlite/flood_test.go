package sqlite

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/sqlstore"
)

// fileSize checkpoints the WAL into the database file and returns the
// file's size and its page counts.
func fileSize(t *testing.T, db *DB, path string) (size int64, pages, free int) {
	t.Helper()
	if _, err := db.writer.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.writer.QueryRow(`SELECT page_count, freelist_count FROM pragma_page_count, pragma_freelist_count`).Scan(&pages, &free); err != nil {
		t.Fatal(err)
	}
	return fi.Size(), pages, free
}

func counterRows(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.reader.QueryRow(`SELECT count(*) FROM counters`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// floodBatch hits count fresh random keys, key n at base+n ms, in one
// transaction. Random 32-byte keys are what keyed hashes of made-up
// addresses look like.
func floodBatch(ctx context.Context, db *DB, base time.Time, first, count int, ttl time.Duration) error {
	return db.Update(ctx, func(tx tacit.Tx) error {
		key := make([]byte, 32)
		for n := first; n < first+count; n++ {
			rand.Read(key)
			c, err := tx.HitCounter(ctx, key, base.Add(time.Duration(n)*time.Millisecond), ttl)
			if err != nil {
				return err
			}
			if c.Count != 1 {
				return fmt.Errorf("fresh key %d counted %d", n, c.Count)
			}
		}
		return nil
	})
}

// A flood of sign-in attempts for made-up addresses makes one counter per
// address. Trimmed to a cap after each burst, as the server does
// periodically, the table never holds more than the cap plus one burst,
// and the file stops growing once it has room for that many rows: the
// pages a trim frees are reused by the next burst.
func TestCounterFlood(t *testing.T) {
	t.Parallel()
	keys, limit := 100_000, 10_000
	if testing.Short() {
		keys, limit = 10_000, 1_000
	}
	const batches, ttl = 10, 15 * time.Minute
	per := keys / batches
	ctx := context.Background()
	path := engine.Fresh(t)
	db := engine.OpenAt(t, path)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }

	start := time.Now()
	var hitting time.Duration
	var peak, bound int64
	for b := range batches {
		hitStart := time.Now()
		if err := floodBatch(ctx, db, base, b*per, per, ttl); err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
		hitting += time.Since(hitStart)
		left, err := db.TrimCounters(ctx, at((b+1)*per), limit)
		if err != nil {
			t.Fatal(err)
		}
		if want := min(limit, (b+1)*per); left != want || counterRows(t, db) != want {
			t.Fatalf("after batch %d: TrimCounters left %d, table has %d rows; want %d", b, left, counterRows(t, db), want)
		}
		size, _, _ := fileSize(t, db, path)
		// The table held its most rows, limit+per, in batch 1. Later
		// batches fill freed pages in another order, so allow the odd
		// page more.
		if b == 1 {
			peak = size
			bound = peak + peak/20
		}
		if b > 1 && size > bound {
			t.Errorf("after batch %d the file is %d bytes, over %d (the size when the table was largest, plus 5%%)", b, size, bound)
		}
	}
	elapsed := time.Since(start)

	// The latest-expiring counters are the ones kept.
	var oldest int64
	if err := db.reader.QueryRow(`SELECT min(expires_at) FROM counters`).Scan(&oldest); err != nil {
		t.Fatal(err)
	}
	if want := sqlstore.Micros(at(keys - limit).Add(ttl)); oldest != want {
		t.Errorf("oldest kept counter expires at %d, want %d", oldest, want)
	}

	// Once every counter has expired, a purge empties the table; the file
	// keeps its pages for the next flood.
	if err := db.Purge(ctx, at(keys).Add(ttl), time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := counterRows(t, db); n != 0 {
		t.Fatalf("%d counters after Purge, want 0", n)
	}
	size, pages, free := fileSize(t, db, path)
	if size > bound {
		t.Errorf("after Purge the file is %d bytes, over %d", size, bound)
	}
	t.Logf("%d random keys in %d transactions, trimmed to %d after each: %v in all, %v hitting (%v per hit); "+
		"file %d bytes (%d when the table was largest), %d pages, %d free after Purge",
		keys, batches, limit, elapsed.Round(time.Millisecond), hitting.Round(time.Millisecond),
		(hitting / time.Duration(keys)).Round(100*time.Nanosecond), size, peak, pages, free)
}

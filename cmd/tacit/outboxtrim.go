package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/tacitauth/tacit"
)

// defaultOutboxMaxRows bounds the mail outbox. Every request that takes
// an address writes a row, and handled mail is kept a week for diagnosis,
// so a flood of requests would otherwise grow the database freely. At a
// few hundred bytes a row this is some tens of MB; pending mail near it
// means a backlog no mail server would clear anyway.
const defaultOutboxMaxRows = 100_000

// outboxSettings bound the mail outbox.
var outboxSettings = []setting{
	{key: "outbox_max_rows", def: strconv.Itoa(defaultOutboxMaxRows), tag: "!!int",
		about: "most mail outbox rows kept; past it handled mail goes first, then the oldest pending mail anyone can cause (never a security notice)",
		set:   setOutboxMaxRows, get: func(c *Config) string { return strconv.Itoa(c.OutboxMaxRows) }},
}

func setOutboxMaxRows(c *Config, v string) error {
	n, err := parseWhole(v, 1, 1<<32-1)
	c.OutboxMaxRows = int(n)
	return err
}

// outboxLoop keeps at most maxRows rows in the mail outbox, every interval.
func outboxLoop(ctx context.Context, db tacit.Store, maxRows int, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		trimOutbox(ctx, db, maxRows, log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// trimOutbox trims the outbox and says how big it is: at debug while
// under the cap, a warning when handled rows had to go early, and an
// error when pending mail was dropped unsent. Dropping happens off the
// request path, so no answer changes, and it drops only mail anyone can
// cause for any address (sign-up, resend, reset links, "already
// registered"), so a flood can delay or lose such mail but never an
// owner's security notice.
func trimOutbox(ctx context.Context, db tacit.Store, maxRows int, log *slog.Logger) {
	r, err := db.TrimOutbox(ctx, time.Now(), maxRows)
	if err != nil {
		if ctx.Err() == nil { // not merely shutting down
			log.Error("trim mail outbox", "err", err)
		}
		return
	}
	switch {
	case r.Dropped > 0:
		log.Error("mail outbox over outbox_max_rows with pending mail: dropped the oldest pending mail that anyone can cause (sign-up, reset and similar links), kept every security notice",
			"dropped", r.Dropped, "rows", r.Left, "outbox_max_rows", maxRows)
	case r.Left >= maxRows:
		log.Warn("mail outbox reached outbox_max_rows; handled mail and rows that send nothing may have been deleted early",
			"rows", r.Left, "outbox_max_rows", maxRows)
	default:
		log.Debug("trimmed mail outbox", "rows", r.Left)
	}
}

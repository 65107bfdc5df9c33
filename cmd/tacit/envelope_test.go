package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/flow"
)

// With a stored hash costlier than the live one, the auto envelope is
// sized to cover its verification, and a fixed envelope too small for it
// is kept with a warning naming the setting.
func TestEnvelopeCoversCostlierStoredHash(t *testing.T) {
	ctx := context.Background()
	db := openTestStore(t, sqliteURL(t))
	live, err := argon2id.New(argon2id.Params{Memory: 64, Time: 1, Threads: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	costly, err := argon2id.New(argon2id.Params{Memory: 4096, Time: 16, Threads: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range []*argon2id.Hasher{live, costly} {
		enc, err := h.Hash("pw")
		if err != nil {
			t.Fatal(err)
		}
		a := tacit.Account{Email: string(rune('a'+i)) + "@example.com", PasswordHash: enc, CreatedAt: time.Now()}
		if err := db.Update(ctx, func(tx tacit.Tx) error { return tx.CreateAccount(ctx, &a) }); err != nil {
			t.Fatal(err)
		}
	}
	c, err := defaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	// Verifying the costly hash takes tens of milliseconds; the live one
	// well under one. The envelope must cover the costly verification at
	// its fastest (its idle time). Both are measured on a shared machine
	// whose load comes and goes: a measurement of the envelope made under
	// more load than the verification timed right after it says nothing,
	// so up to three attempts are made. An envelope sized without the
	// costly hash stays near the live hash's and fails every one.
	c.Envelope = AutoEnvelope
	enc, _ := costly.Hash("pw")
	for attempt := 1; ; attempt++ {
		auto, _, err := sizeEnvelope(c, db, live, log)
		if err != nil {
			t.Fatal(err)
		}
		liveOnly := flow.MeasureEnvelope(live)
		costlyTime := time.Hour
		for range 16 {
			start := time.Now()
			costly.Verify("wrong", enc)
			costlyTime = min(costlyTime, time.Since(start))
		}
		t.Logf("auto envelope %v; from the live hash alone %v; costly verification %v", auto, liveOnly, costlyTime)
		if auto > costlyTime && auto > liveOnly {
			break
		}
		if attempt == 3 {
			t.Fatalf("auto envelope %v does not cover the costlier stored hash (%v; live alone: %v), on 3 attempts", auto, costlyTime, liveOnly)
		}
	}

	logs.Reset()
	c.Envelope = 10 * time.Millisecond
	fixed, _, err := sizeEnvelope(c, db, live, log)
	if err != nil || fixed != c.Envelope {
		t.Fatalf("fixed envelope = %v, %v; want %v kept", fixed, err, c.Envelope)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "TACIT_ENVELOPE") {
		t.Errorf("no warning naming the setting: %s", &logs)
	}
}

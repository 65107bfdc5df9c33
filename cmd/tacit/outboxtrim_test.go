package main

import (
	"testing"

	"github.com/tacitauth/tacit/web"
)

// TestOutboxMaxRowsSetting checks the setting's default and that it is read.
func TestOutboxMaxRowsSetting(t *testing.T) {
	c, err := Load("config", nil, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.OutboxMaxRows != web.DefaultOutboxMaxRows {
		t.Errorf("default outbox_max_rows = %d, want %d", c.OutboxMaxRows, web.DefaultOutboxMaxRows)
	}
	c, err = Load("config", nil, env("TACIT_OUTBOX_MAX_ROWS", "5000"))
	if err != nil {
		t.Fatal(err)
	}
	if c.OutboxMaxRows != 5000 {
		t.Errorf("outbox_max_rows = %d, want 5000", c.OutboxMaxRows)
	}
}

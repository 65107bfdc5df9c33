package main

import (
	"strconv"

	"github.com/tacitauth/tacit/web"
)

// outboxSettings bound the mail outbox.
var outboxSettings = []setting{
	{key: "outbox_max_rows", def: strconv.Itoa(web.DefaultOutboxMaxRows), tag: "!!int",
		about: "most mail outbox rows kept; past it handled mail goes first, then the oldest pending mail anyone can cause (never a security notice)",
		set:   setOutboxMaxRows, get: func(c *Config) string { return strconv.Itoa(c.OutboxMaxRows) }},
}

func setOutboxMaxRows(c *Config, v string) error {
	n, err := parseWhole(v, 1, 1<<32-1)
	c.OutboxMaxRows = int(n)
	return err
}

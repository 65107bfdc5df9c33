package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// reportAddresses prints the accounts the operator must look at after
// migration 006 brought stored addresses to their canonical form: accounts
// whose addresses now share one form (one mailbox, several accounts; the
// migration leaves them as they are rather than merge two owners'
// accounts), and accounts whose address is no longer accepted. It prints
// nothing when there are none. Addresses are quoted with escapes, so the
// invisible characters that made them differ show.
func reportAddresses(ctx context.Context, db store, d Database, w io.Writer) error {
	rep, err := db.AddressReport(ctx)
	if err != nil {
		return d.redact(err)
	}
	var b strings.Builder
	if n := len(rep.Collisions); n > 0 {
		fmt.Fprintf(&b, "addresses held by several accounts: %d (left unchanged; keep one account per address, remove or rename the others by hand)\n", n)
		for _, c := range rep.Collisions {
			fmt.Fprintf(&b, "  %+q:", c.Normal)
			for _, r := range c.Rows {
				fmt.Fprintf(&b, " account %d %+q", r.ID, r.Email)
			}
			b.WriteString("\n")
		}
	}
	if n := len(rep.Refused); n > 0 {
		fmt.Fprintf(&b, "accounts with an address no longer accepted (invisible characters): %d (they can sign in, but not reset their password)\n", n)
		for _, r := range rep.Refused {
			fmt.Fprintf(&b, "  account %d %+q\n", r.ID, r.Email)
		}
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// warnAddresses logs, at start, how many accounts the address report of
// `tacit migrate` lists: serve migrates by itself, so an operator who never
// runs `tacit migrate` still hears of them.
func warnAddresses(ctx context.Context, db store, d Database, log *slog.Logger) error {
	rep, err := db.AddressReport(ctx)
	if err != nil {
		return d.redact(err)
	}
	if len(rep.Collisions) > 0 || len(rep.Refused) > 0 {
		log.Warn("stored addresses need the operator: run tacit migrate for the list",
			"addresses_held_by_several_accounts", len(rep.Collisions), "addresses_no_longer_accepted", len(rep.Refused))
	}
	return nil
}

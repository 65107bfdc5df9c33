package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// adminTokenOptions are the flags of tacit admin-tokens.
type adminTokenOptions struct {
	scope string
	json  bool
}

// adminTokensFlags defines every admin-tokens flag, for the help.
func adminTokensFlags(fs *flag.FlagSet) {
	configFlags(fs)
	new(adminTokenOptions).flags(fs)
}

func (o *adminTokenOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.scope, "scope", "", "add: what the token may do: read (list, show) or write (everything)")
	fs.BoolVar(&o.json, "json", false, "list: print JSON instead of text")
}

// runAdminTokens is tacit admin-tokens add|list|remove: the bearer tokens
// of the administration API.
func runAdminTokens(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"admin-tokens: no subcommand given (add, list, remove; see tacit admin-tokens --help)"}
	}
	sub := args[0]
	if sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		return printHelp("admin-tokens", stdout)
	}
	maxArgs := map[string]int{"add": 1, "list": 0, "remove": 1}
	n, ok := maxArgs[sub]
	if !ok {
		return usageError{fmt.Sprintf("admin-tokens: unknown subcommand %q (add, list, remove)", sub)}
	}
	name := "admin-tokens " + sub
	var o adminTokenOptions
	c, pos, err := loadArgs(name, args[1:], getenv, o.flags, n)
	if errors.Is(err, flag.ErrHelp) {
		return printHelp("admin-tokens", stdout)
	}
	var ue usageError
	if !errors.As(err, &ue) {
		warnUnknownEnv(getenv, stderr)
	}
	if err != nil {
		return err
	}
	var token string
	if n == 1 {
		if len(pos) == 0 {
			return usageError{fmt.Sprintf("%s: give the token's name (tacit %s NAME)", name, name)}
		}
		token = pos[0]
	}
	if sub == "add" && o.scope != string(tacit.AdminRead) && o.scope != string(tacit.AdminWrite) {
		return usageError{fmt.Sprintf("%s: --scope must be read or write, got %q", name, o.scope)}
	}
	u, err := openUsers(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer u.close(&err)
	switch sub {
	case "add":
		secret, err := u.op.CreateAdminToken(ctx, token, tacit.AdminScope(o.scope))
		if errors.Is(err, flow.ErrBadAdminTokenName) {
			return usageError{fmt.Sprintf("%s: %v, got %q", name, err, token)}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, c.Database.redact(err))
		}
		fmt.Fprintf(stdout, "added admin token %s (scope %s)\n", token, o.scope)
		fmt.Fprintf(stdout, "token (shown once, only its hash is kept): %s\n", secret)
		return nil
	case "remove":
		if err := u.op.RemoveAdminToken(ctx, token); err != nil {
			return fmt.Errorf("%s: %w", name, c.Database.redact(err))
		}
		fmt.Fprintf(stdout, "removed admin token %s: it no longer works\n", token)
		return nil
	}
	list, err := u.op.AdminTokens(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", name, c.Database.redact(err))
	}
	return writeAdminTokens(stdout, list, o.json)
}

// adminTokenJSON is one token as list --json prints it: never its secret
// nor its hash.
type adminTokenJSON struct {
	Name       string           `json:"name"`
	Scope      tacit.AdminScope `json:"scope"`
	CreatedAt  string           `json:"created_at"`
	LastUsedAt string           `json:"last_used_at,omitempty"`
}

// writeAdminTokens prints the tokens: name, scope, created, last used.
func writeAdminTokens(w io.Writer, list []tacit.AdminToken, asJSON bool) error {
	if asJSON {
		out := []adminTokenJSON{}
		for _, t := range list {
			j := adminTokenJSON{Name: t.Name, Scope: t.Scope, CreatedAt: stamp(t.CreatedAt)}
			if !t.LastUsedAt.IsZero() {
				j.LastUsedAt = stamp(t.LastUsedAt)
			}
			out = append(out, j)
		}
		return writeJSON(w, struct {
			Tokens []adminTokenJSON `json:"tokens"`
		}{out})
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no admin tokens")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPE\tCREATED\tLAST USED")
	for _, t := range list {
		used := "never"
		if !t.LastUsedAt.IsZero() {
			used = stamp(t.LastUsedAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Scope, stamp(t.CreatedAt), used)
	}
	return tw.Flush()
}

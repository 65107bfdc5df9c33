package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/openid"
)

// clientOptions are the flags of tacit clients add and remove.
type clientOptions struct {
	id, name, redirects, postLogout, idTokenAlg string
	public, firstParty                          bool
}

func (o *clientOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.id, "id", "", "the client id")
	fs.StringVar(&o.name, "name", "", "the name shown on the consent screen (default the id)")
	fs.StringVar(&o.redirects, "redirect-uri", "", "redirect URIs, comma-separated, matched exactly")
	fs.StringVar(&o.postLogout, "post-logout-redirect-uri", "", "where end_session may send the browser back, comma-separated")
	fs.BoolVar(&o.public, "public", false, "a public client (single-page or mobile app): no secret, PKCE required")
	fs.BoolVar(&o.firstParty, "first-party", false, "ask no consent (the app belongs to whoever runs tacit)")
	fs.StringVar(&o.idTokenAlg, "id-token-alg", "ES256", "how its ID tokens are signed: ES256, or RS256 for an app that knows only RSA")
}

// commaList splits a comma-separated flag, dropping empty items.
func commaList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// withStore opens and migrates the configured database for fn, and
// checks the key as serve does (sealStore): a key other than the one
// the database's secrets are sealed under is refused before fn writes a
// secret under it.
func withStore(ctx context.Context, c Config, fn func(store) error) (err error) {
	db, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := sealStore(ctx, db, c); err != nil {
		return err
	}
	return fn(db)
}

// runClients is tacit clients add|list|remove: the OpenID Connect clients
// kept in the database (those of the config file's oidc_clients are not
// listed).
func runClients(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return printHelp("clients", stdout)
		}
		return usageError{"clients: say add, list or remove"}
	}
	sub, rest := args[0], args[1:]
	var o clientOptions
	switch sub {
	case "add":
		return withConfig("clients", rest, getenv, stdout, stderr, o.flags, func(c Config) error {
			return addClient(ctx, c, o, stdout)
		})
	case "list":
		return withConfig("clients", rest, getenv, stdout, stderr, nil, func(c Config) error {
			return withStore(ctx, c, func(db store) error { return listClients(ctx, db, stdout) })
		})
	case "remove":
		return withConfig("clients", rest, getenv, stdout, stderr, o.flags, func(c Config) error {
			if o.id == "" {
				return usageError{"clients remove: --id is required"}
			}
			return withStore(ctx, c, func(db store) error {
				err := db.Update(ctx, func(tx tacit.Tx) error { return tx.DeleteOIDCClient(ctx, o.id) })
				if errors.Is(err, tacit.ErrNotFound) {
					return fmt.Errorf("clients remove: no client %q in the database", o.id)
				}
				if err == nil {
					fmt.Fprintf(stdout, "removed client %s, with its tokens and consents\n", o.id)
				}
				return err
			})
		})
	}
	return usageError{fmt.Sprintf("clients: unknown sub-command %q (add, list or remove)", sub)}
}

func addClient(ctx context.Context, c Config, o clientOptions, stdout io.Writer) error {
	redirects := commaList(o.redirects)
	if o.id == "" || len(redirects) == 0 {
		return usageError{"clients add: --id and --redirect-uri are required"}
	}
	for _, cl := range c.OIDCClients {
		if cl.ID == o.id {
			return fmt.Errorf("clients add: %q is a client of the config file already", o.id)
		}
	}
	alg, err := openid.ParseIDTokenAlg(o.idTokenAlg)
	if err != nil {
		return usageError{"clients add: --id-token-alg: " + err.Error()}
	}
	name := o.name
	if name == "" {
		name = o.id
	}
	client, secret := openid.NewClient(o.id, name, redirects, commaList(o.postLogout), o.public, o.firstParty, time.Now())
	client.IDTokenAlg = string(alg)
	return withStore(ctx, c, func(db store) error {
		err := db.Update(ctx, func(tx tacit.Tx) error { return tx.CreateOIDCClient(ctx, client) })
		if errors.Is(err, tacit.ErrConflict) {
			return fmt.Errorf("clients add: a client %q exists already", o.id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added client %s\n", o.id)
		if secret != "" {
			fmt.Fprintf(stdout, "client secret (shown once, only its hash is kept): %s\n", secret)
		} else {
			fmt.Fprintln(stdout, "public client: no secret; it must use PKCE (S256)")
		}
		return nil
	})
}

func listClients(ctx context.Context, db store, stdout io.Writer) error {
	var list []tacit.OIDCClient
	err := db.View(ctx, func(tx tacit.Tx) error {
		var err error
		list, err = tx.OIDCClients(ctx)
		return err
	})
	if err != nil {
		return err
	}
	for _, c := range list {
		kind := "confidential"
		if c.SecretHash == nil {
			kind = "public"
		}
		if c.FirstParty {
			kind += ", first-party"
		}
		if c.IDTokenAlg != "" {
			kind += ", " + c.IDTokenAlg
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", c.ID, c.Name, kind, strings.Join(c.RedirectURIs, ","))
	}
	return nil
}

// runKeys is tacit keys rotate|list: rotate makes a new signing key that
// signs from now on (one per algorithm in use); the old ones stay
// published so the tokens they signed still verify, until the
// housekeeping retires them. list shows every key.
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "list") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return printHelp("keys", stdout)
		}
		return usageError{"keys: say rotate or list"}
	}
	sub := args[0]
	return withConfig("keys", args[1:], getenv, stdout, stderr, nil, func(c Config) error {
		return withStore(ctx, c, func(db store) error {
			if sub == "list" {
				return listKeys(ctx, db, openid.Config{KeyRotation: c.OIDCKeyRotation}, stdout)
			}
			if err := openid.RotateKey(ctx, db, time.Now()); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "a new signing key signs from now on; the old ones stay in the JWKS until the tokens they signed have expired")
			return nil
		})
	})
}

// listKeys prints each signing key: kid, algorithm, when it was made, and
// when it stops signing (the scheduled rotation) or leaves the JWKS.
func listKeys(ctx context.Context, db store, cfg openid.Config, stdout io.Writer) error {
	list, err := openid.ListKeys(ctx, db, cfg)
	if err != nil {
		return err
	}
	const layout = "2006-01-02 15:04:05Z"
	fmt.Fprintln(stdout, "kid\talg\tcreated\tstate")
	for _, k := range list {
		state := "signs until " + k.RotatesAt.UTC().Format(layout)
		if !k.RetiredAt.IsZero() {
			state = "retired " + k.RetiredAt.UTC().Format(layout) + ", in the JWKS until " + k.RemovedAt.UTC().Format(layout)
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.CreatedAt.UTC().Format(layout), state)
	}
	return nil
}

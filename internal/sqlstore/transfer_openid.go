package sqlstore

import (
	"context"
	"fmt"

	"github.com/tacitauth/tacit"
)

// copyOpenID copies the OpenID Connect provider's lasting state: signing
// keys, clients, subject ids and consents under the accounts' new IDs,
// and, with the sessions, the live grants.
func (c *copier) copyOpenID(ctx context.Context) error {
	keys, err := collect(ctx, c.src.q, scanSigningKey,
		`SELECT id, algorithm, private_key, created_at, retired_at FROM oidc_keys ORDER BY id`)
	if err != nil {
		return c.o.Source(err)
	}
	for i := range keys {
		if keys[i].PrivateKey, err = openSigningKey(c.src.keys, keys[i].ID, keys[i].PrivateKey); err != nil {
			return err
		}
	}
	if err := writeBatches(ctx, c, keys, func(tx tacit.Tx, k tacit.SigningKey) error { return tx.CreateSigningKey(ctx, k) }); err != nil {
		return err
	}
	c.n.Keys = len(keys)

	clients, err := collect(ctx, c.src.q, scanOIDCClient, `SELECT `+clientColumns+` FROM oidc_clients ORDER BY id`)
	if err != nil {
		return c.o.Source(err)
	}
	if err := writeBatches(ctx, c, clients, func(tx tacit.Tx, cl tacit.OIDCClient) error { return tx.CreateOIDCClient(ctx, cl) }); err != nil {
		return err
	}
	c.n.Clients = len(clients)

	type subject struct {
		account int64
		sub     string
	}
	subjects, err := collect(ctx, c.src.q, func(row Row) (subject, error) {
		var s subject
		return s, row.Scan(&s.account, &s.sub)
	}, `SELECT account_id, subject FROM oidc_subjects ORDER BY account_id`)
	if err != nil {
		return c.o.Source(err)
	}
	err = writeBatches(ctx, c, subjects, func(tx tacit.Tx, s subject) error {
		id, err := c.account(s.account)
		if err != nil {
			return err
		}
		return tx.CreateSubject(ctx, id, s.sub)
	})
	if err != nil {
		return err
	}
	c.n.Subjects = len(subjects)

	consents, err := collect(ctx, c.src.q, scanConsent,
		`SELECT account_id, client_id, scopes, created_at FROM oidc_consents ORDER BY account_id, client_id`)
	if err != nil {
		return c.o.Source(err)
	}
	err = writeBatches(ctx, c, consents, func(tx tacit.Tx, cs tacit.Consent) error {
		var err error
		if cs.AccountID, err = c.account(cs.AccountID); err != nil {
			return err
		}
		return tx.SaveConsent(ctx, cs)
	})
	if err != nil {
		return err
	}
	c.n.Consents = len(consents)

	if !c.o.Sessions {
		return nil
	}
	grants, err := collect(ctx, c.src.q, scanGrant,
		`SELECT `+grantColumns+` FROM oidc_grants WHERE expires_at > $1 ORDER BY id`, Micros(c.o.Now))
	if err != nil {
		return c.o.Source(err)
	}
	err = writeBatches(ctx, c, grants, func(tx tacit.Tx, g tacit.Grant) error {
		var err error
		if g.AccountID, err = c.account(g.AccountID); err != nil {
			return err
		}
		return tx.CreateGrant(ctx, g)
	})
	c.n.Grants = len(grants)
	return err
}

// account returns the target ID of a source account.
func (c *copier) account(id int64) (int64, error) {
	n, ok := c.ids[id]
	if !ok {
		return 0, fmt.Errorf("a row of account %d, which is not in the source", id)
	}
	return n, nil
}

// writeBatches writes rows into c's target, c.o.Batch per transaction.
func writeBatches[T any](ctx context.Context, c *copier, rows []T, write func(tacit.Tx, T) error) error {
	for len(rows) > 0 {
		n := min(len(rows), max(c.o.Batch, 1))
		err := c.dst.Update(ctx, func(tx tacit.Tx) error {
			for _, r := range rows[:n] {
				if err := write(tx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return c.o.Target(err)
		}
		rows = rows[n:]
	}
	return nil
}

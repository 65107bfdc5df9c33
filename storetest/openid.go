package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

func testOpenIDKeysAndSubjects(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	b := createAccount(t, s, "bob@example.com")
	update(t, s, func(tx tacit.Tx) error {
		for _, k := range []tacit.SigningKey{
			{ID: "old", Algorithm: "ES256", PrivateKey: []byte("1"), CreatedAt: base},
			{ID: "new", Algorithm: "ES256", PrivateKey: []byte("2"), CreatedAt: base.Add(time.Hour)},
		} {
			if err := tx.CreateSigningKey(ctx, k); err != nil {
				return err
			}
		}
		return tx.RetireSigningKey(ctx, "old", base.Add(2*time.Hour))
	})
	update(t, s, func(tx tacit.Tx) error {
		// A second rotation of the same key (another instance's) finds
		// it retired and must back out.
		wantErr(t, "retire a retired key", tx.RetireSigningKey(ctx, "old", base.Add(3*time.Hour)), tacit.ErrConflict)
		wantErr(t, "retire a missing key", tx.RetireSigningKey(ctx, "none", base.Add(3*time.Hour)), tacit.ErrNotFound)
		return nil
	})
	wantErr(t, "duplicate key", s.Update(ctx, func(tx tacit.Tx) error {
		return tx.CreateSigningKey(ctx, tacit.SigningKey{ID: "old", Algorithm: "ES256", PrivateKey: []byte("3"), CreatedAt: base})
	}), tacit.ErrConflict)
	view(t, s, func(tx tacit.Tx) error {
		keys, err := tx.SigningKeys(ctx)
		if err != nil {
			return err
		}
		if len(keys) != 2 || keys[0].ID != "new" || !keys[0].RetiredAt.IsZero() || !keys[1].RetiredAt.Equal(base.Add(2*time.Hour)) ||
			!bytes.Equal(keys[1].PrivateKey, []byte("1")) {
			t.Errorf("keys after retiring old: %+v", keys)
		}
		return nil
	})
	update(t, s, func(tx tacit.Tx) error {
		if err := tx.DeleteSigningKeys(ctx, base.Add(2*time.Hour)); err != nil {
			return err
		}
		keys, err := tx.SigningKeys(ctx)
		if err != nil || len(keys) != 2 {
			t.Errorf("keys retired at the cut-off must stay: %+v, %v", keys, err)
		}
		if err := tx.DeleteSigningKeys(ctx, base.Add(2*time.Hour+time.Microsecond)); err != nil {
			return err
		}
		keys, err = tx.SigningKeys(ctx)
		if err != nil || len(keys) != 1 || keys[0].ID != "new" {
			t.Errorf("keys after deleting the retired one: %+v, %v", keys, err)
		}
		return nil
	})
	update(t, s, func(tx tacit.Tx) error {
		_, err := tx.Subject(ctx, a.ID)
		wantErr(t, "subject before one is made", err, tacit.ErrNotFound)
		if err := tx.CreateSubject(ctx, a.ID, "sub-a"); err != nil {
			return err
		}
		return nil
	})
	wantErr(t, "a second subject", s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateSubject(ctx, a.ID, "sub-a2") }), tacit.ErrConflict)
	wantErr(t, "another account's subject", s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateSubject(ctx, b.ID, "sub-a") }), tacit.ErrConflict)
	view(t, s, func(tx tacit.Tx) error {
		if sub, err := tx.Subject(ctx, a.ID); err != nil || sub != "sub-a" {
			t.Errorf("Subject = %q, %v", sub, err)
		}
		if id, err := tx.AccountBySubject(ctx, "sub-a"); err != nil || id != a.ID {
			t.Errorf("AccountBySubject = %d, %v", id, err)
		}
		_, err := tx.AccountBySubject(ctx, "nobody")
		wantErr(t, "unknown subject", err, tacit.ErrNotFound)
		return nil
	})
}

func testOpenIDAuthRequest(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	now := base
	update(t, s, func(tx tacit.Tx) error {
		return tx.CreateAuthRequest(ctx, tacit.AuthRequest{ID: "r1", ClientID: "app", Request: []byte(`{"x":1}`), CreatedAt: now, ExpiresAt: now.Add(time.Minute)})
	})
	update(t, s, func(tx tacit.Tx) error {
		r, err := tx.AuthRequestByID(ctx, "r1", now)
		if err != nil || r.AccountID != 0 || r.CodeHash != nil || string(r.Request) != `{"x":1}` {
			t.Errorf("fresh request: %+v, %v", r, err)
		}
		_, err = tx.AuthRequestByID(ctx, "r1", now.Add(time.Minute))
		wantErr(t, "expired request", err, tacit.ErrNotFound)
		wantErr(t, "complete a missing request", tx.CompleteAuthRequest(ctx, "r2", a.ID, now), tacit.ErrNotFound)
		wantErr(t, "code for a missing request", tx.SetAuthRequestCode(ctx, "r2", hash(1)), tacit.ErrNotFound)
		if err := tx.CompleteAuthRequest(ctx, "r1", a.ID, now); err != nil {
			return err
		}
		return tx.SetAuthRequestCode(ctx, "r1", hash(1))
	})
	update(t, s, func(tx tacit.Tx) error {
		wantErr(t, "a second code", tx.SetAuthRequestCode(ctx, "r1", hash(2)), tacit.ErrConflict)
		wantErr(t, "complete a request with a code", tx.CompleteAuthRequest(ctx, "r1", a.ID+1, now), tacit.ErrNotFound)
		r, err := tx.AuthRequestByCode(ctx, hash(1), now)
		if err != nil || r.ID != "r1" || r.AccountID != a.ID || !r.AuthTime.Equal(now) {
			t.Errorf("by code: %+v, %v", r, err)
		}
		_, err = tx.AuthRequestByCode(ctx, hash(2), now)
		wantErr(t, "unknown code", err, tacit.ErrNotFound)
		wantErr(t, "spend a missing request", tx.SpendAuthRequest(ctx, "r2", "g1"), tacit.ErrNotFound)
		return tx.SpendAuthRequest(ctx, "r1", "g1")
	})
	update(t, s, func(tx tacit.Tx) error {
		wantErr(t, "spend twice", tx.SpendAuthRequest(ctx, "r1", "g2"), tacit.ErrConflict)
		r, err := tx.AuthRequestByCode(ctx, hash(1), now)
		if err != nil || r.GrantID != "g1" {
			t.Errorf("spent request by code: %+v, %v", r, err)
		}
		return tx.DeleteAuthRequest(ctx, "r1")
	})
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.AuthRequestByCode(ctx, hash(1), now)
		wantErr(t, "spent code", err, tacit.ErrNotFound)
		return nil
	})
}

func testOpenIDGrantRotation(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	now := base
	g := tacit.Grant{ID: "g", AccountID: a.ID, ClientID: "app", Scopes: []string{"openid", "offline_access"}, AuthTime: now,
		PasswordStamp: []byte("stamp"), RefreshHash: hash(1), AccessHash: hash(2), AccessExpiresAt: now.Add(time.Minute),
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	update(t, s, func(tx tacit.Tx) error { return tx.CreateGrant(ctx, g) })
	next := g
	next.RefreshHash, next.AccessHash, next.ExpiresAt = hash(3), hash(4), now.Add(2*time.Hour)
	update(t, s, func(tx tacit.Tx) error { return tx.RotateGrant(ctx, next, hash(1)) })
	update(t, s, func(tx tacit.Tx) error {
		// The old refresh token again: someone else already rotated it.
		wantErr(t, "rotate with a spent refresh token", tx.RotateGrant(ctx, g, hash(1)), tacit.ErrConflict)
		got, err := tx.GrantByID(ctx, "g", now)
		if err != nil || !bytes.Equal(got.RefreshHash, hash(3)) || !bytes.Equal(got.AccessHash, hash(4)) ||
			!slices.Equal(got.Scopes, g.Scopes) || !got.ExpiresAt.Equal(now.Add(2*time.Hour)) {
			t.Errorf("grant after rotation: %+v, %v", got, err)
		}
		_, err = tx.GrantByID(ctx, "g", now.Add(2*time.Hour))
		wantErr(t, "expired grant", err, tacit.ErrNotFound)
		return tx.RevokeAccessToken(ctx, "g")
	})
	update(t, s, func(tx tacit.Tx) error {
		got, err := tx.GrantByID(ctx, "g", now)
		if err != nil || got.AccessHash != nil || !bytes.Equal(got.RefreshHash, hash(3)) {
			t.Errorf("grant after revoking its access token: %+v, %v", got, err)
		}
		other := g
		other.ID, other.ClientID = "h", "other"
		if err := tx.CreateGrant(ctx, other); err != nil {
			return err
		}
		return tx.DeleteGrants(ctx, a.ID, "app")
	})
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.GrantByID(ctx, "g", now)
		wantErr(t, "grant to the client whose grants were deleted", err, tacit.ErrNotFound)
		if _, err := tx.GrantByID(ctx, "h", now); err != nil {
			t.Errorf("grant to another client: %v", err)
		}
		return nil
	})
	update(t, s, func(tx tacit.Tx) error { return tx.DeleteGrants(ctx, a.ID, "") })
	view(t, s, func(tx tacit.Tx) error {
		_, err := tx.GrantByID(ctx, "h", now)
		wantErr(t, "after deleting every grant", err, tacit.ErrNotFound)
		return nil
	})
}

func testOpenIDClientsAndConsents(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	a := createAccount(t, s, "ada@example.com")
	c := tacit.OIDCClient{ID: "app", Name: "App", SecretHash: hash(1), RedirectURIs: []string{"https://a/cb", "https://a/cb2"},
		PostLogoutRedirectURIs: []string{"https://a/"}, FirstParty: true, IDTokenAlg: "RS256", CreatedAt: base}
	pub := tacit.OIDCClient{ID: "spa", Name: "SPA", RedirectURIs: []string{"http://127.0.0.1:9/cb"}, CreatedAt: base}
	update(t, s, func(tx tacit.Tx) error {
		if err := tx.CreateOIDCClient(ctx, c); err != nil {
			return err
		}
		return tx.CreateOIDCClient(ctx, pub)
	})
	wantErr(t, "duplicate client", s.Update(ctx, func(tx tacit.Tx) error { return tx.CreateOIDCClient(ctx, c) }), tacit.ErrConflict)
	view(t, s, func(tx tacit.Tx) error {
		got, err := tx.OIDCClientByID(ctx, "app")
		if err != nil || !got.FirstParty || !slices.Equal(got.RedirectURIs, c.RedirectURIs) || !bytes.Equal(got.SecretHash, c.SecretHash) ||
			!slices.Equal(got.PostLogoutRedirectURIs, c.PostLogoutRedirectURIs) || got.IDTokenAlg != "RS256" {
			t.Errorf("client: %+v, %v", got, err)
		}
		if got, err := tx.OIDCClientByID(ctx, "spa"); err != nil || got.SecretHash != nil || got.FirstParty || got.PostLogoutRedirectURIs != nil || got.IDTokenAlg != "" {
			t.Errorf("public client: %+v, %v", got, err)
		}
		list, err := tx.OIDCClients(ctx)
		if err != nil || len(list) != 2 || list[0].ID != "app" {
			t.Errorf("clients: %+v, %v", list, err)
		}
		return nil
	})
	update(t, s, func(tx tacit.Tx) error {
		for _, scopes := range [][]string{{"openid"}, {"openid", "email"}} {
			if err := tx.SaveConsent(ctx, tacit.Consent{AccountID: a.ID, ClientID: "spa", Scopes: scopes, CreatedAt: base}); err != nil {
				return err
			}
		}
		return tx.CreateGrant(ctx, tacit.Grant{ID: "g", AccountID: a.ID, ClientID: "spa", PasswordStamp: []byte("s"), CreatedAt: base, ExpiresAt: base.Add(time.Hour)})
	})
	update(t, s, func(tx tacit.Tx) error {
		list, err := tx.Consents(ctx, a.ID)
		if err != nil || len(list) != 1 || !slices.Equal(list[0].Scopes, []string{"openid", "email"}) {
			t.Errorf("consents: %+v, %v", list, err)
		}
		if err := tx.DeleteConsent(ctx, a.ID, "spa"); err != nil {
			return err
		}
		wantErr(t, "delete a consent twice", tx.DeleteConsent(ctx, a.ID, "spa"), tacit.ErrNotFound)
		_, err = tx.GrantByID(ctx, "g", base)
		wantErr(t, "grant after its consent was revoked", err, tacit.ErrNotFound)
		if err := tx.DeleteOIDCClient(ctx, "app"); err != nil {
			return err
		}
		wantErr(t, "delete a missing client", tx.DeleteOIDCClient(ctx, "app"), tacit.ErrNotFound)
		return nil
	})
}

func testOpenIDPurge(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	a := createAccount(t, s, "ada@example.com")
	update(t, s, func(tx tacit.Tx) error {
		for i, exp := range []time.Time{now.Add(-time.Second), now.Add(time.Hour)} {
			id := []string{"old", "live"}[i]
			if err := tx.CreateAuthRequest(ctx, tacit.AuthRequest{ID: id, ClientID: "app", Request: []byte("{}"), CreatedAt: now.Add(-time.Hour), ExpiresAt: exp}); err != nil {
				return err
			}
			if err := tx.CreateGrant(ctx, tacit.Grant{ID: id, AccountID: a.ID, ClientID: "app", PasswordStamp: []byte("s"), CreatedAt: now.Add(-time.Hour), ExpiresAt: exp}); err != nil {
				return err
			}
		}
		return nil
	})
	purge(t, s, now, time.Hour)
	var n int
	for _, table := range []string{"oidc_auth_requests", "oidc_grants"} {
		// Read through an expiry far in the past, so the lookup itself
		// filters nothing.
		view(t, s, func(tx tacit.Tx) error {
			n = 0
			for _, id := range []string{"old", "live"} {
				var err error
				if table == "oidc_auth_requests" {
					_, err = tx.AuthRequestByID(ctx, id, time.Time{})
				} else {
					_, err = tx.GrantByID(ctx, id, time.Time{})
				}
				if err == nil {
					n++
				}
			}
			return nil
		})
		if n != 1 {
			t.Errorf("%s: %d rows left after Purge, want only the live one", table, n)
		}
	}
}

package flow

import (
	"context"
	"time"

	"github.com/tacitauth/tacit"
)

// ClientAuth is an admitted authentication of an OpenID Connect client
// (AdmitClientAuth): it was counted as a failure under both limits until
// ClientAuthPassed takes the count back.
type ClientAuth struct {
	rules []rule
	ads   []admission
}

// AdmitClientAuth decides whether a client may try to authenticate (its
// secret at the token, introspection or revocation endpoint), under the
// ClientSecret limit for clientID and the ClientSecretIP limit for the
// client's address. A held-back attempt gets the wait, and its secret is
// never checked, so a guess made then tells nothing. An admitted one is
// counted at once (parallel guesses cannot all slip through before any
// is counted); once the client proved its secret, ClientAuthPassed takes
// the count back, so that a client's own steady traffic never adds up.
// clientID is whatever the request named: an unknown one is counted like
// any other.
func (s *Service) AdmitClientAuth(ctx context.Context, clientID string, c Client) (ClientAuth, time.Duration, error) {
	a := ClientAuth{rules: []rule{
		{name: "client-secret", limit: s.cfg.Limits.ClientSecret, id: clientID},
		{name: "client-secret-ip", limit: s.cfg.Limits.ClientSecretIP, id: clientKey(c.IP)},
	}}
	var wait time.Duration
	err := s.store.Update(ctx, func(tx tacit.Tx) error {
		var err error
		wait, _, a.ads, err = s.admitEach(ctx, tx, s.cfg.Now(), a.rules...)
		return err
	})
	if err != nil {
		return ClientAuth{}, 0, err
	}
	return a, wait, nil
}

// ClientAuthPassed takes back the counts of an admitted authentication
// that did not fail: the client proved its secret (or needed none).
func (s *Service) ClientAuthPassed(ctx context.Context, a ClientAuth) error {
	if len(a.ads) == 0 {
		return nil
	}
	return s.store.Update(context.WithoutCancel(ctx), func(tx tacit.Tx) error {
		for i, r := range a.rules {
			if err := s.takeBack(ctx, tx, r, a.ads[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

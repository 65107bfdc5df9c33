package openid

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/tacitauth/tacit"
)

// Who is the browser's signed-in account, as the web layer knows it from
// the session cookie.
type Who struct {
	AccountID  int64
	SignedInAt time.Time // when the session started: the sign-in's time
}

// ErrUnknownRequest is an authorization request that does not exist or
// expired (a stale tab, a link from another browser).
var ErrUnknownRequest = errors.New("openid: unknown or expired authorization request")

// Resume is where /authorize sends the browser (the client's LoginURL):
// it goes on with authorization request id for the browser's account
// (who, nil without a session). A session fresh enough for the request
// completes it, and the browser goes to the consent screen if the client
// needs one, else back to the client with a code. Without one, prompt=none
// gets login_required at the client's redirect URI, the same for every
// browser without a session; any other request goes to tacit's own
// sign-in page, which comes back here when done (next), through the same
// steps as any sign-in (throttling, MFA). login_hint only fills in the
// address there: nothing looks it up.
func (p *Provider) Resume(w http.ResponseWriter, r *http.Request, id string, who *Who) error {
	a, err := p.storage.authRequest(r.Context(), id)
	var nf interface{ IsNotFound() }
	if errors.As(err, &nf) {
		return ErrUnknownRequest
	}
	if err != nil {
		return err
	}
	now := p.cfg.Now()
	if who == nil || !fresh(a, who, now) {
		if slices.Contains(a.req.Prompt, oidc.PromptNone) {
			op.AuthRequestError(w, r, a, oidc.ErrLoginRequired(), p.op)
			return nil
		}
		http.Redirect(w, r, loginURL(id, a.req.LoginHint), http.StatusFound)
		return nil
	}
	c, err := p.storage.clientByID(r.Context(), a.req.ClientID)
	if err != nil {
		return err
	}
	err = p.storage.store.Update(r.Context(), func(tx tacit.Tx) error {
		if err := ensureSubject(r.Context(), tx, who.AccountID); err != nil {
			return err
		}
		return tx.CompleteAuthRequest(r.Context(), id, who.AccountID, who.SignedInAt.UTC())
	})
	if err != nil {
		return fmt.Errorf("complete auth request: %w", err)
	}
	if !c.firstParty {
		consented, err := p.consented(r.Context(), who.AccountID, c.id, a.req.Scopes)
		if err != nil {
			return err
		}
		if !consented {
			if slices.Contains(a.req.Prompt, oidc.PromptNone) {
				op.AuthRequestError(w, r, a, &oidc.Error{ErrorType: "consent_required"}, p.op)
				return nil
			}
			http.Redirect(w, r, PathConsent+"?id="+url.QueryEscape(id), http.StatusFound)
			return nil
		}
	}
	http.Redirect(w, r, PathCallback+"?id="+url.QueryEscape(id), http.StatusFound)
	return nil
}

// fresh reports whether a session that started at who.SignedInAt may
// answer request a: prompt=login asks for a sign-in after the request,
// max_age for one no older than it.
func fresh(a *authRequest, who *Who, now time.Time) bool {
	if slices.Contains(a.req.Prompt, oidc.PromptLogin) && who.SignedInAt.Before(a.stored.CreatedAt) {
		return false
	}
	if a.req.MaxAge != nil && now.Sub(who.SignedInAt) > time.Duration(*a.req.MaxAge)*time.Second {
		return false
	}
	return true
}

// loginURL is tacit's sign-in page, coming back to Resume.
func loginURL(id, hint string) string {
	q := url.Values{"next": {PathResume + "?id=" + url.QueryEscape(id)}}
	if hint != "" {
		q.Set("email", hint)
	}
	return pathLoginTemplate + "?" + q.Encode()
}

// ensureSubject gives an account its random subject id the first time it
// signs in to a client: a stable id that is neither its address (which
// changes, and would tell one client what another knows) nor its row id.
func ensureSubject(ctx context.Context, tx tacit.Tx, accountID int64) error {
	_, err := tx.Subject(ctx, accountID)
	if !errors.Is(err, tacit.ErrNotFound) {
		return err
	}
	sub, _ := tacit.NewToken()
	return tx.CreateSubject(ctx, accountID, sub)
}

// consented reports whether the account agreed to give the client every
// one of scopes.
func (p *Provider) consented(ctx context.Context, accountID int64, clientID string, scopes []string) (bool, error) {
	var ok bool
	err := p.storage.store.View(ctx, func(tx tacit.Tx) error {
		list, err := tx.Consents(ctx, accountID)
		for _, c := range list {
			if c.ClientID == clientID {
				ok = !slices.ContainsFunc(scopes, func(s string) bool { return !slices.Contains(c.Scopes, s) })
			}
		}
		return err
	})
	return ok, err
}

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

// Step is where the browser goes next.
type Step struct {
	URL string
	// Leave says the browser is to leave tacit: URL is the client's
	// redirect URI or the callback that redirects there. The web layer
	// sends it through a page of its own rather than a redirect: after a
	// form post (sign-in, consent) a redirect to another origin breaks
	// the pages' form-action 'self'.
	Leave bool
}

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
func (p *Provider) Resume(ctx context.Context, id string, who *Who) (Step, error) {
	a, err := p.storage.authRequest(ctx, id)
	var nf interface{ IsNotFound() }
	if errors.As(err, &nf) {
		return Step{}, ErrUnknownRequest
	}
	if err != nil {
		return Step{}, err
	}
	if a.stored.CodeHash != nil {
		// Its code is out: the request is spent.
		return Step{}, ErrUnknownRequest
	}
	now := p.cfg.Now()
	if who == nil || !fresh(a, who, now) {
		if slices.Contains(a.req.Prompt, oidc.PromptNone) {
			return p.clientError(a, oidc.ErrLoginRequired())
		}
		if slices.Contains(a.req.Prompt, PromptCreate) {
			return Step{URL: pageURL(pathRegister, id, a.req.LoginHint)}, nil
		}
		return Step{URL: pageURL(pathLoginTemplate, id, a.req.LoginHint)}, nil
	}
	c, err := p.storage.clientByID(ctx, a.req.ClientID)
	if err != nil {
		return Step{}, err
	}
	err = p.storage.store.Update(ctx, func(tx tacit.Tx) error {
		if err := ensureSubject(ctx, tx, who.AccountID); err != nil {
			return err
		}
		return tx.CompleteAuthRequest(ctx, id, who.AccountID, who.SignedInAt.UTC())
	})
	if err != nil {
		return Step{}, fmt.Errorf("complete auth request: %w", err)
	}
	if !c.firstParty {
		consented, err := p.consented(ctx, who.AccountID, c.id, a.req.Scopes)
		if err != nil {
			return Step{}, err
		}
		if !consented {
			if slices.Contains(a.req.Prompt, oidc.PromptNone) {
				return p.clientError(a, &oidc.Error{ErrorType: "consent_required"})
			}
			return Step{URL: PathConsent + "?id=" + url.QueryEscape(id)}, nil
		}
	}
	return Step{URL: PathCallback + "?id=" + url.QueryEscape(id), Leave: true}, nil
}

// clientError is the way back to the client's redirect URI with an error.
func (p *Provider) clientError(a *authRequest, e *oidc.Error) (Step, error) {
	e.State = a.GetState()
	u, err := op.AuthResponseURL(a.GetRedirectURI(), a.GetResponseType(), a.GetResponseMode(), e, p.op.Encoder())
	if err != nil {
		return Step{}, err
	}
	return Step{URL: u, Leave: true}, nil
}

// fresh reports whether a session that started at who.SignedInAt may
// answer request a. A sign-in made since the request always may. An
// older one may not with prompt=login (which the op package also turns
// into max_age=0) or prompt=create, nor when it is older than max_age.
func fresh(a *authRequest, who *Who, now time.Time) bool {
	if !who.SignedInAt.Before(a.stored.CreatedAt) {
		return true
	}
	if slices.Contains(a.req.Prompt, oidc.PromptLogin) || slices.Contains(a.req.Prompt, PromptCreate) {
		// prompt=create asks for an account made for this request.
		return false
	}
	return a.req.MaxAge == nil || now.Sub(who.SignedInAt) <= time.Duration(*a.req.MaxAge)*time.Second
}

// PromptCreate is prompt=create (OpenID Connect Prompt Create 1.0): the
// user has no account yet, so the browser goes to the sign-up page
// rather than the sign-in page, and comes back once the sign-up is
// complete (after the mailed link is followed, in the same browser).
const PromptCreate = "create"

// promptValues are the prompt values /authorize honours, as discovery
// lists them.
var promptValues = []string{oidc.PromptNone, oidc.PromptLogin, PromptCreate}

// pathRegister is tacit's sign-up page.
const pathRegister = "/register"

// pageURL is tacit's sign-in or sign-up page, coming back to Resume.
func pageURL(page, id, hint string) string {
	q := url.Values{"next": {PathResume + "?id=" + url.QueryEscape(id)}}
	if hint != "" {
		q.Set("email", hint)
	}
	return page + "?" + q.Encode()
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

// LogoutConfirmed reports whether an end_session request carries a valid
// id_token_hint for the account signed in as who: only then does the
// logout end the browser's tacit session too, so a link on another site
// cannot sign anyone out of tacit.
func (p *Provider) LogoutConfirmed(r *http.Request, who *Who) bool {
	hint := r.FormValue("id_token_hint")
	if hint == "" || who == nil {
		return false
	}
	ctx := op.ContextWithIssuer(r.Context(), p.cfg.Issuer)
	claims, err := op.VerifyIDTokenHint[*oidc.IDTokenClaims](ctx, hint, p.op.IDTokenHintVerifier(ctx))
	if err != nil {
		var expired op.IDTokenHintExpiredError
		if !errors.As(err, &expired) {
			return false
		}
	}
	var sub string
	err = p.storage.store.View(r.Context(), func(tx tacit.Tx) error {
		var err error
		sub, err = tx.Subject(r.Context(), who.AccountID)
		return err
	})
	return err == nil && claims != nil && claims.Subject == sub
}

// ConsentRequest is what the consent screen shows.
type ConsentRequest struct {
	Client string   // the client's name
	Scopes []string // what it asks for
}

// consentRequest finds request id, completed by who's sign-in.
func (p *Provider) consentRequest(ctx context.Context, id string, who *Who) (*authRequest, *client, error) {
	a, err := p.storage.authRequest(ctx, id)
	var nf interface{ IsNotFound() }
	if errors.As(err, &nf) || (err == nil && (who == nil || a.stored.AccountID != who.AccountID)) {
		return nil, nil, ErrUnknownRequest
	}
	if err != nil {
		return nil, nil, err
	}
	c, err := p.storage.clientByID(ctx, a.req.ClientID)
	return a, c, err
}

// ConsentFor returns what the consent screen for request id shows to
// who, whose sign-in completed it; ErrUnknownRequest for anyone else.
func (p *Provider) ConsentFor(ctx context.Context, id string, who *Who) (ConsentRequest, error) {
	a, c, err := p.consentRequest(ctx, id, who)
	if err != nil {
		return ConsentRequest{}, err
	}
	return ConsentRequest{Client: c.name, Scopes: a.req.Scopes}, nil
}

// Consent records who's answer on the consent screen of request id: an
// allowed request is remembered and goes back to the client with a code,
// a denied one with access_denied.
func (p *Provider) Consent(ctx context.Context, id string, who *Who, allow bool) (Step, error) {
	a, c, err := p.consentRequest(ctx, id, who)
	if err != nil {
		return Step{}, err
	}
	if !allow {
		return p.clientError(a, oidc.ErrAccessDenied())
	}
	err = p.storage.store.Update(ctx, func(tx tacit.Tx) error {
		return tx.SaveConsent(ctx, tacit.Consent{AccountID: who.AccountID, ClientID: c.id, Scopes: a.req.Scopes, CreatedAt: p.cfg.Now().UTC()})
	})
	if err != nil {
		return Step{}, fmt.Errorf("save consent: %w", err)
	}
	return Step{URL: PathCallback + "?id=" + url.QueryEscape(id), Leave: true}, nil
}

// Consents lists the clients an account gave consent to, by name.
func (p *Provider) Consents(ctx context.Context, accountID int64) ([]tacit.Consent, error) {
	var list []tacit.Consent
	err := p.storage.store.View(ctx, func(tx tacit.Tx) error {
		var err error
		list, err = tx.Consents(ctx, accountID)
		return err
	})
	return list, err
}

// RevokeConsent forgets an account's consent to a client and ends the
// client's grants for it. A consent it does not have is not an error.
func (p *Provider) RevokeConsent(ctx context.Context, accountID int64, clientID string) error {
	err := p.storage.store.Update(ctx, func(tx tacit.Tx) error { return tx.DeleteConsent(ctx, accountID, clientID) })
	if errors.Is(err, tacit.ErrNotFound) {
		return nil
	}
	return err
}

// ClientName returns a client's name, or its ID if it is gone.
func (p *Provider) ClientName(ctx context.Context, id string) string {
	c, err := p.storage.clientByID(ctx, id)
	if err != nil || c.name == "" {
		return id
	}
	return c.name
}

// CallbackAllowed reports whether the browser signed in as who may take
// the code of request id: only the account that completed it. Otherwise
// someone who started a request could have a signed-in victim open its
// Resume link and then collect a code for the victim's account at the
// callback in their own browser.
func (p *Provider) CallbackAllowed(ctx context.Context, id string, who *Who) bool {
	a, err := p.storage.authRequest(ctx, id)
	return err == nil && who != nil && a.stored.AccountID == who.AccountID
}

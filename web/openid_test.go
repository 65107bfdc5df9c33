package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/openid"
)

// The relying parties of these tests. Their redirect URIs are never
// served: the test browser stops at them and hands the code over.
const (
	webRedirect = "https://app.example/callback"
	spaRedirect = "http://127.0.0.1:9/spa/callback"
	webSecret   = "web-app-secret-0123456789"
)

func oidcClients() []openid.Client {
	return []openid.Client{
		{ID: "web", Name: "Web app", Secret: webSecret, RedirectURIs: []string{webRedirect},
			PostLogoutRedirectURIs: []string{"https://app.example/bye"}, FirstParty: true},
		{ID: "spa", Name: "Single-page app", RedirectURIs: []string{spaRedirect}, FirstParty: true},
		{ID: "third", Name: "Third party", Secret: webSecret, RedirectURIs: []string{webRedirect}},
	}
}

// relyingParty discovers the provider as client id.
func relyingParty(t *testing.T, h *harness, id, secret, redirect string, scopes ...string) rp.RelyingParty {
	t.Helper()
	p, err := rp.NewRelyingPartyOIDC(context.Background(), h.url, id, secret, redirect, scopes,
		rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string { n, _ := ctx.Value(nonceKey{}).(string); return n })))
	if err != nil {
		t.Fatalf("relying party %s: %v", id, err)
	}
	return p
}

// nonceKey carries the nonce a test expects in the ID token.
type nonceKey struct{}

// authorize runs the browser from the client's authorization URL through
// tacit's pages: signIn is called with each page of tacit the browser
// stops on (not a redirect) and returns the form post that answers it.
// It returns the URL the browser is finally sent to at the client.
func authorize(t *testing.T, b *browser, start string, signIn func(path string, page reply) (string, url.Values)) *url.URL {
	t.Helper()
	r := b.get(start)
	for range 20 {
		loc := r.Header.Get("Location")
		if loc == "" {
			if signIn == nil {
				t.Fatalf("stopped at a page: %d %s", r.StatusCode, r.text())
			}
			path, form := signIn(r.Request.URL.Path, r)
			r = b.postForm(path, form)
			continue
		}
		u, err := r.Request.URL.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		if u.Host != r.Request.URL.Host {
			return u
		}
		r = b.get(u.RequestURI())
	}
	t.Fatal("too many redirects")
	return nil
}

// loginPages answers tacit's sign-in form and, with totp set, its second
// step.
func loginPages(t *testing.T, h *harness, email, totp string) func(string, reply) (string, url.Values) {
	return func(path string, page reply) (string, url.Values) {
		next := page.Request.URL.Query().Get("next")
		switch path {
		case "/login":
			return "/login", url.Values{"email": {email}, "password": {arrangedPassword}, "next": {next}}
		case "/login/mfa":
			return "/login/mfa", url.Values{"code": {h.code(totp, 0)}, "next": {next}}
		}
		t.Fatalf("unexpected page %s: %d %s", path, page.StatusCode, page.text())
		return "", nil
	}
}

// TestOpenIDCodeFlow: a confidential client signs in an account with MFA
// through tacit's own pages, gets tokens whose ID token verifies against
// the JWKS, reads userinfo, refreshes, and logs out.
func TestOpenIDCodeFlow(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	email := h.arranged(accountstate.MFAEnabled)
	relying := relyingParty(t, h, "web", webSecret, webRedirect, "openid", "email", "offline_access")
	ctx := context.Background()

	b := h.browser()
	start := relying.OAuthConfig().AuthCodeURL("state-1", oauth2.SetAuthURLParam("nonce", "nonce-1"))
	back := authorize(t, b, strings.TrimPrefix(start, h.url), loginPages(t, h, email, accountstate.TOTPSecret))
	if back.Scheme+"://"+back.Host+back.Path != webRedirect || back.Query().Get("state") != "state-1" || back.Query().Get("code") == "" {
		t.Fatalf("back at the client: %s", back)
	}
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](context.WithValue(ctx, nonceKey{}, "nonce-1"), back.Query().Get("code"), relying)
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	claims := tokens.IDTokenClaims
	if claims.Nonce != "nonce-1" || claims.Email != email || !bool(claims.EmailVerified) || claims.Subject == "" ||
		strings.Contains(claims.Subject, "@") || claims.Issuer != h.url {
		t.Errorf("ID token claims: %+v", claims)
	}
	if tokens.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}
	// The code is spent.
	if _, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, back.Query().Get("code"), relying); err == nil {
		t.Error("a code was exchanged twice")
	}

	info, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, "Bearer", claims.Subject, relying)
	if err != nil || info.Email != email || info.Subject != claims.Subject {
		t.Fatalf("userinfo: %+v, %v", info, err)
	}

	refreshed, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, tokens.RefreshToken, "", "")
	if err != nil || refreshed.RefreshToken == "" || refreshed.RefreshToken == tokens.RefreshToken {
		t.Fatalf("refresh: %+v, %v", refreshed, err)
	}
	if _, err := rp.Userinfo[*oidc.UserInfo](ctx, refreshed.AccessToken, "Bearer", claims.Subject, relying); err != nil {
		t.Errorf("userinfo with the refreshed access token: %v", err)
	}
	if _, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, "Bearer", claims.Subject, relying); err == nil {
		t.Error("the access token before the refresh still works")
	}

	// A second sign-in of the same account gets the same subject.
	h.nextStep()
	b2 := h.browser()
	back = authorize(t, b2, strings.TrimPrefix(relying.OAuthConfig().AuthCodeURL("state-2"), h.url), loginPages(t, h, email, accountstate.TOTPSecret))
	again, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, back.Query().Get("code"), relying)
	if err != nil || again.IDTokenClaims.Subject != claims.Subject {
		t.Fatalf("second sign-in: %v, subject %q want %q", err, again.IDTokenClaims.Subject, claims.Subject)
	}

	// RP-initiated logout with the ID token ends the tacit session and
	// the client's grants.
	// The browser goes there (rp.EndSession would call it itself, without
	// the browser's cookies).
	end := relying.GetEndSessionEndpoint() + "?" + url.Values{"id_token_hint": {tokens.IDToken},
		"post_logout_redirect_uri": {"https://app.example/bye"}, "state": {"bye-state"}}.Encode()
	r := b.get(strings.TrimPrefix(end, h.url))
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "https://app.example/bye") {
		t.Fatalf("end_session: %d %q %s", r.StatusCode, loc, r.text())
	}
	if b.session() != "" {
		t.Error("the browser's tacit session survived the logout")
	}
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, refreshed.RefreshToken, "", ""); err == nil {
		t.Error("the refresh token survived the logout")
	}
}

// TestOpenIDPublicClientPKCE: a public client must use PKCE with S256;
// with it, the flow works without a secret.
func TestOpenIDPublicClientPKCE(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	email := h.arranged(accountstate.Verified)
	relying := relyingParty(t, h, "spa", "", spaRedirect, "openid", "email")
	ctx := context.Background()
	cfg := relying.OAuthConfig()

	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"no PKCE":    nil,
		"plain PKCE": {oauth2.SetAuthURLParam("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghij123"), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
		"no method":  {oauth2.SetAuthURLParam("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghij123")},
	} {
		back := authorize(t, h.browser(), strings.TrimPrefix(cfg.AuthCodeURL("s", opts...), h.url), nil)
		if back.Query().Get("error") != "invalid_request" || back.Query().Get("code") != "" {
			t.Errorf("%s: sent back to %s, want invalid_request", name, back)
		}
	}

	verifier := oauth2.GenerateVerifier()
	back := authorize(t, h.browser(), strings.TrimPrefix(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), h.url), loginPages(t, h, email, ""))
	code := back.Query().Get("code")
	if code == "" {
		t.Fatalf("back at the client: %s", back)
	}
	if _, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, relying, rp.WithCodeVerifier("wrong"+verifier[5:])); err == nil {
		t.Error("exchange with the wrong verifier worked")
	}
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, relying, rp.WithCodeVerifier(verifier))
	if err != nil || tokens.IDTokenClaims.Email != email {
		t.Fatalf("exchange with the verifier: %v", err)
	}
}

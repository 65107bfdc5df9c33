package web

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

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
		{ID: "legacy", Name: "Legacy app", Secret: webSecret, RedirectURIs: []string{webRedirect}, FirstParty: true, IDTokenAlg: "RS256"},
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

// refreshPattern finds a page's meta refresh.
var refreshPattern = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]*)">`)

// refreshTo returns where a page's meta refresh goes, or "".
func refreshTo(r reply) string {
	m := refreshPattern.FindSubmatch(r.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(string(m[1]))
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
			loc = refreshTo(r)
		}
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
	// (A code exchanged twice: TestOpenIDCodeReuse.)

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

// appTokens signs email in to the web client (first-party) through
// tacit's pages and returns its relying party and tokens.
func appTokens(t *testing.T, h *harness, email string) (rp.RelyingParty, *oidc.Tokens[*oidc.IDTokenClaims]) {
	t.Helper()
	relying := relyingParty(t, h, "web", webSecret, webRedirect, "openid", "email", "offline_access")
	back := authorize(t, h.browser(), strings.TrimPrefix(relying.OAuthConfig().AuthCodeURL("s"), h.url), loginPages(t, h, email, ""))
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](context.Background(), back.Query().Get("code"), relying)
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	return relying, tokens
}

// clientPost posts form to a provider endpoint as the web client.
func clientPost(t *testing.T, h *harness, path string, form url.Values) reply {
	t.Helper()
	req := h.newRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("web", webSecret)
	return h.do(req)
}

// TestOpenIDRefreshReuse: a refresh token used a second time (a thief
// with a copy, or the owner after the thief) ends the whole grant: the
// rotated token that the other party holds stops working too.
func TestOpenIDRefreshReuse(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	email := h.arranged(accountstate.Verified)
	relying, tokens := appTokens(t, h, email)
	ctx := context.Background()

	owner, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, tokens.RefreshToken, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, tokens.RefreshToken, "", ""); err == nil {
		t.Fatal("the thief's copy of a used refresh token worked")
	}
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, owner.RefreshToken, "", ""); err == nil {
		t.Error("the grant survived the reuse of its refresh token")
	}
	if _, err := rp.Userinfo[*oidc.UserInfo](ctx, owner.AccessToken, "Bearer", tokens.IDTokenClaims.Subject, relying); err == nil {
		t.Error("the access token survived the reuse of its refresh token")
	}
	// A forged token for a grant that exists, or garbage, ends nothing
	// else and is refused.
	for _, bad := range []string{"", "x", "x.y", strings.Repeat("a", 22) + "." + strings.Repeat("b", 43)} {
		if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, bad, "", ""); err == nil {
			t.Errorf("refresh token %q worked", bad)
		}
	}
}

// TestOpenIDPasswordChangeEndsGrants: the owner changing the password
// ends what a thief with the password started at a client.
func TestOpenIDPasswordChangeEndsGrants(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	email := h.arranged(accountstate.Verified)
	relying, thief := appTokens(t, h, email)
	ctx := context.Background()

	owner := h.signedIn(email, "")
	r := owner.postJSON("/api/password/change", jsonBody(map[string]string{
		"current_password": arrangedPassword, "password": chosenPassword, "password_confirm": chosenPassword}))
	wantStatus(t, "change password", r, http.StatusNoContent, "")

	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, thief.RefreshToken, "", ""); err == nil {
		t.Error("a refresh token survived the password change")
	}
	if _, err := rp.Userinfo[*oidc.UserInfo](ctx, thief.AccessToken, "Bearer", thief.IDTokenClaims.Subject, relying); err == nil {
		t.Error("an access token survived the password change")
	}
}

// TestOpenIDRevokeAndIntrospect: introspection tells the client its
// token is active until revoked; revoking the refresh token ends the
// grant; another client learns nothing of the token.
func TestOpenIDRevokeAndIntrospect(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	email := h.arranged(accountstate.Verified)
	relying, tokens := appTokens(t, h, email)
	ctx := context.Background()

	active := func(token string) bool {
		t.Helper()
		r := clientPost(t, h, openid.PathIntrospect, url.Values{"token": {token}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("introspect: %d %s", r.StatusCode, r.text())
		}
		return strings.Contains(r.text(), `"active":true`)
	}
	if !active(tokens.AccessToken) {
		t.Fatal("a fresh access token is not active")
	}
	r := clientPost(t, h, openid.PathIntrospect, url.Values{"token": {tokens.AccessToken}})
	if !strings.Contains(r.text(), `"email":"`+email+`"`) || !strings.Contains(r.text(), `"client_id":"web"`) {
		t.Errorf("introspection: %s", r.text())
	}
	// Another client asking about it learns nothing.
	req := h.newRequest(http.MethodPost, openid.PathIntrospect, strings.NewReader(url.Values{"token": {tokens.AccessToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("third", webSecret)
	if r := h.do(req); strings.Contains(r.text(), `"active":true`) {
		t.Errorf("another client sees the token: %s", r.text())
	}
	// A wrong client secret is refused.
	req = h.newRequest(http.MethodPost, openid.PathIntrospect, strings.NewReader(url.Values{"token": {tokens.AccessToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("web", "wrong")
	if r := h.do(req); r.StatusCode == http.StatusOK {
		t.Errorf("introspection with a wrong secret: %d %s", r.StatusCode, r.text())
	}

	r = clientPost(t, h, openid.PathRevoke, url.Values{"token": {tokens.AccessToken}, "token_type_hint": {"access_token"}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("revoke access token: %d %s", r.StatusCode, r.text())
	}
	if active(tokens.AccessToken) {
		t.Error("a revoked access token is active")
	}
	refreshed, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, tokens.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("refresh after revoking the access token: %v", err)
	}
	r = clientPost(t, h, openid.PathRevoke, url.Values{"token": {refreshed.RefreshToken}})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("revoke refresh token: %d %s", r.StatusCode, r.text())
	}
	if active(refreshed.AccessToken) {
		t.Error("the access token of a revoked refresh token is active")
	}
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, refreshed.RefreshToken, "", ""); err == nil {
		t.Error("a revoked refresh token worked")
	}
}

// TestOpenIDConsent: a client that is not first-party asks once; the
// answer is remembered, listed on /account and revocable there, which
// ends the client's tokens. A denial goes back as access_denied.
func TestOpenIDConsent(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	email := h.arranged(accountstate.Verified)
	relying := relyingParty(t, h, "third", webSecret, webRedirect, "openid", "email", "offline_access")
	ctx := context.Background()
	start := strings.TrimPrefix(relying.OAuthConfig().AuthCodeURL("s"), h.url)

	b := h.browser()
	b.signIn(email, arrangedPassword)
	decide := func(decision string) func(string, reply) (string, url.Values) {
		return func(path string, page reply) (string, url.Values) {
			if path != openid.PathConsent || !strings.Contains(page.text(), "Third party") || !strings.Contains(page.text(), "your email address") {
				t.Fatalf("expected the consent screen, got %s: %s", path, page.text())
			}
			return openid.PathConsent, url.Values{"id": {page.Request.URL.Query().Get("id")}, "decision": {decision}}
		}
	}
	back := authorize(t, b, start, decide("deny"))
	if back.Query().Get("error") != "access_denied" {
		t.Fatalf("denied: back at %s", back)
	}
	back = authorize(t, b, start, decide("allow"))
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, back.Query().Get("code"), relying)
	if err != nil {
		t.Fatalf("allowed: %v (back at %s)", err, back)
	}
	// Remembered: no screen the second time.
	back = authorize(t, b, start, nil)
	if back.Query().Get("code") == "" {
		t.Fatalf("second time: back at %s", back)
	}
	// Another account cannot answer this account's consent screen.
	other := h.browser()
	other.signIn(h.arranged(accountstate.Verified), arrangedPassword)
	other.get("/login") // a CSRF cookie
	var stolen string
	authorize(t, b, strings.TrimPrefix(relying.OAuthConfig().AuthCodeURL("s", oauth2.SetAuthURLParam("scope", "openid profile")), h.url),
		func(path string, page reply) (string, url.Values) {
			stolen = page.Request.URL.Query().Get("id")
			r := other.postForm(openid.PathConsent, url.Values{"id": {stolen}, "decision": {"allow"}})
			wantStatus(t, "another account answers the consent screen", r, http.StatusBadRequest, "")
			return openid.PathConsent, url.Values{"id": {stolen}, "decision": {"deny"}}
		})
	r := other.get(openid.PathConsent + "?id=" + stolen)
	wantStatus(t, "another account opens the consent screen", r, http.StatusBadRequest, "")

	page := b.get("/account")
	if !strings.Contains(page.text(), "Apps you allowed") || !strings.Contains(page.text(), "Third party") {
		t.Fatalf("account page lists no app: %s", page.text())
	}
	r = b.postForm("/account/apps/revoke", url.Values{"client": {"third"}})
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || loc != "/account?done=app_revoked" {
		t.Fatalf("revoke: %d %q", r.StatusCode, loc)
	}
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, tokens.RefreshToken, "", ""); err == nil {
		t.Error("a refresh token survived revoking the app")
	}
	back = authorize(t, b, start, decide("allow"))
	if back.Query().Get("code") == "" {
		t.Fatalf("after revoking, allowed again: back at %s", back)
	}
}

// TestOpenIDKeyRotation: every instance on one database signs with the
// same key, made on first start; after a rotation the new key signs and
// tokens signed by the old one still verify against the JWKS.
func TestOpenIDKeyRotation(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	ctx := context.Background()
	// A second instance on the same database makes no key of its own.
	if _, err := openid.New(ctx, h.store, openid.Config{Issuer: h.url, Insecure: true}); err != nil {
		t.Fatal(err)
	}
	keys := func() string { return h.get(openid.PathKeys).text() }
	before := keys()
	if strings.Count(before, `"kid"`) != 1 || !strings.Contains(before, `"alg":"ES256"`) {
		t.Fatalf("JWKS of a new provider: %s", before)
	}
	email := h.arranged(accountstate.Verified)
	relying, old := appTokens(t, h, email)

	if err := openid.RotateKey(ctx, h.store, time.Now()); err != nil {
		t.Fatal(err)
	}
	if after := keys(); strings.Count(after, `"kid"`) != 2 {
		t.Fatalf("JWKS after rotation: %s", after)
	}
	_, fresh := appTokens(t, h, email)
	kid := func(tok string) string {
		head, _, _ := strings.Cut(tok, ".")
		b, _ := base64.RawURLEncoding.DecodeString(head)
		return string(b)
	}
	if kid(fresh.IDToken) == kid(old.IDToken) {
		t.Error("the new key does not sign")
	}
	for name, tok := range map[string]string{"old": old.IDToken, "new": fresh.IDToken} {
		if _, err := rp.VerifyIDToken[*oidc.IDTokenClaims](ctx, tok, relying.IDTokenVerifier()); err != nil {
			t.Errorf("%s ID token: %v", name, err)
		}
	}
}

// TestOpenIDSessionReuse: a browser signed in to tacit is sent back with
// a code at once (prompt=none too); prompt=login and max_age=0 make it
// sign in again first, and auth_time says when it did.
func TestOpenIDSessionReuse(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	email := h.arranged(accountstate.Verified)
	relying := relyingParty(t, h, "web", webSecret, webRedirect, "openid", "email")
	ctx := context.Background()
	b := h.browser()
	b.signIn(email, arrangedPassword)

	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"no prompt":   nil,
		"prompt=none": {oauth2.SetAuthURLParam("prompt", "none")},
	} {
		back := authorize(t, b, strings.TrimPrefix(relying.OAuthConfig().AuthCodeURL("s", opts...), h.url), nil)
		if back.Query().Get("code") == "" {
			t.Errorf("%s with a session: back at %s", name, back)
		}
	}
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"prompt=login": {oauth2.SetAuthURLParam("prompt", "login")},
		"max_age=0":    {oauth2.SetAuthURLParam("max_age", "0")},
	} {
		h.skew.Add(int64(2 * time.Second)) // auth_time has whole seconds
		pages := []string{}
		login := loginPages(t, h, email, "")
		back := authorize(t, b, strings.TrimPrefix(relying.OAuthConfig().AuthCodeURL("s", opts...), h.url),
			func(path string, page reply) (string, url.Values) {
				pages = append(pages, path)
				return login(path, page)
			})
		if len(pages) != 1 || pages[0] != "/login" {
			t.Errorf("%s: pages %v, want the sign-in page", name, pages)
		}
		tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, back.Query().Get("code"), relying)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if at := tokens.IDTokenClaims.GetAuthTime(); time.Since(at) > 3*time.Second+time.Duration(h.skew.Load()) || at.IsZero() {
			t.Errorf("%s: auth_time %v is not the new sign-in", name, at)
		}
	}
}

// TestOpenIDCallbackBinding: someone who starts an authorization request
// and has a signed-in victim open its resume link cannot then collect a
// code for the victim's account in their own browser.
func TestOpenIDCallbackBinding(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	relying := relyingParty(t, h, "web", webSecret, webRedirect, "openid", "email")
	attacker := h.browser()
	r := attacker.get(strings.TrimPrefix(relying.OAuthConfig().AuthCodeURL("s"), h.url))
	resume := r.Header.Get("Location")
	if !strings.HasPrefix(resume, openid.PathResume+"?id=") {
		t.Fatalf("authorize: %d %q", r.StatusCode, resume)
	}
	id := strings.TrimPrefix(resume, openid.PathResume+"?id=")

	victim := h.browser()
	victim.signIn(h.arranged(accountstate.Verified), arrangedPassword)
	r = victim.get(resume)
	if refreshTo(r) != openid.PathCallback+"?id="+id {
		t.Fatalf("victim's resume: %d %s", r.StatusCode, r.text())
	}
	// The attacker, without the victim's session, asks for the code.
	r = attacker.get(openid.PathCallback + "?id=" + id)
	if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
		t.Fatalf("attacker at the callback: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	// So does another signed-in account.
	other := h.browser()
	other.signIn(h.arranged(accountstate.Verified), arrangedPassword)
	if r := other.get(openid.PathCallback + "?id=" + id); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("another account at the callback: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	// The victim's own browser gets it.
	r = victim.get(openid.PathCallback + "?id=" + id)
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, webRedirect+"?code=") {
		t.Fatalf("victim at the callback: %d %q", r.StatusCode, loc)
	}
	// Once its code is out, the request is spent: no other sign-in can
	// take it over.
	if r := other.get(resume); r.StatusCode != http.StatusBadRequest {
		t.Errorf("resume after the code: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// TestOpenIDCORS: a browser app on another origin may call the token
// endpoint, but never with the browser's cookies.
func TestOpenIDCORS(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	req := h.newRequest(http.MethodOptions, openid.PathToken, nil)
	req.Header.Set("Origin", "https://spa.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	r := h.do(req)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight: %d %v", r.StatusCode, r.Header)
	}
}

// TestOpenIDRevokeNeedsTheToken: the revocation endpoint ends a grant
// only for its refresh token, not for the name the provider uses for it
// inside ("refresh:" and the grant's id, which is the part of a refresh
// token before the dot: a copy of a refresh token already rotated tells
// it).
func TestOpenIDRevokeNeedsTheToken(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	email := h.arranged(accountstate.Verified)
	relying, tokens := appTokens(t, h, email)
	grant, _, _ := strings.Cut(tokens.RefreshToken, ".")
	for _, hint := range []string{"access_token", "refresh_token", ""} {
		form := url.Values{"token": {"refresh:" + grant}}
		if hint != "" {
			form.Set("token_type_hint", hint)
		}
		if r := clientPost(t, h, openid.PathRevoke, form); r.StatusCode != http.StatusOK {
			t.Fatalf("revoke the grant's inner name, hint %q: %d %s", hint, r.StatusCode, r.text())
		}
	}
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](context.Background(), relying, tokens.RefreshToken, "", ""); err != nil {
		t.Errorf("the grant ended by a revocation of its inner name: %v", err)
	}
}

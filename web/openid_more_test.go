package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/openid"
)

// tokenHeader returns the decoded JOSE header of a JWT.
func tokenHeader(t *testing.T, tok string) struct{ Alg, Kid string } {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	var h struct{ Alg, Kid string }
	if err != nil || json.Unmarshal(b, &h) != nil {
		t.Fatalf("JWT header of %q: %v", tok, err)
	}
	return h
}

// signInTokens signs email in to client id (first-party) through tacit's
// pages and exchanges the code with relying.
func signInTokens(t *testing.T, h *harness, relying rp.RelyingParty, email string) *oidc.Tokens[*oidc.IDTokenClaims] {
	t.Helper()
	back := authorize(t, h.browser(), strings.TrimPrefix(relying.OAuthConfig().AuthCodeURL("s"), h.url), loginPages(t, h, email, ""))
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](context.Background(), back.Query().Get("code"), relying)
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	return tokens
}

// TestOpenIDRS256: a client configured for RS256 gets ID tokens signed
// with an RSA key, made on first need and published in the JWKS beside
// the ES256 key; a relying party that accepts RS256 only verifies them
// against the JWKS. Other clients still get ES256. Discovery lists both
// algorithms and the prompt values, create among them.
func TestOpenIDRS256(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	email := h.arranged(accountstate.Verified)
	ctx := context.Background()

	var disc struct {
		Algs    []string `json:"id_token_signing_alg_values_supported"`
		Prompts []string `json:"prompt_values_supported"`
		Issuer  string   `json:"issuer"`
	}
	req := h.newRequest(http.MethodGet, openid.PathDiscovery, nil)
	req.Header.Set("Origin", "https://spa.example")
	r := h.do(req)
	if err := json.Unmarshal(r.body, &disc); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d %v %s", r.StatusCode, err, r.text())
	}
	if !slices.Contains(disc.Algs, "ES256") || !slices.Contains(disc.Algs, "RS256") || !slices.Contains(disc.Prompts, "create") ||
		!slices.Contains(disc.Prompts, "none") || disc.Issuer != h.url {
		t.Errorf("discovery: %+v", disc)
	}
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("discovery lost its CORS headers: %v", r.Header)
	}
	if jwks := h.get(openid.PathKeys).text(); strings.Contains(jwks, `"RS256"`) {
		t.Errorf("an RSA key before any client needed one: %s", jwks)
	}

	legacy, err := rp.NewRelyingPartyOIDC(ctx, h.url, "legacy", webSecret, webRedirect, []string{"openid", "email"},
		rp.WithVerifierOpts(rp.WithSupportedSigningAlgorithms("RS256")))
	if err != nil {
		t.Fatal(err)
	}
	tokens := signInTokens(t, h, legacy, email) // CodeExchange verifies the ID token, RS256 only
	if hd := tokenHeader(t, tokens.IDToken); hd.Alg != "RS256" || tokens.IDTokenClaims.Email != email {
		t.Errorf("legacy client's ID token: header %+v, claims %+v", hd, tokens.IDTokenClaims)
	}
	jwks := h.get(openid.PathKeys).text()
	if !strings.Contains(jwks, `"alg":"RS256"`) || !strings.Contains(jwks, `"alg":"ES256"`) || !strings.Contains(jwks, `"kty":"RSA"`) {
		t.Errorf("JWKS after the first RS256 token: %s", jwks)
	}
	// A second RS256 token uses the same RSA key.
	again := signInTokens(t, h, legacy, email)
	if tokenHeader(t, again.IDToken).Kid != tokenHeader(t, tokens.IDToken).Kid {
		t.Error("a second RSA key was made")
	}
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, legacy, tokens.RefreshToken, "", ""); err == nil && tokens.RefreshToken != "" {
		t.Log("refresh without offline_access")
	}

	web := relyingParty(t, h, "web", webSecret, webRedirect, "openid", "email", "offline_access")
	es := signInTokens(t, h, web, email)
	if hd := tokenHeader(t, es.IDToken); hd.Alg != "ES256" {
		t.Errorf("web client's ID token: %+v", hd)
	}
	refreshed, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, web, es.RefreshToken, "", "")
	if err != nil || tokenHeader(t, refreshed.IDToken).Alg != "ES256" {
		t.Errorf("refreshed ID token: %v", err)
	}
	// A relying party on RS256 only refuses the ES256 token.
	if _, err := rp.VerifyIDToken[*oidc.IDTokenClaims](ctx, es.IDToken, legacy.IDTokenVerifier()); err == nil {
		t.Error("an RS256-only relying party accepted an ES256 token")
	}
}

// TestOpenIDScheduledKeyRotation: once a key has signed for the rotation
// period, the housekeeping's rotation replaces it; new tokens carry the
// new kid, tokens the old key signed still verify against the JWKS until
// every token it signed has expired, then the old key leaves the JWKS.
func TestOpenIDScheduledKeyRotation(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	ctx := context.Background()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	p, err := openid.New(ctx, h.store, openid.Config{Issuer: h.url, Insecure: true, KeyRotation: 24 * time.Hour,
		Now: func() time.Time { return time.Unix(0, now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	email := h.arranged(accountstate.Verified)
	web := relyingParty(t, h, "web", webSecret, webRedirect, "openid", "email")
	old := signInTokens(t, h, web, email)
	oldKid := tokenHeader(t, old.IDToken).Kid

	if rotated, err := p.RotateKeysDue(ctx); err != nil || len(rotated) != 0 {
		t.Fatalf("rotation of a new key: %v, %v", rotated, err)
	}
	now.Add(int64(25 * time.Hour))
	if rotated, err := p.RotateKeysDue(ctx); err != nil || len(rotated) != 1 {
		t.Fatalf("rotation when due: %v, %v", rotated, err)
	}
	fresh := signInTokens(t, h, web, email)
	if tokenHeader(t, fresh.IDToken).Kid == oldKid {
		t.Fatal("the old key still signs after the rotation")
	}
	verify := func(tok string) error {
		// A relying party of its own: none of the keys it fetched
		// earlier are cached.
		_, err := rp.VerifyIDToken[*oidc.IDTokenClaims](ctx, tok, relyingParty(t, h, "web", webSecret, webRedirect, "openid").IDTokenVerifier())
		return err
	}
	for name, tok := range map[string]string{"old": old.IDToken, "new": fresh.IDToken} {
		if err := verify(tok); err != nil {
			t.Errorf("%s ID token after the rotation: %v", name, err)
		}
	}
	keys, err := openid.ListKeys(ctx, h.store, openid.Config{KeyRotation: 24 * time.Hour})
	if err != nil || len(keys) != 2 || keys[1].ID != oldKid || keys[1].RemovedAt.IsZero() || !keys[0].RetiredAt.IsZero() {
		t.Fatalf("keys after the rotation: %+v, %v", keys, err)
	}

	// Until the old key's tokens have all expired it stays; then it goes.
	now.Store(keys[1].RemovedAt.Add(-time.Second).UnixNano())
	if _, err := p.RotateKeysDue(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.get(openid.PathKeys).text(), oldKid) {
		t.Error("the old key left the JWKS before its tokens expired")
	}
	now.Store(keys[1].RemovedAt.Add(time.Second).UnixNano())
	if rotated, err := p.RotateKeysDue(ctx); err != nil || len(rotated) != 0 {
		t.Fatalf("housekeeping after the old key's tokens expired: %v, %v", rotated, err)
	}
	if jwks := h.get(openid.PathKeys).text(); strings.Contains(jwks, oldKid) || !strings.Contains(jwks, tokenHeader(t, fresh.IDToken).Kid) {
		t.Errorf("JWKS once the old key retired: %s", jwks)
	}
	if err := verify(old.IDToken); err == nil {
		t.Error("a token of a retired key still verifies")
	}
	if err := verify(fresh.IDToken); err != nil {
		t.Errorf("new ID token: %v", err)
	}
}

// TestOpenIDCodeReuse: a code presented a second time ends every token
// its first exchange gave (RFC 6749 section 4.1.2), and is refused.
func TestOpenIDCodeReuse(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	email := h.arranged(accountstate.Verified)
	ctx := context.Background()
	relying := relyingParty(t, h, "web", webSecret, webRedirect, "openid", "email", "offline_access")
	back := authorize(t, h.browser(), strings.TrimPrefix(relying.OAuthConfig().AuthCodeURL("s"), h.url), loginPages(t, h, email, ""))
	code := back.Query().Get("code")
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, relying)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, "Bearer", tokens.IDTokenClaims.Subject, relying); err != nil {
		t.Fatalf("userinfo before the reuse: %v", err)
	}
	r := clientPost(t, h, openid.PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.text(), "invalid_grant") {
		t.Fatalf("second exchange: %d %s", r.StatusCode, r.text())
	}
	if _, err := rp.Userinfo[*oidc.UserInfo](ctx, tokens.AccessToken, "Bearer", tokens.IDTokenClaims.Subject, relying); err == nil {
		t.Error("the access token survived the code's reuse")
	}
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, tokens.RefreshToken, "", ""); err == nil {
		t.Error("the refresh token survived the code's reuse")
	}
	// Other grants of the account are not touched.
	other := signInTokens(t, h, relying, email)
	r = clientPost(t, h, openid.PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}})
	if r.StatusCode != http.StatusBadRequest {
		t.Fatalf("third exchange: %d %s", r.StatusCode, r.text())
	}
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, other.RefreshToken, "", ""); err != nil {
		t.Errorf("another grant ended with the reused code's: %v", err)
	}
}

// TestOpenIDClientAuthThrottle: wrong client secrets at the token,
// introspection and revocation endpoints are throttled per client id and
// per client address: past the limit every attempt, with the right
// secret too, is answered 429 with Retry-After before the secret is
// checked, alike for a client that exists and one that does not; a
// client that authenticates is never counted.
func TestOpenIDClientAuthThrottle(t *testing.T) {
	limits := testenv.RoomyLimits()
	limits.ClientSecret = flow.Limit{Free: 3, Delay: time.Minute, Window: time.Hour}
	limits.ClientSecretIP = flow.Limit{Free: 8, Delay: time.Minute, Window: time.Hour}
	h := newHarness(t, options{oidc: oidcClients(), limits: limits, frozen: true})
	post := func(path, id, secret string) reply {
		req := h.newRequest(http.MethodPost, path, strings.NewReader(url.Values{
			"grant_type": {"refresh_token"}, "refresh_token": {"x.y"}, "token": {"x"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		return h.do(req)
	}
	// A client that authenticates is never held back: its requests
	// (a bad code here) take their count back.
	for i := range 6 {
		if r := post(openid.PathToken, "web", webSecret); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("right secret, try %d: %d %s", i, r.StatusCode, r.text())
		}
	}
	for _, id := range []string{"web", "nobody"} {
		for i := range 3 {
			path := []string{openid.PathToken, openid.PathIntrospect, openid.PathRevoke}[i]
			if r := post(path, id, "wrong"); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s wrong secret %d at %s: %d %s", id, i, path, r.StatusCode, r.text())
			}
			// The client's own requests in between neither count nor
			// clear the failures.
			if id == "web" && i < 2 {
				if r := post(openid.PathToken, "web", webSecret); r.StatusCode != http.StatusBadRequest {
					t.Fatalf("right secret between failures: %d %s", r.StatusCode, r.text())
				}
			}
		}
	}
	// Past the limit: 429 whatever the secret, the same for both ids.
	var held []reply
	for _, id := range []string{"web", "nobody"} {
		for _, secret := range []string{"wrong", webSecret} {
			r := post(openid.PathToken, id, secret)
			if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "60" || !strings.Contains(r.text(), "invalid_client") {
				t.Errorf("%s with secret %q past the limit: %d %q %s", id, secret, r.StatusCode, r.Header.Get("Retry-After"), r.text())
			}
			held = append(held, r)
		}
	}
	for i := 1; i < len(held); i++ {
		sameResponse(t, "held-back client authentication", held[0], held[i], "", "")
	}
	// The wait over, the right secret works again.
	h.skew.Add(int64(time.Minute))
	if r := post(openid.PathToken, "web", webSecret); r.StatusCode != http.StatusBadRequest {
		t.Errorf("right secret after the wait: %d %s", r.StatusCode, r.text())
	}
	// Per address: two more failures from this address, on client ids
	// never seen, reach its limit of 8; then every client is held back
	// from here.
	for _, id := range []string{"a", "b"} {
		if r := post(openid.PathToken, id, "wrong"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s", id, r.StatusCode, r.text())
		}
	}
	if r := post(openid.PathToken, "c", "wrong"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a new client id from an address past its limit: %d %s", r.StatusCode, r.text())
	}
}

// TestOpenIDPromptCreate: prompt=create sends a browser to the sign-up
// page; once the mailed link is followed in the same browser and the
// password chosen, the authorization goes on and the client gets a code
// for the new account.
func TestOpenIDPromptCreate(t *testing.T) {
	for name, mode := range map[string]flow.Mode{"email first": flow.EmailFirst, "full form": flow.FullForm} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, options{oidc: oidcClients(), mode: mode})
			email := newAddress()
			relying := relyingParty(t, h, "web", webSecret, webRedirect, "openid", "email")
			start := relying.OAuthConfig().AuthCodeURL("s", oauth2.SetAuthURLParam("prompt", "create"), oauth2.SetAuthURLParam("login_hint", email))
			var pages []string
			back := authorize(t, h.browser(), strings.TrimPrefix(start, h.url), func(path string, page reply) (string, url.Values) {
				pages = append(pages, path)
				switch path {
				case "/register":
					if !strings.Contains(page.text(), `value="`+email+`"`) {
						t.Errorf("sign-up page without the login_hint filled in")
					}
					f := url.Values{"email": {email}}
					if mode == flow.FullForm {
						f.Set("password", chosenPassword)
						f.Set("password_confirm", chosenPassword)
					}
					return "/register", f
				case "/register/sent":
					h.deliver()
					if mode == flow.FullForm {
						return "/verify", url.Values{"token": {mailboxLink(t, h, email, "/verify")}, "password": {chosenPassword}}
					}
					tok := mailboxLink(t, h, email, "/register/complete")
					return "/register/complete", url.Values{"token": {tok}, "password": {chosenPassword}, "password_confirm": {chosenPassword}}
				}
				t.Fatalf("unexpected page %s: %d %s", path, page.StatusCode, page.text())
				return "", nil
			})
			if !slices.Equal(pages, []string{"/register", "/register/sent"}) {
				t.Errorf("pages on the way: %v", pages)
			}
			if back.Query().Get("code") == "" || back.Query().Get("state") != "s" {
				t.Fatalf("back at the client: %s", back)
			}
			tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](context.Background(), back.Query().Get("code"), relying)
			if err != nil || tokens.IDTokenClaims.Email != email {
				t.Fatalf("code exchange after sign-up: %v", err)
			}
		})
	}
}

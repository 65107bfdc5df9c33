package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// relyingApp is a web application that signs its users in with tacit:
// the relying party of TestBrowserOpenID, run in the test process. It
// exchanges codes, verifies ID tokens against tacit's JWKS and reads
// userinfo, as any app would.
type relyingApp struct {
	t      *testing.T
	srv    *httptest.Server
	web    rp.RelyingParty // confidential client, asks consent
	spa    rp.RelyingParty // public client, PKCE
	mu     sync.Mutex
	state  string
	nonce  string
	verify string // the PKCE verifier of the public client's request
	tokens *oidc.Tokens[*oidc.IDTokenClaims]
}

func newRelyingApp(t *testing.T) *relyingApp {
	a := &relyingApp{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.state, a.nonce = oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		u := a.web.OAuthConfig().AuthCodeURL(a.state, oauth2.SetAuthURLParam("nonce", a.nonce))
		a.mu.Unlock()
		http.Redirect(w, r, u, http.StatusFound)
	})
	mux.HandleFunc("GET /spa/start", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.state, a.verify, a.nonce = oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), ""
		u := a.spa.OAuthConfig().AuthCodeURL(a.state, oauth2.S256ChallengeOption(a.verify))
		a.mu.Unlock()
		http.Redirect(w, r, u, http.StatusFound)
	})
	// An app's "create an account" button: prompt=create sends the
	// browser to tacit's sign-up instead of its sign-in.
	mux.HandleFunc("GET /spa/create", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.state, a.verify, a.nonce = oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), ""
		u := a.spa.OAuthConfig().AuthCodeURL(a.state, oauth2.S256ChallengeOption(a.verify), oauth2.SetAuthURLParam("prompt", "create"))
		a.mu.Unlock()
		http.Redirect(w, r, u, http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) { a.callback(w, r, a.web, "") })
	mux.HandleFunc("GET /spa/callback", func(w http.ResponseWriter, r *http.Request) { a.callback(w, r, a.spa, " (public client)") })
	mux.HandleFunc("GET /bye", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><main><h1>Signed out</h1><p id="state">%s</p></main>`, r.URL.Query().Get("state"))
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

// callback exchanges the code, verifies the ID token, reads userinfo and
// shows who signed in.
func (a *relyingApp) callback(w http.ResponseWriter, r *http.Request, party rp.RelyingParty, which string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := r.URL.Query()
	if q.Get("state") != a.state || q.Get("code") == "" {
		a.t.Logf("relying app: bad callback %s", r.URL.RawQuery)
		http.Error(w, "bad callback: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	var opts []rp.CodeExchangeOpt
	if a.verify != "" && party == a.spa {
		opts = append(opts, rp.WithCodeVerifier(a.verify))
	}
	ctx := context.WithValue(r.Context(), nonceKey{}, a.nonce)
	tokens, err := rp.CodeExchange[*oidc.IDTokenClaims](ctx, q.Get("code"), party, opts...)
	if err != nil {
		a.t.Logf("relying app: code exchange: %v", err)
		http.Error(w, "code exchange: "+err.Error(), http.StatusBadGateway)
		return
	}
	info, err := rp.Userinfo[*oidc.UserInfo](r.Context(), tokens.AccessToken, "Bearer", tokens.IDTokenClaims.Subject, party)
	if err != nil {
		http.Error(w, "userinfo: "+err.Error(), http.StatusBadGateway)
		return
	}
	a.tokens = tokens
	fmt.Fprintf(w, `<!doctype html><main><h1>Signed in%s</h1><p id="email">%s</p><p id="sub">%s</p></main>`,
		which, info.Email, tokens.IDTokenClaims.Subject)
}

// nonceKey carries the nonce the ID token must hold.
type nonceKey struct{}

func relyingParty(t *testing.T, issuer, id, secret, redirect string) rp.RelyingParty {
	t.Helper()
	p, err := rp.NewRelyingPartyOIDC(context.Background(), issuer, id, secret, redirect,
		[]string{"openid", "email", "offline_access"},
		rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string { n, _ := ctx.Value(nonceKey{}).(string); return n })))
	if err != nil {
		t.Fatalf("relying party %s: %v", id, err)
	}
	return p
}

// enableTOTP turns two-step sign-in on for an account through the JSON
// API and returns the authenticator secret.
func enableTOTP(t *testing.T, s *server, email, password string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if code, body := postJSON(t, c, s.URL+"/api/login", map[string]string{"email": email, "password": password}); code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}
	code, body := postJSON(t, c, s.URL+"/api/mfa/totp/setup", map[string]string{})
	var setup struct{ Secret string }
	if code != 200 || json.Unmarshal(body, &setup) != nil {
		t.Fatalf("totp setup: %d %s", code, body)
	}
	if code, body := postJSON(t, c, s.URL+"/api/mfa/totp/enable", map[string]string{"code": totpCode(t, setup.Secret, 0), "password": password}); code != 200 {
		t.Fatalf("totp enable: %d %s", code, body)
	}
	return setup.Secret
}

// visit navigates the browser to a full URL and checks the status of the
// page it ends on.
func (b *browser) visit(u string, status int64) {
	b.t.Helper()
	b.run("visit "+u, func(ctx context.Context) error {
		return b.navigated(ctx, status, chromedp.Navigate(u))
	})
}

// arrive waits until the browser, sent on by a page of its own (tacit's
// way back to a client is a meta refresh), reaches path, then checks the
// page's heading.
func (b *browser) arrive(path, heading string) {
	b.t.Helper()
	b.run("arrive at "+path, func(ctx context.Context) error {
		for {
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				return err
			}
			if u, err := url.Parse(loc); err == nil && u.Path == path {
				return chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("main h1")))
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("still at %s", loc)
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	b.expectPage(path, heading)
}

// TestBrowserOpenID runs a real relying party against the real binary
// through Chromium: sign in at tacit with a TOTP step, consent, code
// exchange with the ID token verified against the JWKS, userinfo,
// refresh; a public client with PKCE signed in by the same session; and
// RP-initiated logout, which ends the tacit session too; then a new person
// who creates an account from the app (prompt=create) by the mailed link
// and lands back in the app signed in.
func TestBrowserOpenID(t *testing.T) {
	chromium := findChromium(t)
	app := newRelyingApp(t)
	const webSecret = "relying-app-secret-0123456789"
	config := filepath.Join(t.TempDir(), "tacit.yaml")
	err := os.WriteFile(config, []byte(fmt.Sprintf(`oidc: true
oidc_clients:
  - id: web
    name: Relying App
    secret: %s
    redirect_uris: [%s/callback]
    post_logout_redirect_uris: [%s/bye]
  - id: spa
    first_party: true
    redirect_uris: [%s/spa/callback]
`, webSecret, app.srv.URL, app.srv.URL, app.srv.URL)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "TACIT_CONFIG="+config, "TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s")
	app.web = relyingParty(t, srv.URL, "web", webSecret, app.srv.URL+"/callback")
	app.spa = relyingParty(t, srv.URL, "spa", "", app.srv.URL+"/spa/callback")

	const (
		email    = "grace.hopper@example.com"
		password = "Compiler-A-0-1952"
	)
	signUp(t, srv, email, password)
	secret := enableTOTP(t, srv, email, password)

	b := newBrowser(t, chromium, srv.URL)
	// The app sends the browser to tacit's own sign-in page.
	b.visit(app.srv.URL+"/start", 200)
	b.expectPage("/login", "Sign in")
	b.fill("Email address", email)
	b.fill("Password", password)
	b.click("Sign in", 200)
	b.expectPage("/login/mfa", "Enter your code")
	b.fill("Code", totpCode(t, secret, 30*time.Second))
	b.click("Sign in", 200)
	// Not first-party: the consent screen.
	b.expectPage("/authorize/consent", "Allow Relying App?")
	b.click("Allow", 200)
	b.arrive("/callback", "Signed in")
	b.expectText("#email", email)
	sub := b.text("#sub")
	if sub == "" || strings.Contains(sub, "@") {
		t.Fatalf("subject %q", sub)
	}

	ctx := context.Background()
	app.mu.Lock()
	first := app.tokens
	app.mu.Unlock()
	refreshed, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, app.web, first.RefreshToken, "", "")
	if err != nil || refreshed.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
	if info, err := rp.Userinfo[*oidc.UserInfo](ctx, refreshed.AccessToken, "Bearer", sub, app.web); err != nil || info.Email != email {
		t.Fatalf("userinfo after refresh: %+v %v", info, err)
	}

	// The public client: the tacit session signs it in at once.
	b.visit(app.srv.URL+"/spa/start", 200)
	b.arrive("/spa/callback", "Signed in (public client)")
	b.expectText("#sub", sub)

	// RP-initiated logout ends the app's tokens and the tacit session.
	end := app.web.GetEndSessionEndpoint() + "?" + url.Values{"id_token_hint": {first.IDToken},
		"post_logout_redirect_uri": {app.srv.URL + "/bye"}, "state": {"bye"}}.Encode()
	b.visit(end, 200)
	b.arrive("/bye", "Signed out")
	b.expectText("#state", "bye")
	if _, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, app.web, refreshed.RefreshToken, "", ""); err == nil {
		t.Error("the refresh token survived the logout")
	}
	b.open("/account")
	b.expectPage("/login", "Sign in")

	// A new person creates an account from the app: tacit's sign-up page,
	// the link in the mail, the password, then back to the app.
	const newcomer = "ada.lovelace@example.com"
	b.visit(app.srv.URL+"/spa/create", 200)
	b.expectPage("/register", "Create an account")
	b.fill("Email address", newcomer)
	b.click("Continue", 200)
	b.expectPage("/register/sent", "Check your inbox")
	b.openMail(newcomer, "/register/complete")
	b.clickMailLink(newcomer, "/register/complete", 200)
	b.expectPage("/register/complete", "Choose your password")
	b.fill("Password", "Analytical-engine-1843")
	b.fill("Password again", "Analytical-engine-1843")
	b.click("Create account", 200)
	b.arrive("/spa/callback", "Signed in (public client)")
	b.expectText("#email", newcomer)
	if got := b.text("#sub"); got == "" || got == sub {
		t.Errorf("the newcomer's subject %q (the first account's: %q)", got, sub)
	}
}

package openid

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/tacitauth/tacit"
)

// A configuration with a client twice, or one without an id or redirect
// URI, is refused; secrets are kept only as hashes.
func TestConfigClients(t *testing.T) {
	for name, list := range map[string][]Client{
		"twice":       {{ID: "a", RedirectURIs: []string{"https://a/"}}, {ID: "a", RedirectURIs: []string{"https://b/"}}},
		"no id":       {{RedirectURIs: []string{"https://a/"}}},
		"no redirect": {{ID: "a"}},
	} {
		if _, err := configClients(list, time.Hour); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	got, err := configClients([]Client{{ID: "a", Secret: "s", RedirectURIs: []string{"https://a/"}}, {ID: "p", RedirectURIs: []string{"https://p/"}}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a, p := got["a"], got["p"]
	if a.public() || !a.checkSecret("s") || a.checkSecret("t") || a.checkSecret("") || a.name != "a" {
		t.Errorf("confidential client %+v", a)
	}
	if !p.public() || p.checkSecret("") || p.AuthMethod() != oidc.AuthMethodNone {
		t.Errorf("public client %+v", p)
	}
	c, secret := NewClient("x", "X", []string{"https://x/"}, nil, false, false, time.Now())
	if !tacit.WellFormedToken(secret) || strings.Contains(string(c.SecretHash), secret) || !(&client{secretHash: c.SecretHash}).checkSecret(secret) {
		t.Errorf("NewClient: secret %q, hash %x", secret, c.SecretHash)
	}
	if c, secret := NewClient("y", "Y", []string{"https://y/"}, nil, true, false, time.Now()); secret != "" || c.SecretHash != nil {
		t.Errorf("public NewClient: secret %q, hash %x", secret, c.SecretHash)
	}
}

// fresh: a sign-in made since the request always answers it; an older
// session does not with prompt=login, nor past max_age.
func TestFresh(t *testing.T) {
	created := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	zero, minute := uint(0), uint(60)
	req := func(prompt []string, maxAge *uint) *authRequest {
		return &authRequest{stored: tacit.AuthRequest{CreatedAt: created}, req: oidc.AuthRequest{Prompt: prompt, MaxAge: maxAge}}
	}
	before, after := &Who{SignedInAt: created.Add(-30 * time.Second)}, &Who{SignedInAt: created.Add(time.Second)}
	now := created.Add(2 * time.Second)
	for _, tc := range []struct {
		name string
		a    *authRequest
		who  *Who
		want bool
	}{
		{"plain, older session", req(nil, nil), before, true},
		{"prompt=login, older session", req([]string{"login"}, &zero), before, false},
		{"prompt=login, new sign-in", req([]string{"login"}, &zero), after, true},
		{"max_age=0, new sign-in", req(nil, &zero), after, true},
		{"max_age=60, session 32 s old", req(nil, &minute), before, true},
		{"max_age=0, older session", req(nil, &zero), before, false},
	} {
		if got := fresh(tc.a, tc.who, now); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The sign-in page comes back to Resume and fills in login_hint, escaped.
func TestLoginURL(t *testing.T) {
	u, err := url.Parse(pageURL(pathLoginTemplate, "abc", "a+b@example.com&next=//evil"))
	if err != nil || u.Path != "/login" || u.Query().Get("next") != PathResume+"?id=abc" || u.Query().Get("email") != "a+b@example.com&next=//evil" {
		t.Errorf("pageURL: %s (%v)", u, err)
	}
	if strings.Contains(pageURL(pathRegister, "abc", ""), "email=") {
		t.Error("an empty hint is passed on")
	}
}

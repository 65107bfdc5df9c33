package web

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/openid"
)

// requestID matches the id of an authorization request in a URL.
var requestIDPattern = regexp.MustCompile(`id(=|%3D)[A-Za-z0-9_-]{22}`)

// oidcHops follows an authorization request made for email (as
// login_hint, with the extra parameters) by a browser without a session,
// hop by hop within tacit, and returns every reply with the request's id
// and the address masked in the Location header and the body.
func oidcHops(h *harness, email string, extra url.Values) []reply {
	q := url.Values{"client_id": {"spa"}, "redirect_uri": {spaRedirect}, "response_type": {"code"}, "scope": {"openid email"},
		"state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
		"login_hint": {email}}
	for k, v := range extra {
		q[k] = v
	}
	b := h.browser()
	var out []reply
	r := b.get(openid.PathAuthorize + "?" + q.Encode())
	for range 5 {
		loc := r.Header.Get("Location")
		if loc == "" {
			loc = refreshTo(r)
		}
		masked := r
		masked.Response = new(*r.Response)
		masked.Header = r.Header.Clone()
		mask := func(s string) string {
			s = requestIDPattern.ReplaceAllString(s, "id=<id>")
			s = strings.ReplaceAll(s, url.QueryEscape(email), "<email>")
			return strings.ReplaceAll(s, email, "<email>")
		}
		if loc != "" {
			masked.Header.Set("Location", mask(loc))
		}
		masked.body = []byte(mask(string(r.body)))
		out = append(out, masked)
		if loc == "" || !strings.HasPrefix(loc, "/") {
			break
		}
		r = b.get(loc)
	}
	return out
}

// TestOpenIDUniform: what /authorize and the steps after it answer a
// browser without a session depends only on the client and the request,
// never on the account behind login_hint: the hop to tacit's sign-in
// page, the page with the address filled in, prompt=none's
// login_required, and the errors of bad requests.
func TestOpenIDUniform(t *testing.T) {
	h := newHarness(t, options{oidc: oidcClients()})
	cases := map[string]url.Values{
		"sign-in":                   nil,
		"prompt=none":               {"prompt": {"none"}},
		"prompt=login":              {"prompt": {"login"}},
		"prompt=create":             {"prompt": {"create"}},
		"max_age":                   {"max_age": {"0"}},
		"unregistered redirect_uri": {"redirect_uri": {"http://127.0.0.1:9/elsewhere"}},
		"unknown client":            {"client_id": {"nobody"}},
		"no PKCE":                   {"code_challenge": nil, "code_challenge_method": nil},
		"plain PKCE":                {"code_challenge_method": {"plain"}},
		"unsupported response_type": {"response_type": {"token"}},
		"no scope":                  {"scope": nil},
		"prompt=none with another":  {"prompt": {"none login"}},
		"bad id_token_hint":         {"id_token_hint": {"e30.e30.sig"}},
		"unsupported response_mode": {"response_mode": {"fragment"}},
		"prompt=consent":            {"prompt": {"consent"}},
		"prompt=select_account":     {"prompt": {"select_account"}},
		"prompt=create login":       {"prompt": {"create login"}},
		"prompt=none create":        {"prompt": {"none create"}},
		"prompt=create max_age":     {"prompt": {"create"}, "max_age": {"0"}},
		"prompt=create unknown":     {"prompt": {"create"}, "client_id": {"nobody"}},
	}
	for _, pair := range accountstate.Pairs() {
		ea, eb := h.arranged(pair[0]), h.arranged(pair[1])
		for name, extra := range cases {
			ha, hb := oidcHops(h, ea, extra), oidcHops(h, eb, extra)
			if len(ha) != len(hb) {
				t.Errorf("%s [%s vs %s]: %d hops and %d", name, pair[0], pair[1], len(ha), len(hb))
				continue
			}
			for i := range ha {
				sameResponse(t, fmt.Sprintf("%s, hop %d [%s vs %s]", name, i, pair[0], pair[1]), ha[i], hb[i], ea, eb)
			}
		}
	}
	// The login_hint fills in the address and nothing more.
	hops := oidcHops(h, "someone@example.com", nil)
	last := hops[len(hops)-1]
	if last.StatusCode != 200 || last.Request.URL.Path != "/login" || !strings.Contains(last.text(), `value="<email>"`) {
		t.Errorf("sign-in hops end at %s %d; want the sign-in page with the address filled in", last.Request.URL, last.StatusCode)
	}
	// prompt=create: the sign-up page, the address filled in as given.
	hops = oidcHops(h, "someone@example.com", url.Values{"prompt": {"create"}})
	last = hops[len(hops)-1]
	if last.StatusCode != 200 || last.Request.URL.Path != "/register" || !strings.Contains(last.text(), `value="<email>"`) {
		t.Errorf("prompt=create hops end at %s %d; want the sign-up page with the address filled in", last.Request.URL, last.StatusCode)
	}
	// prompt=none without a session: login_required at the client.
	hops = oidcHops(h, "someone@example.com", url.Values{"prompt": {"none"}})
	if loc := refreshTo(hops[len(hops)-1]); !strings.HasPrefix(loc, spaRedirect+"?error=login_required") || !strings.Contains(loc, "state=s") {
		t.Errorf("prompt=none ends at %q", loc)
	}
}

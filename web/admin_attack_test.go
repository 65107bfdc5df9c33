package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/internal/testenv"
)

// TestAdminAPIReadTokenCannotWrite: a read-scope token tries every trick
// that could turn its call into a write, on the API's own address and
// on the main one: method overrides, HEAD, doubled slashes, dot segments
// plain and escaped, an escaped slash, a trailing slash, and the main
// address asked with the admin address's Host. None changes the
// account, none is answered 2xx, redirects are not followed (a client
// that follows one re-sends it as a GET, which is a read anyway), and the
// token never shows in the log.
func TestAdminAPIReadTokenCannotWrite(t *testing.T) {
	s := newAdminServer(t, testenv.SQLite(t), false, true)
	const ada = "ada@example.com"
	s.account(ada)
	if code, _ := s.signIn(ada); code != 200 {
		t.Fatalf("sign-in before: %d", code)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	own, _ := url.Parse(s.own)
	type attempt struct {
		base, method, path string
		header             http.Header
		host               string
	}
	disable := "/admin/api/accounts/" + ada + "/disable"
	attempts := []attempt{
		{s.own, "POST", disable, nil, ""},
		{s.own, "GET", disable, http.Header{"X-Http-Method-Override": {"POST"}}, ""},
		{s.own, "GET", disable, http.Header{"X-Http-Method": {"POST"}}, ""},
		{s.own, "GET", disable + "?_method=POST", nil, ""},
		{s.own, "HEAD", disable, nil, ""},
		{s.own, "POST", "/" + disable, nil, ""},
		{s.own, "POST", "/admin//api/accounts/" + ada + "/disable", nil, ""},
		{s.own, "POST", disable + "/", nil, ""},
		{s.own, "POST", "/admin/api/accounts/x/../" + ada + "/disable", nil, ""},
		{s.own, "POST", "/admin/api/accounts/x/%2e%2e/" + ada + "/disable", nil, ""},
		{s.own, "POST", "/admin/api/accounts/" + ada + "%2Fdisable", nil, ""},
		{s.own, "DELETE", "/admin/api/accounts/" + ada, nil, ""},
		{s.own, "GET", "/admin/api/accounts/" + ada, http.Header{"X-Http-Method-Override": {"DELETE"}}, ""},
		{s.main, "POST", disable, nil, own.Host},
		{s.main, "GET", "/admin/api/accounts/" + ada, nil, own.Host},
		{s.main, "POST", "//admin/api/accounts/" + ada + "/disable", nil, own.Host},
	}
	for _, a := range attempts {
		toks := []string{s.read}
		if a.base == s.main {
			toks = append(toks, s.write)
		}
		for _, tok := range toks {
			req, err := http.NewRequest(a.method, a.base+a.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range a.header {
				req.Header[k] = v
			}
			if a.host != "" {
				req.Host = a.host
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			what := a.method + " " + a.base + a.path
			// ServeMux sends an unclean path to its clean form (301,
			// 307 keeping the method): on the main address, a 404 too.
			redirect := resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusTemporaryRedirect
			if a.base == s.main && resp.StatusCode != http.StatusNotFound && !redirect {
				t.Errorf("%s (host %q): %d on the main address, want 404", what, a.host, resp.StatusCode)
			}
			if a.method != "GET" && a.method != "HEAD" && resp.StatusCode/100 == 2 {
				t.Errorf("%s: %d", what, resp.StatusCode)
			}
			acc, _, err := s.op.Show(context.Background(), ada, 0)
			if err != nil {
				t.Fatalf("%s (%d): %v", what, resp.StatusCode, err)
			}
			if acc.State != tacit.AccountActive || acc.Sessions != 1 {
				t.Fatalf("%s (%d) changed the account: %+v", what, resp.StatusCode, acc)
			}
		}
	}
	for _, tok := range []string{s.read, s.write} {
		_, secret, _ := strings.Cut(tok, ".")
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("a token's secret is in the log")
		}
	}
}

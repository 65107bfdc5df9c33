package scan_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/scan"
	"github.com/tacitauth/tacit/scan/lab"
)

// TestDiscoverHAR builds a target from a browser's recording of the
// Devise imitation (testdata/devise.har: sign-in, sign-up and reset, each
// with its page's authenticity_token, among an asset, an analytics POST and
// a POST to another host). The target takes each token from its page, and
// scanning the live site with it finds the reset leak with Devise's fix.
func TestDiscoverHAR(t *testing.T) {
	f, err := os.Open("testdata/devise.har")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	disc, err := scan.DiscoverHAR(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"login /users/sign_in", "register /users", "reset /users/password"}
	if got := formSummary(disc); !slices.Equal(got, want) {
		t.Fatalf("forms %q, want %q", got, want)
	}
	pages := map[scan.Kind]string{scan.KindLogin: "/users/sign_in", scan.KindRegister: "/users/sign_up", scan.KindReset: "/users/password/new"}
	for _, f := range disc.Forms {
		if f.Page != pages[f.Kind] || !slices.Equal(f.Fresh, []string{"authenticity_token"}) || f.Identifier != "user[email]" {
			t.Errorf("%s: page %q, fresh %q, identifier %q", f.Kind, f.Page, f.Fresh, f.Identifier)
		}
	}
	if disc.Framework == nil || disc.Framework.Name != "Rails (Devise)" {
		t.Errorf("framework %+v", disc.Framework)
	}
	site := lab.Sites()[1]
	srv := httptest.NewServer(site.New())
	defer srv.Close()
	text := strings.Replace(disc.TargetFile("devise.har", []string{lab.Known}), `"http://shop.example"`, `"`+srv.URL+`"`, 1)
	rep := scanText(t, text, 4)
	if got := rules(rep); !slices.Equal(got, []string{site.Want}) {
		t.Errorf("rules %q, want %s\n%s", got, site.Want, text)
	}
	for _, f := range rep.Findings {
		if !strings.Contains(f.Advice, "config.paranoid = true") {
			t.Errorf("advice %q", f.Advice)
		}
	}
}

// TestDiscoverHARJSON builds a target from a recording of a JSON API that
// echoes a CSRF cookie in a header (the lab's clean-json): the header is
// filled from the cookie by a before step, and the target scans clean.
func TestDiscoverHARJSON(t *testing.T) {
	fx, _ := lab.Lookup("clean-json")
	srv := httptest.NewServer(fx.New())
	defer srv.Close()
	type pair struct{ Name, Value string }
	entry := func(method, path string, cookies []pair, headers []pair, body any) map[string]any {
		e := map[string]any{
			"request":  map[string]any{"method": method, "url": srv.URL + path, "headers": headers, "cookies": cookies},
			"response": map[string]any{"status": 204, "headers": []pair{}, "cookies": []pair{}, "content": map[string]any{"mimeType": "", "text": ""}},
		}
		if body != nil {
			b, _ := json.Marshal(body)
			e["request"].(map[string]any)["postData"] = map[string]any{"mimeType": "application/json", "text": string(b)}
		}
		return e
	}
	csrf := func(v string) map[string]any {
		e := entry("GET", "/api/csrf", nil, nil, nil)
		e["response"].(map[string]any)["cookies"] = []pair{{"XSRF-TOKEN", v}}
		return e
	}
	post := func(path, tok string, body any) map[string]any {
		return entry("POST", path, []pair{{"XSRF-TOKEN", tok}}, []pair{{"X-XSRF-Token", tok}, {"Content-Type", "application/json"}}, body)
	}
	har := map[string]any{"log": map[string]any{"entries": []any{
		csrf("t1"), post("/api/login", "t1", map[string]any{"email": lab.Known, "password": "hunter2", "remember": true}),
		csrf("t2"), post("/api/register", "t2", map[string]any{"email": "new@lab.example", "password": "a long one", "password_confirm": "a long one"}),
		csrf("t3"), post("/api/password/forgot", "t3", map[string]any{"email": lab.Known}),
	}}}
	b, _ := json.Marshal(har)
	disc, err := scan.DiscoverHAR(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"login /api/login", "register /api/register", "reset /api/password/forgot"}
	if got := formSummary(disc); !slices.Equal(got, want) {
		t.Fatalf("forms %q, want %q", got, want)
	}
	text := disc.TargetFile("recording.har", []string{lab.Known})
	if !strings.Contains(text, `X-XSRF-Token: "{{X_XSRF_Token}}"`) || !strings.Contains(text, `X_XSRF_Token: {cookie: "XSRF-TOKEN"}`) {
		t.Errorf("the CSRF header is not filled from the cookie:\n%s", text)
	}
	rep := scanText(t, text, 4)
	if len(rep.Findings) > 0 {
		t.Errorf("findings on a clean API: %q\n%s", rules(rep), text)
	}
	for _, e := range rep.Endpoints {
		if e.Error != "" || len(e.Notes) > 0 {
			t.Errorf("endpoint %s: error %q, notes %q\n%s", e.Name, e.Error, e.Notes, text)
		}
	}
}

// TestDiscoverHARNothing: a recording without an account request is an
// error that says so.
func TestDiscoverHARNothing(t *testing.T) {
	for _, tc := range []struct{ har, want string }{
		{`{"log":{"entries":[]}}`, "no entries"},
		{`{"log":{"entries":[{"request":{"method":"POST","url":"http://a.example/x","postData":{"mimeType":"application/json","text":"{\"q\":\"shoes\"}"}}}]}}`, "no POST that carries"},
		{`not json`, "not a HAR file"},
	} {
		if _, err := scan.DiscoverHAR(strings.NewReader(tc.har)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.har, err, tc.want)
		}
	}
}

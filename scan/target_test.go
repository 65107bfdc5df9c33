package scan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/scan"
)

const validTarget = `base_url: https://app.example/auth/
known: [alice@app.example, " bob@app.example "]
headers: {X-Scan: "{{random}}"}
endpoints:
  - name: login
    kind: login
    path: /login
    form: {csrf_token: "{{csrf}}", email: "{{identifier}}", password: "{{password}}"}
    before:
      - path: /login
        extract: {csrf: {input: csrf_token}}
  - name: kratos
    kind: other
    method: put
    path: /self-service/login?flow={{flow}}
    headers: {X-Session: "{{sid}}"}
    json:
      method: password
      identifier: "{{identifier}}"
      remember: true
      tries: 3
      nested: {list: ["{{password}}", null]}
    before:
      - path: /self-service/login/api
        extract:
          flow: {json: id}
          sid: {cookie: session}
`

func TestLoadTarget(t *testing.T) {
	tg, err := scan.LoadTarget(strings.NewReader(validTarget))
	if err != nil {
		t.Fatal(err)
	}
	if tg.BaseURL.String() != "https://app.example/auth" {
		t.Errorf("base URL = %s", tg.BaseURL)
	}
	if strings.Join(tg.Known, "|") != "alice@app.example|bob@app.example" {
		t.Errorf("known = %q", tg.Known)
	}
	if len(tg.Headers) != 1 || tg.Headers[0] != (scan.Field{Name: "X-Scan", Value: "{{random}}"}) {
		t.Errorf("headers = %+v", tg.Headers)
	}
	login, kratos := tg.Endpoints[0], tg.Endpoints[1]
	if login.Method != "POST" || login.Kind != scan.KindLogin || login.Path != "/login" {
		t.Errorf("login = %s %s %s", login.Kind, login.Method, login.Path)
	}
	var names []string
	for _, f := range login.Form {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "csrf_token,email,password" {
		t.Errorf("form fields out of order: %q", names)
	}
	if st := login.Before[0]; st.Method != "GET" || st.Path != "/login" || st.Extract[0].Var != "csrf" || st.Extract[0].From != scan.FromInput || st.Extract[0].Arg != "csrf_token" {
		t.Errorf("before step = %+v", st)
	}
	if kratos.Method != "PUT" {
		t.Errorf("method = %s, want PUT", kratos.Method)
	}
	const wantJSON = `{"method":"password","identifier":"{{identifier}}","remember":true,"tries":3,"nested":{"list":["{{password}}",null]}}`
	if got := kratos.JSON.String(); got != wantJSON {
		t.Errorf("json = %s\nwant   %s", got, wantJSON)
	}
	if x := kratos.Before[0].Extract; len(x) != 2 || x[0].Var != "flow" || x[0].From != scan.FromJSON || x[1].Var != "sid" || x[1].From != scan.FromCookie {
		t.Errorf("extract = %+v", x)
	}
}

// TestLoadTargetPasswords: a known identifier may come with its password;
// the plain form still works beside it.
func TestLoadTargetPasswords(t *testing.T) {
	tg, err := scan.LoadTarget(strings.NewReader(`base_url: http://x.test
known:
  - {identifier: a@x.test, password: "pw: one"}
  - b@x.test
  - {identifier: c@x.test}
endpoints:
  - {name: l, kind: login, path: /l, form: {e: '{{identifier}}', p: '{{password}}'}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tg.Known, "|") != "a@x.test|b@x.test|c@x.test" {
		t.Errorf("known = %q", tg.Known)
	}
	if len(tg.Passwords) != 1 || tg.Passwords["a@x.test"] != "pw: one" {
		t.Errorf("passwords = %q", tg.Passwords)
	}
}

func TestLoadTargetErrors(t *testing.T) {
	const head = "base_url: http://x.test\nknown: [a@x.test]\nendpoints:\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", "the target file is empty; it needs base_url, known and endpoints"},
		{"not yaml", "base_url: [\n", "line 1: not valid YAML: did not find expected node content"},
		{"not a mapping", "- a\n", "line 1: the file must be a mapping of keys to values"},
		{"unknown key", "base_url: http://x.test\nknwon: [a@x.test]\n", "line 2: knwon: unknown key; want one of base_url, known, headers, endpoints"},
		{"endpoints empty", "base_url: http://x.test\nendpoints: []\n", "line 2: endpoints: is empty; list at least one endpoint"},
		{"missing known", "base_url: http://x.test\nendpoints:\n  - {name: l, kind: login, path: /l, form: {e: '{{identifier}}'}}\n", "line 1: known: missing; a target needs base_url, known and endpoints"},
		{"missing endpoints", "base_url: http://x.test\nknown: [a@x.test]\n", "line 1: endpoints: missing; a target needs base_url, known and endpoints"},
		{"bad base url", "base_url: ftp://x.test\n", `line 1: base_url: "ftp://x.test" is not an http or https URL`},
		{"base url query", "base_url: http://x.test/?a=1\n", "line 1: base_url: must not have a query or fragment; put those in the endpoint's path"},
		{"known not a list", "base_url: http://x.test\nknown: a@x.test\n", "line 2: known: must be a list of identifiers that have accounts"},
		{"known empty", "base_url: http://x.test\nknown: []\n", "line 2: known: is empty; list at least one identifier that has an account"},
		{"known blank", "base_url: http://x.test\nknown: [a@x.test, \" \"]\n", "line 2: known[1]: is empty"},
		{"known twice", "base_url: http://x.test\nknown: [a@x.test, b@x.test, ' a@x.test']\n", `line 2: known[2]: "a@x.test" is listed twice`},
		{"known account twice", "base_url: http://x.test\nknown: [a@x.test, {identifier: a@x.test, password: p}]\n", `line 2: known[1]: "a@x.test" is listed twice`},
		{"known list", "base_url: http://x.test\nknown: [[a@x.test]]\n", "line 2: known[0]: must be an identifier, or {identifier: …, password: …}"},
		{"known account without identifier", "base_url: http://x.test\nknown:\n  - {password: p}\n", "line 3: known[0].identifier: missing; an account needs its identifier"},
		{"known account unknown key", "base_url: http://x.test\nknown:\n  - {identifier: a@x.test, pasword: p}\n", "line 3: known[0].pasword: unknown key; want one of identifier, password"},
		{"endpoints not a list", head[:len(head)-1] + " login\n", "line 3: endpoints: must be a list of endpoints"},
		{"unknown kind", head + "  - {name: l, kind: logon, path: /l, form: {e: '{{identifier}}'}}\n", `line 4: endpoints[0].kind: unknown kind "logon"; want one of login, register, reset, resend, email_change, other, webauthn_options`},
		{"missing kind", head + "  - {name: l, path: /l, form: {e: '{{identifier}}'}}\n", "line 4: endpoints[0].kind: missing; want one of login, register, reset, resend, email_change, other, webauthn_options"},
		{"missing name", head + "  - {kind: login, path: /l, form: {e: '{{identifier}}'}}\n", "line 4: endpoints[0].name: missing; every endpoint needs a name"},
		{"missing path", head + "  - {name: l, kind: login, form: {e: '{{identifier}}'}}\n", "line 4: endpoints[0].path: missing; give the path below base_url, e.g. /login"},
		{"relative path", head + "  - {name: l, kind: login, path: login, form: {e: '{{identifier}}'}}\n", `line 4: endpoints[0].path: "login" must start with /; it is joined to base_url`},
		{"bad method", head + "  - {name: l, kind: login, method: 'PO ST', path: /l, form: {e: '{{identifier}}'}}\n", `line 4: endpoints[0].method: "PO ST" is not an HTTP method`},
		{"unknown endpoint key", head + "  - name: l\n    kind: login\n    path: /l\n    body: {e: '{{identifier}}'}\n", "line 7: endpoints[0].body: unknown key; want one of name, kind, method, path, json, form, headers, before"},
		{"two bodies", head + "  - {name: l, kind: login, path: /l, form: {e: '{{identifier}}'}, json: {e: x}}\n", "line 4: endpoints[0]: has both json and form; a request has one body"},
		{"form not a mapping", head + "  - {name: l, kind: login, path: /l, form: [a]}\n", "line 4: endpoints[0].form: this must be a mapping of keys to values"},
		{"form value not a string", head + "  - {name: l, kind: login, path: /l, form: {e: [a]}}\n", "line 4: endpoints[0].form.e: must be a single value (a string)"},
		{"duplicate key", head + "  - {name: l, name: m}\n", "line 4: endpoints[0].name: appears twice"},
		{"duplicate name", head + "  - {name: l, kind: login, path: /l, form: {e: '{{identifier}}'}}\n  - {name: l, kind: login, path: /l, form: {e: '{{identifier}}'}}\n", `line 5: endpoints[1].name: "l" is used by an earlier endpoint; names must be unique`},
		{"no identifier", head + "  - {name: l, kind: login, path: /l, form: {e: x}}\n", "line 4: endpoints[0]: {{identifier}} appears nowhere in the endpoint or its before steps, so every probe would be the same"},
		{"unset variable", head + "  - {name: l, kind: login, path: /l, form: {e: '{{identifier}}', csrf_token: '{{csrf}}'}}\n", "line 4: endpoints[0].form.csrf_token: {{csrf}} is not set: it is not built in (identifier, password, random) and no earlier before step extracts it"},
		{"variable used before it is set", head + "  - name: l\n    kind: login\n    path: /l\n    form: {e: '{{identifier}}'}\n    before:\n      - {path: '/a?f={{flow}}'}\n      - {path: /b, extract: {flow: {json: id}}}\n", "line 4: endpoints[0].before[0].path: {{flow}} is not set: it is not built in (identifier, password, random) and no earlier before step extracts it"},
		{"unset variable in target headers", "base_url: http://x.test\nknown: [a@x.test]\nheaders: {X-A: '{{token}}'}\nendpoints:\n  - {name: l, kind: login, path: /l, form: {e: '{{identifier}}'}}\n", "line 1: headers.X-A: {{token}} is not set: it is not built in (identifier, password, random) and no earlier before step extracts it"},
		{"unknown source", head + "  - name: l\n    kind: login\n    path: /l\n    form: {e: '{{identifier}}'}\n    before:\n      - path: /l\n        extract:\n          csrf: {inptu: csrf_token}\n", `line 11: endpoints[0].before[0].extract.csrf.inptu: unknown source "inptu"; want one of input, meta, cookie, header, json, regex`},
		{"two sources", head + "  - name: l\n    kind: login\n    path: /l\n    form: {e: '{{identifier}}'}\n    before:\n      - path: /l\n        extract:\n          csrf: {input: a, meta: b}\n", "line 11: endpoints[0].before[0].extract.csrf: needs exactly one source; want one of input, meta, cookie, header, json, regex"},
		{"source not a mapping", head + "  - name: l\n    kind: login\n    path: /l\n    form: {e: '{{identifier}}'}\n    before:\n      - path: /l\n        extract:\n          csrf: csrf_token\n", "line 11: endpoints[0].before[0].extract.csrf: must say where the value comes from, e.g. {input: csrf_token}; want one of input, meta, cookie, header, json, regex"},
		{"bad regex", head + "  - name: l\n    kind: login\n    path: /l\n    form: {e: '{{identifier}}'}\n    before:\n      - path: /l\n        extract:\n          csrf: {regex: 'value=\"(['}\n", "line 11: endpoints[0].before[0].extract.csrf.regex: not a valid regular expression: missing closing ]: `[`"},
		{"builtin shadowed", head + "  - name: l\n    kind: login\n    path: /l\n    form: {e: '{{identifier}}'}\n    before:\n      - path: /l\n        extract:\n          password: {input: p}\n", "line 11: endpoints[0].before[0].extract.password: {{password}} is built in; choose another name"},
		{"bad variable name", head + "  - name: l\n    kind: login\n    path: /l\n    form: {e: '{{identifier}}'}\n    before:\n      - path: /l\n        extract:\n          csrf-token: {input: p}\n", "line 11: endpoints[0].before[0].extract.csrf-token: a variable name is letters, digits and _, starting with a letter"},
		{"unknown step key", head + "  - name: l\n    kind: login\n    path: /l\n    form: {e: '{{identifier}}'}\n    before:\n      - path: /l\n        extrct: {}\n", "line 10: endpoints[0].before[0].extrct: unknown key; want one of method, path, json, form, headers, extract"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scan.LoadTarget(strings.NewReader(tt.yaml))
			var te *scan.TargetError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want a TargetError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("err = %s\nwant  %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tacitauth/tacit/flow"
)

// FuzzDecode: the JSON decoder never panics, refuses with a 400 only, and
// whatever it accepts is valid UTF-8 JSON whose members are known fields
// of the declared kinds, exactly as encoding/json reads them.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"email":"a@example.com"}`, `{"email":"a","password":"b","password_confirm":"c"}`,
		`{"email":5}`, `{"email":null}`, `{"email":"a","email":"b"}`, `{"x":"y"}`, `[]`, ``, ` `,
		`{"email":"a"} {}`, `{"email":"\ud800"}`, "{\"email\":\"\xff\"}", `{"email":"a",}`, `{"email" "a"}`,
		`{"email":{"a":"b"}}`, `{"email":["a"]}`, `"str"`, `{"email":"\u0000"}`, `{"`, `{"email":"a"`,
		`{"end_other_sessions":true}`, `{"end_other_sessions":false,"password":"x"}`, `{"end_other_sessions":"true"}`,
		`{"end_other_sessions":1}`, `{"email":true}`, `{"end_other_sessions":true,"end_other_sessions":false}`,
	} {
		f.Add([]byte(seed))
	}
	sc := texts("email", "password", "password_confirm")
	sc["end_other_sessions"] = flag
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeObject(data, sc)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.status != http.StatusBadRequest || re.message == "" {
				t.Fatalf("refusal %v is not a 400 with a message", err)
			}
			return
		}
		if !utf8.Valid(data) || !json.Valid(data) {
			t.Fatalf("accepted invalid input %q", data)
		}
		var ref map[string]any
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", data, err)
		}
		if len(ref) != len(got.texts)+len(got.flags) {
			t.Fatalf("decoded %d+%d members of %q, encoding/json %d", len(got.texts), len(got.flags), data, len(ref))
		}
		for k := range ref {
			if _, known := sc[k]; !known {
				t.Fatalf("accepted unknown member %q in %q", k, data)
			}
		}
		for k, v := range ref {
			switch sc[k] {
			case text:
				if s, ok := v.(string); !ok || got.text(k) != s {
					t.Fatalf("member %q of %q: decoded %q, encoding/json %#v", k, data, got.text(k), v)
				}
			case flag:
				if b, ok := v.(bool); !ok || got.flag(k) != b {
					t.Fatalf("member %q of %q: decoded %v, encoding/json %#v", k, data, got.flag(k), v)
				}
			}
		}
	})
}

// FuzzRegisterForm: whatever a form post to /register holds, the server
// answers with one of the expected statuses and never fails.
func FuzzRegisterForm(f *testing.F) {
	for _, seed := range []string{
		"email=a%40example.com", "email=", "", "email=a%40example.com&password=x&password_confirm=y",
		"email=%ff", "email=%", "email=a&email=b", "=&&=", "email=%00%40example.com",
		"email=" + strings.Repeat("a", 300) + "%40example.com", "password=correct+horse+battery+9&password_confirm=correct+horse+battery+9&email=b%40example.com",
	} {
		f.Add(seed, true)
	}
	h := newHarness(f, options{mode: flow.FullForm})
	const token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	f.Fuzz(func(t *testing.T, body string, withToken bool) {
		if withToken {
			body += "&" + url.Values{csrfField: {token}}.Encode()
		}
		req := httptest.NewRequest(http.MethodPost, "/register", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: h.ck.csrfName, Value: token})
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusSeeOther:
			if loc := rec.Header().Get("Location"); loc != "/register/sent" {
				t.Fatalf("redirect to %q", loc)
			}
		case http.StatusUnprocessableEntity, http.StatusBadRequest, http.StatusForbidden:
		default:
			t.Fatalf("status %d for %q:\n%s", rec.Code, body, rec.Body)
		}
		if !utf8.Valid(rec.Body.Bytes()) {
			t.Fatal("page is not valid UTF-8")
		}
	})
}

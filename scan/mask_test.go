package scan

import (
	"net/http"
	"testing"
)

func TestMaskLearnsFromControl(t *testing.T) {
	page := func(csrf, id, msg string) string {
		return `<form><input type="hidden" name="csrf_token" value="` + csrf + `">` + "\n<p>" + msg + "</p>\n<footer>request " + id + "</footer></form>"
	}
	m := newMasker()
	m.learn("body", page("a1b2c3d4e5", "7f3a-91", "Email or password is incorrect."), page("ffee0011aa", "0c2d-44", "Email or password is incorrect."), false)

	want := `<form><input type="hidden" name="csrf_token" value="{{varies}}">` + "\n<p>Email or password is incorrect.</p>\n<footer>request {{varies}}</footer></form>"
	if got := m.apply("body", page("99aa88bb77", "5555-12", "Email or password is incorrect.")); got != want {
		t.Errorf("masked = %q\nwant     %q", got, want)
	}
	// A message the control never varied in still shows.
	if got := m.apply("body", page("0000", "1-1", "No account with that address.")); got == want {
		t.Error("a different message was masked")
	}
	// Rules are per channel.
	if got := m.apply("header:X-Request-Id", "7f3a-91"); got != "7f3a-91" {
		t.Errorf("another channel was masked: %q", got)
	}
}

func TestMaskGeneratedOnly(t *testing.T) {
	m := newMasker()
	m.learn("body", `{"status":"created"}`, `{"status":"pending"}`, true)
	if len(m.rules["body"]) != 0 {
		t.Errorf("words were learned as generated: %+v", m.rules["body"])
	}
	m.learn("body", `{"status":"created","at":"12:00:01.5"}`, `{"status":"created","at":"12:00:02.1"}`, true)
	if got := m.apply("body", `{"status":"created","at":"13:14:15.9"}`); got != `{"status":"created","at":"{{varies}}"}` {
		t.Errorf("masked = %s", got)
	}
}

func TestMaskWholeValueAndNeighbours(t *testing.T) {
	m := newMasker()
	// Two volatile values close together: the second's context holds
	// the first, which the second pass masks.
	m.learn("location", "/done?ref=ab12&ts=1700000001", "/done?ref=cd34&ts=1700000002", false)
	if got := m.apply("location", "/done?ref=zz99&ts=1800000000"); got != "/done?ref={{varies}}&ts={{varies}}" {
		t.Errorf("masked = %s", got)
	}
	if got := m.apply("location", "/failed?ref=zz99&ts=1800000000"); got == "/done?ref={{varies}}&ts={{varies}}" {
		t.Error("a different path was masked")
	}
	m.learn("header:X-Served-By", "node-1", "node-3", false)
	if got := m.apply("header:X-Served-By", "node-2"); got != "{{varies}}" {
		t.Errorf("header masked = %s", got)
	}
	// A rule learned from a token does not swallow words.
	m.learn("body", `<b class="x9">Hi</b>`, `<b class="y7">Hi</b>`, false)
	if got := m.apply("body", `<b class="a b">Hi</b>`); got != `<b class="a b">Hi</b>` {
		t.Errorf("masked = %s", got)
	}
}

func TestReflector(t *testing.T) {
	r := newReflector([]string{"Alice+x@Example.com", "zq7@example.com"}, []string{"r4nd0m"})
	in := `raw Alice+x@Example.com lower alice+x@example.com query alice%2Bx%40example.com html Alice&#43;x@Example.com other zq7@example.com random r4nd0m`
	want := `raw {{identifier}} lower {{identifier}} query {{identifier}} html {{identifier}} other {{identifier}} random {{random}}`
	if got := r.replace(in); got != want {
		t.Errorf("replace = %s\nwant      %s", got, want)
	}
}

func TestCookieLines(t *testing.T) {
	h := http.Header{}
	h.Add("Set-Cookie", "sid=abc; path=/; HttpOnly; Expires=Wed, 21 Oct 2026 07:28:00 GMT; samesite=Lax")
	h.Add("Set-Cookie", "flash=; Max-Age=0")
	got := cookieLines(h)
	if got["sid"] != "sid=…; Expires=…; HttpOnly; Path=/; SameSite=Lax" {
		t.Errorf("sid = %q", got["sid"])
	}
	if got["flash"] != "flash=(empty); Max-Age=0" {
		t.Errorf("flash = %q", got["flash"])
	}
}

func TestCompareBodies(t *testing.T) {
	page := func(title, body string) string {
		return "<html><head><title>" + title + "</title></head><body>" + body + "</body></html>\n"
	}
	tests := []struct {
		a, b          string
		rule, channel string
		wantA, wantB  string
	}{
		{page("Sign in", "x"), page("Sign in", "x") + " ", RuleLength, "body length", "63 bytes", "64 bytes"},
		{page("Sign in", "x"), page("Sign in", "x\u200b"), RuleLength, "body length", "63 bytes", "66 bytes"},
		{page("Wrong password", "x"), page("Sign in", "x"), RuleResponseContent, "page title", "<title>Wrong password</title>", "<title>Sign in</title>"},
		{page("Wrong password", "x"), page("Sign in", "y"), RuleResponseContent, "body", "<title>Wrong password</title>", "<title>Sign in</title>"},
		{page("Sign in", "wrong password"), page("Sign in", "no account"), RuleResponseContent, "body", "", ""},
	}
	for i, tt := range tests {
		d := compareBodies(tt.a, tt.b)
		if d.rule != tt.rule || d.channel != tt.channel || d.a != tt.wantA || d.b != tt.wantB {
			t.Errorf("%d: got %s %q %q %q", i, d.rule, d.channel, d.a, d.b)
		}
	}
}

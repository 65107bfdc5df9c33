package scan_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/scan"
	scanreport "github.com/tacitauth/tacit/scan/report"
)

// TestDetectFramework recognises each framework of the table from the
// clues a scan sees, names the clues, and recognises nothing from clues
// that many frameworks share.
func TestDetectFramework(t *testing.T) {
	for _, tc := range []struct {
		name     string
		s        scan.Signals
		want     string // "" for none
		evidence []string
	}{
		{"allauth", scan.Signals{Cookies: []string{"csrftoken", "sessionid"}, Fields: []string{"csrfmiddlewaretoken", "login"}, Paths: []string{"/accounts/login/", "/accounts/signup/"}},
			"django-allauth", []string{"path /accounts/signup/", "cookie csrftoken"}},
		{"Django without allauth", scan.Signals{Cookies: []string{"csrftoken"}, Fields: []string{"csrfmiddlewaretoken", "username"}, Paths: []string{"/accounts/login/"}},
			"Django", []string{"field csrfmiddlewaretoken"}},
		{"allauth paths alone are not Django", scan.Signals{Paths: []string{"/accounts/signup/", "/accounts/login/"}}, "", nil},
		{"Devise", scan.Signals{Cookies: []string{"_shop_session"}, Fields: []string{"authenticity_token", "user[email]"}, Paths: []string{"/users/sign_in"}},
			"Rails (Devise)", []string{"path /users/sign_in", "field authenticity_token"}},
		{"Rails", scan.Signals{Cookies: []string{"_shop_session"}, Fields: []string{"authenticity_token", "session[email]"}, Paths: []string{"/login"}},
			"Rails", []string{"field authenticity_token", "cookie _shop_session"}},
		{"Laravel", scan.Signals{Cookies: []string{"XSRF-TOKEN", "laravel_session"}, Fields: []string{"_token", "email"}},
			"Laravel", []string{"cookie laravel_session", "cookie XSRF-TOKEN", "field _token"}},
		{"Spring Security", scan.Signals{Cookies: []string{"JSESSIONID"}, Fields: []string{"_csrf", "username", "password"}, Paths: []string{"/login"}},
			"Spring Security", []string{"cookie JSESSIONID", "field _csrf"}},
		{"JSESSIONID alone", scan.Signals{Cookies: []string{"JSESSIONID"}, Paths: []string{"/login"}}, "", nil},
		{"ASP.NET Identity", scan.Signals{Cookies: []string{".AspNetCore.Antiforgery.x1"}, Fields: []string{"__RequestVerificationToken", "Input.Email"}, Paths: []string{"/Identity/Account/Login"}},
			"ASP.NET Core Identity", []string{"path /Identity/Account/Login"}},
		{"Keycloak", scan.Signals{Cookies: []string{"AUTH_SESSION_ID", "KC_RESTART"}, Paths: []string{"/realms/demo/login-actions/authenticate"}},
			"Keycloak", []string{"cookie KC_RESTART", "path /realms/demo/login-actions/authenticate"}},
		{"Cognito", scan.Signals{Hosts: []string{"shop.auth.eu-west-1.amazoncognito.com"}, Cookies: []string{"XSRF-TOKEN"}, Fields: []string{"_csrf", "username"}},
			"Amazon Cognito", []string{"host shop.auth.eu-west-1.amazoncognito.com"}},
		{"WordPress", scan.Signals{Cookies: []string{"wordpress_test_cookie"}, Fields: []string{"log", "pwd", "wp-submit"}, Paths: []string{"/wp-login.php"}},
			"WordPress", []string{"cookie wordpress_test_cookie", "path /wp-login.php"}},
		{"Express", scan.Signals{Cookies: []string{"connect.sid"}, Headers: []string{"x-powered-by: express"}},
			"Express (Passport)", []string{"cookie connect.sid", "header x-powered-by: express"}},
		{"DokuWiki", scan.Signals{Cookies: []string{"DokuWiki"}, Fields: []string{"sectok", "u", "p"}, Paths: []string{"/doku.php"}},
			"DokuWiki", []string{"cookie DokuWiki", "path /doku.php", "field sectok"}},
		{"MediaWiki", scan.Signals{Cookies: []string{"corpuswiki_session"}, Fields: []string{"wpName", "wpPassword", "wpLoginToken"}, Headers: []string{"generator: mediawiki 1.39.17"}},
			"MediaWiki", []string{"field wpLoginToken", "header generator: mediawiki 1.39.17"}},
		{"tacit", scan.Signals{Cookies: []string{"__Host-tacit_csrf"}, Fields: []string{"csrf_token", "email"}}, "tacit", []string{"cookie __Host-tacit_csrf"}},
		{"nothing telling", scan.Signals{Cookies: []string{"session", "XSRF-TOKEN"}, Fields: []string{"email", "password", "csrf_token"}, Paths: []string{"/login"}}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scan.DetectFramework(tc.s)
			if tc.want == "" {
				if got != nil {
					t.Fatalf("recognised %+v, want nothing", got)
				}
				return
			}
			if got == nil || got.Name != tc.want {
				t.Fatalf("recognised %+v, want %s", got, tc.want)
			}
			for _, e := range tc.evidence {
				if !slices.Contains(got.Evidence, e) {
					t.Errorf("evidence %q lacks %q", got.Evidence, e)
				}
			}
		})
	}
}

// TestFrameworkAdvice names the setting that fixes each kind of finding
// in each framework, with the rule's own advice before the endpoint
// kind's, and nothing for a framework the table does not know.
func TestFrameworkAdvice(t *testing.T) {
	for _, tc := range []struct {
		framework, rule string
		kind            scan.Kind
		want            string
	}{
		{"django-allauth", scan.RuleRegister, scan.KindRegister, `ACCOUNT_PREVENT_ENUMERATION = "strict"`},
		// sign-up is covered from 0.52 only; Debian 12's Mailman 3 has 0.51
		{"django-allauth", scan.RuleRegister, scan.KindRegister, "django-allauth 0.52 or later"},
		{"django-allauth", scan.RulePasswordReset, scan.KindReset, "ACCOUNT_PREVENT_ENUMERATION = True"},
		{"Rails (Devise)", scan.RulePasswordReset, scan.KindReset, "config.paranoid = true"},
		{"Rails (Devise)", scan.RuleLockout, scan.KindLogin, ":lockable"},
		{"Laravel", scan.RulePasswordReset, scan.KindReset, "RESET_LINK_SENT"},
		{"Laravel", scan.RuleRateLimit, scan.KindReset, "RESET_THROTTLED"},
		{"Spring Security", scan.RuleResponseContent, scan.KindLogin, "hideUserNotFoundExceptions"},
		{"ASP.NET Core Identity", scan.RulePasswordReset, scan.KindReset, "ForgotPasswordConfirmation"},
		{"Keycloak", scan.RuleLockout, scan.KindLogin, "Permanent lockout off"},
		{"Keycloak", scan.RuleResponseContent, scan.KindLogin, "Login with email"},
		{"Amazon Cognito", scan.RuleResponseContent, scan.KindLogin, "PreventUserExistenceErrors = ENABLED"},
		{"WordPress", scan.RuleResponseContent, scan.KindLogin, "login_errors"},
		{"Express (Passport)", scan.RuleTiming, scan.KindLogin, "bcrypt.compare"},
		{"DokuWiki", scan.RulePasswordReset, scan.KindReset, "resendpwd"},
		{"MediaWiki", scan.RuleRegister, scan.KindRegister, "createaccount"},
		{"tacit", scan.RuleResponseContent, scan.KindLogin, "uniformly by design"},
		{"Unknown", scan.RuleResponseContent, scan.KindLogin, ""},
	} {
		got := scan.FrameworkAdvice(tc.framework, tc.rule, tc.kind)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s, %s on %s: %q, want it to contain %q", tc.framework, tc.rule, tc.kind, got, tc.want)
		}
	}
}

// TestFrameworkInEveryFormat: the recognised framework, its evidence and
// the finding's framework fix show in the JSON, SARIF and HTML reports, as
// in the text one (TestDiscoverSites), beside the rule's generic fix.
func TestFrameworkInEveryFormat(t *testing.T) {
	rep := siteReport(t, "site-wordpress")
	var js, sarif, page bytes.Buffer
	if err := scanreport.WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Framework struct {
			Name     string
			Evidence []string
		}
		Findings []struct{ Advice string }
	}
	if err := json.Unmarshal(js.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if j.Framework.Name != "WordPress" || !slices.Contains(j.Framework.Evidence, "path /wp-login.php") || len(j.Findings) == 0 || !strings.Contains(j.Findings[0].Advice, "login_errors") {
		t.Errorf("JSON: framework %+v, findings %+v", j.Framework, j.Findings)
	}
	if err := scanreport.WriteSARIF(&sarif, rep); err != nil {
		t.Fatal(err)
	}
	var s struct {
		Runs []struct {
			Properties struct{ Framework struct{ Name string } }
			Results    []struct {
				Properties struct{ Framework, FrameworkAdvice string }
			}
		}
	}
	if err := json.Unmarshal(sarif.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if err := validate(sarifSchema(t), sarif.Bytes()); err != nil {
		t.Errorf("SARIF with a framework is not valid: %v", err)
	}
	run := s.Runs[0]
	if run.Properties.Framework.Name != "WordPress" || len(run.Results) == 0 || run.Results[0].Properties.Framework != "WordPress" ||
		!strings.Contains(run.Results[0].Properties.FrameworkAdvice, "login_errors") {
		t.Errorf("SARIF: %+v", run)
	}
	if err := scanreport.WriteHTML(&page, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Framework: <b>WordPress</b>, recognised by", "How to fix in WordPress", "login_errors", "How to fix</strong>Answer every request"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// TestFrameworkEvidenceEscaped: a clue named with control characters is
// shown escaped, so no report passes an escape sequence to a terminal.
func TestFrameworkEvidenceEscaped(t *testing.T) {
	got := scan.DetectFramework(scan.Signals{Cookies: []string{"wordpress_test_cookie"}, Paths: []string{"/\x1b]0;pwned\x07/wp-login.php"}})
	if got == nil || got.Name != "WordPress" {
		t.Fatalf("recognised %+v", got)
	}
	for _, e := range got.Evidence {
		if strings.ContainsAny(e, "\x1b\x07") {
			t.Errorf("evidence %q carries control characters", e)
		}
	}
	if !slices.Contains(got.Evidence, `path /\x1b]0;pwned\x07/wp-login.php`) {
		t.Errorf("evidence %q", got.Evidence)
	}
}

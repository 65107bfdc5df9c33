package mail

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tacitauth/tacit"
)

const (
	testToken = "Zm9vYmFyYmF6cXV4c2VjcmV0dG9rZW4tZG8tbm90LWxvZw"
	testBase  = "https://auth.example.com/app/"
)

func testRenderer(t *testing.T) Renderer {
	t.Helper()
	u, err := url.Parse(testBase)
	if err != nil {
		t.Fatal(err)
	}
	return Renderer{Product: "Acme Health", Links: tacit.Links{Base: u}}
}

// mailCase is one mail kind with the Data its templates need and what its
// rendering must show. Every link in data carries testToken where the real
// link would carry a token.
type mailCase struct {
	kind tacit.MailKind
	// data holds exactly the required keys; rendering fails without any.
	data map[string]string
	// links are the keys of data whose values are URLs: each must stand
	// on its own line in the text and be an href in the HTML.
	links []string
	// expires marks kinds that take the optional "expires" key.
	expires bool
	subject string
	phrases []string // must appear in the text
	// reason is the footer sentence saying why the mail came; it must be
	// true for that kind, so it is checked exactly.
	reason string
}

const (
	reasonEntered = "You received this because your address was entered at Acme Health."
	reasonAccount = "You received this because this is the address of your Acme Health account."
)

// mailCases lists every kind that is ever rendered. TestEveryKindHasTemplates
// checks that it covers every MailKind constant of the root package.
func mailCases() []mailCase {
	const (
		login    = "https://auth.example.com/app/login"
		forgot   = "https://auth.example.com/app/password/forgot"
		register = "https://auth.example.com/app/register"
	)
	return []mailCase{
		{
			kind:    tacit.MailFinishSignup,
			data:    map[string]string{"link": "https://auth.example.com/app/register/complete?token=" + testToken},
			links:   []string{"link"},
			expires: true,
			subject: "Finish signing up for Acme Health",
			phrases: []string{"choose your password", "If you did not ask to sign up, you can ignore this mail"},
			reason:  reasonEntered,
		},
		{
			kind:    tacit.MailVerify,
			data:    map[string]string{"link": "https://auth.example.com/app/verify?token=" + testToken},
			links:   []string{"link"},
			expires: true,
			subject: "Confirm your address for Acme Health",
			phrases: []string{"confirm that this is your address"},
			reason:  reasonEntered,
		},
		{
			kind:    tacit.MailAlreadyRegistered,
			data:    map[string]string{"login": login, "reset": forgot + "?hint=" + testToken},
			links:   []string{"login", "reset"},
			subject: "You already have an account with Acme Health",
			phrases: []string{"maybe you", "you already have an account", "If it wasn't you", "nothing about your account has\nchanged"},
			reason:  reasonEntered,
		},
		{
			kind:    tacit.MailResetPassword,
			data:    map[string]string{"link": "https://auth.example.com/app/password/reset?token=" + testToken},
			links:   []string{"link"},
			expires: true,
			subject: "Reset your Acme Health password",
			phrases: []string{"hopefully you", "Choose a new password here:", "your password stays as it is"},
			reason:  reasonEntered,
		},
		{
			kind:    tacit.MailResetUnknown,
			data:    map[string]string{"register": register},
			links:   []string{"register"},
			subject: "No Acme Health account for this address",
			phrases: []string{"there is no account for it", "If you meant to sign up", "nothing has been created or\nchanged"},
			reason:  reasonEntered,
		},
		{
			kind:    tacit.MailPasswordChanged,
			data:    map[string]string{"reset": forgot, "passkeys": "2"},
			links:   []string{"reset"},
			subject: "Your Acme Health password was changed",
			phrases: []string{"was just changed", "has been signed out", "Every passkey of the account (2)", "reset your password now", "no one else can read this mailbox"},
			reason:  reasonAccount,
		},
		{
			kind:    tacit.MailConfirmEmailChange,
			data:    map[string]string{"link": "https://auth.example.com/app/email/confirm?token=" + testToken},
			links:   []string{"link"},
			expires: true,
			subject: "Confirm your new address for Acme Health",
			phrases: []string{"should use this address for your account", "nothing changes\nunless the link is followed"},
			reason:  reasonEntered,
		},
		{
			kind:    tacit.MailEmailTaken,
			data:    map[string]string{"login": login, "reset": forgot},
			links:   []string{"login", "reset"},
			subject: "This address already has an account with Acme Health",
			phrases: []string{"asked Acme Health to move an account to this\naddress", "already has its own account, so nothing was\nchanged", "Forgot your password?"},
			reason:  reasonEntered,
		},
		{
			kind:    tacit.MailEmailChangeRequested,
			data:    map[string]string{"new_email": "bob@example.net", "reset": forgot},
			links:   []string{"reset"},
			subject: "Address change requested for your Acme Health account",
			phrases: []string{"change its address\nto bob@example.net.", "only once that address confirms", "Reset your\npassword now"},
			reason:  reasonAccount,
		},
		{
			kind:    tacit.MailEmailChanged,
			data:    map[string]string{"new_email": "bob@example.net", "reset": forgot},
			links:   []string{"reset"},
			subject: "The address of your Acme Health account was changed",
			phrases: []string{"now uses bob@example.net instead of this\naddress", "which is now\nbob@example.net.", "contact Acme Health's support"},
			reason:  "You received this because this was the address of your Acme Health account until now.",
		},
		{
			kind:    tacit.MailAccountLocked,
			data:    map[string]string{"reset": forgot, "until": "2026-11-23 18:30 UTC"},
			links:   []string{"reset"},
			subject: "Sign-in to your Acme Health account is paused",
			phrases: []string{"is paused until 2026-11-23 18:30 UTC.", "You don't need to do anything", "a reset works even while sign-in is paused"},
			reason:  reasonAccount,
		},
		{
			kind:    tacit.MailMFAEnabled,
			data:    map[string]string{"reset": forgot},
			links:   []string{"reset"},
			subject: "Two-step sign-in is on for your Acme Health account",
			phrases: []string{"was just turned on", "code from your\nauthenticator app", "keep your recovery codes"},
			reason:  reasonAccount,
		},
		{
			kind:    tacit.MailMFADisabled,
			data:    map[string]string{"reset": forgot},
			links:   []string{"reset"},
			subject: "Two-step sign-in is off for your Acme Health account",
			phrases: []string{"was just turned off", "recovery codes no\nlonger work", "someone knows your password"},
			reason:  reasonAccount,
		},
		{
			kind:    tacit.MailRecoveryCodesRenewed,
			data:    map[string]string{"reset": forgot},
			links:   []string{"reset"},
			subject: "New recovery codes for your Acme Health account",
			phrases: []string{"recovery codes were just made", "your old recovery codes no longer work", "someone knows your password"},
			reason:  reasonAccount,
		},
		{
			kind:    tacit.MailAccountDeleted,
			data:    map[string]string{"register": testBase + "register"},
			links:   []string{"register"},
			subject: "Your Acme Health account was deleted",
			phrases: []string{"was deleted, with everything", "signed out\neverywhere", "sign up again"},
			reason:  "You received this because this was the address of your Acme Health account.",
		},
		{
			kind:    tacit.MailPasskeyAdded,
			data:    map[string]string{"reset": forgot, "name": "work laptop"},
			links:   []string{"reset"},
			subject: "A passkey was added to your Acme Health account",
			phrases: []string{"work laptop", "removes every passkey"},
			reason:  reasonAccount,
		},
		{
			kind:    tacit.MailPasskeyRemoved,
			data:    map[string]string{"reset": forgot, "name": "work laptop"},
			links:   []string{"reset"},
			subject: "A passkey was removed from your Acme Health account",
			phrases: []string{"work laptop", "no longer signs in"},
			reason:  reasonAccount,
		},
		{
			kind:    tacit.MailMFALocked,
			data:    map[string]string{"reset": forgot, "until": "2026-11-23 18:30 UTC"},
			links:   []string{"reset"},
			subject: "Someone has your Acme Health password",
			phrases: []string{"with the right password,", "is paused until 2026-11-23 18:30 UTC.", "someone knows your password"},
			reason:  reasonAccount,
		},
	}
}

func findCase(t *testing.T, kind tacit.MailKind) mailCase {
	t.Helper()
	for _, c := range mailCases() {
		if c.kind == kind {
			return c
		}
	}
	t.Fatalf("no test case for mail kind %q", kind)
	return mailCase{}
}

// testMail returns a mail of kind with the Data its templates need.
func testMail(t *testing.T, kind tacit.MailKind) tacit.Mail {
	t.Helper()
	return tacit.Mail{Kind: kind, To: "alice@example.com", Data: findCase(t, kind).data}
}

func TestRenderKinds(t *testing.T) {
	r := testRenderer(t)
	for _, tt := range mailCases() {
		t.Run(string(tt.kind), func(t *testing.T) {
			msg, err := r.Render(testMail(t, tt.kind))
			if err != nil {
				t.Fatal(err)
			}
			if msg.To != "alice@example.com" {
				t.Errorf("To = %q", msg.To)
			}
			if msg.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", msg.Subject, tt.subject)
			}
			for _, key := range tt.links {
				l := tt.data[key]
				if !strings.Contains(msg.Text, "\n"+l+"\n") {
					t.Errorf("text lacks %s link %s on its own line:\n%s", key, l, msg.Text)
				}
				if !strings.Contains(msg.HTML, `href="`+l+`"`) {
					t.Errorf("HTML lacks %s href %s:\n%s", key, l, msg.HTML)
				}
			}
			for key, v := range tt.data {
				if !strings.Contains(msg.Text, v) || !strings.Contains(msg.HTML, v) {
					t.Errorf("a body lacks %s value %q", key, v)
				}
			}
			for _, p := range tt.phrases {
				if !strings.Contains(msg.Text, p) {
					t.Errorf("text lacks %q:\n%s", p, msg.Text)
				}
			}
			footer := "\n--\nAcme Health · " + testBase + "\n" + tt.reason + "\n"
			if !strings.HasSuffix(msg.Text, footer) {
				t.Errorf("text does not end with footer %q:\n%s", footer, msg.Text)
			}
			htmlReason := "\n" + tt.reason + "</p>\n</td></tr>"
			if !strings.Contains(msg.HTML, htmlReason) || strings.Count(msg.HTML, "You received this") != 1 {
				t.Errorf("HTML footer does not give exactly the reason %q:\n%s", tt.reason, msg.HTML)
			}
			for _, body := range []string{msg.Text, msg.HTML} {
				if !strings.Contains(body, "Acme Health") {
					t.Error("body lacks the product name")
				}
				if !strings.Contains(body, testBase) {
					t.Error("body lacks the base URL")
				}
			}
			if !strings.Contains(msg.HTML, "<title>"+tt.subject+"</title>") {
				t.Error("HTML title is not the subject")
			}
			if !strings.HasPrefix(msg.HTML, "<!DOCTYPE html>\n<html lang=\"en\">") || !strings.HasSuffix(msg.HTML, "</body>\n</html>\n") {
				t.Errorf("HTML is not one whole document: %.60q … %q", msg.HTML, msg.HTML[max(0, len(msg.HTML)-30):])
			}
			if strings.Contains(msg.HTML, "<img") || strings.Contains(msg.HTML, "<link") {
				t.Error("HTML loads remote resources")
			}
			if strings.Contains(msg.Text, "\n\n\n") || !strings.HasSuffix(msg.Text, "\n") || strings.HasPrefix(msg.Text, "\n") {
				t.Errorf("text is not tidy:\n%q", msg.Text)
			}
		})
	}
}

// TestRenderMissingData checks that every required key of every kind is
// required: a mail without it fails to render instead of going out with an
// empty link or value.
func TestRenderMissingData(t *testing.T) {
	r := testRenderer(t)
	for _, tt := range mailCases() {
		for key := range tt.data {
			t.Run(string(tt.kind)+"/"+key, func(t *testing.T) {
				m := testMail(t, tt.kind)
				delete(m.Data, key)
				_, err := r.Render(m)
				want := `map has no entry for key "` + key + `"`
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want it to contain %q", err, want)
				}
			})
		}
		t.Run(string(tt.kind)+"/nil", func(t *testing.T) {
			if _, err := r.Render(tacit.Mail{Kind: tt.kind, To: "alice@example.com"}); err == nil {
				t.Fatal("rendered a mail without Data")
			}
		})
	}
}

// TestRenderValuesEscaped renders every kind with markup in the product
// name and in each plain (non-link) value: HTML must escape it, plain text
// must show it as it is, and the subject must stay one line.
func TestRenderValuesEscaped(t *testing.T) {
	r := testRenderer(t)
	r.Product = "Acme & <b>Co</b>\r\nBcc: victim@example.com"
	const raw, escaped = `x<b>"y"</b>@example.com`, `x&lt;b&gt;&#34;y&#34;&lt;/b&gt;@example.com`
	for _, tt := range mailCases() {
		t.Run(string(tt.kind), func(t *testing.T) {
			m := testMail(t, tt.kind)
			plain := 0
			for key := range m.Data {
				if !slices.Contains(tt.links, key) {
					m.Data[key] = raw
					plain++
				}
			}
			msg, err := r.Render(m)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(msg.Subject, "\r\n") || !strings.Contains(msg.Subject, "Acme & <b>Co</b> Bcc: victim@example.com") {
				t.Errorf("Subject = %q", msg.Subject)
			}
			if strings.Contains(msg.HTML, "<b>") {
				t.Errorf("HTML contains unescaped <b>:\n%s", msg.HTML)
			}
			if !strings.Contains(msg.HTML, "Acme &amp; &lt;b&gt;Co&lt;/b&gt;") {
				t.Errorf("HTML lacks the escaped product name:\n%s", msg.HTML)
			}
			if !strings.Contains(msg.Text, "Acme & <b>Co</b>") {
				t.Errorf("text escaped the product name:\n%s", msg.Text)
			}
			if plain == 0 {
				return
			}
			if !strings.Contains(msg.HTML, escaped) {
				t.Errorf("HTML lacks the escaped value %q:\n%s", escaped, msg.HTML)
			}
			if !strings.Contains(msg.Text, raw) {
				t.Errorf("text lacks the value as it is, %q:\n%s", raw, msg.Text)
			}
		})
	}
}

func TestRenderExpires(t *testing.T) {
	r := testRenderer(t)
	for _, tt := range mailCases() {
		if !tt.expires {
			continue
		}
		t.Run(string(tt.kind), func(t *testing.T) {
			for expires, want := range map[string]string{
				"":           "This link expires soon and works only once.",
				"30 minutes": "This link expires in 30 minutes and works only once.",
			} {
				m := testMail(t, tt.kind)
				if expires != "" {
					m.Data["expires"] = expires
				}
				msg, err := r.Render(m)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(msg.Text, want) || !strings.Contains(msg.HTML, want) {
					t.Errorf("want %q in both bodies:\n%s", want, msg.Text)
				}
			}
		})
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	r := testRenderer(t)
	r.Product = `Acme & <b>Co</b>`
	m := testMail(t, tacit.MailVerify)
	m.Data["link"] = `https://auth.example.com/verify?token=x"><script>alert(1)</script>`
	msg, err := r.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<b>Co</b>", `x">`} {
		if strings.Contains(msg.HTML, bad) {
			t.Errorf("HTML contains unescaped %q", bad)
		}
	}
	for _, good := range []string{
		"Acme &amp; &lt;b&gt;Co&lt;/b&gt;",
		`href="https://auth.example.com/verify?token=x%22%3e%3cscript%3ealert%281%29%3c/script%3e"`,
		"token=x&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</a>",
	} {
		if !strings.Contains(msg.HTML, good) {
			t.Errorf("HTML lacks %q:\n%s", good, msg.HTML)
		}
	}
	// Plain text is not HTML: it shows values as they are.
	if !strings.Contains(msg.Text, "Acme & <b>Co</b>") {
		t.Errorf("text escaped the product name:\n%s", msg.Text)
	}
	if msg.Subject != "Confirm your address for Acme & <b>Co</b>" {
		t.Errorf("Subject = %q", msg.Subject)
	}
}

func TestRenderRefusesScriptURL(t *testing.T) {
	m := testMail(t, tacit.MailVerify)
	m.Data["link"] = "javascript:alert(1)"
	msg, err := testRenderer(t).Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(msg.HTML, `href="javascript:`) {
		t.Error("HTML links to a javascript: URL")
	}
}

func TestRenderSubjectIsOneLine(t *testing.T) {
	r := testRenderer(t)
	r.Product = "Acme\r\nBcc: victim@example.com"
	msg, err := r.Render(testMail(t, tacit.MailVerify))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "Confirm your address for Acme Bcc: victim@example.com" {
		t.Errorf("Subject = %q", msg.Subject)
	}
}

func TestRenderErrors(t *testing.T) {
	r := testRenderer(t)
	tests := []struct {
		name string
		r    Renderer
		m    tacit.Mail
		want string
	}{
		{"unknown kind", r, tacit.Mail{Kind: "password_reset", Data: map[string]string{"link": "x"}}, `render "password_reset": unknown mail kind`},
		{"none", r, tacit.Mail{Kind: tacit.MailNone}, `render "none": unknown mail kind`},
		{"missing link", r, tacit.Mail{Kind: tacit.MailFinishSignup, Data: map[string]string{}}, `map has no entry for key "link"`},
		{"nil data", r, tacit.Mail{Kind: tacit.MailVerify}, `map has no entry for key "link"`},
		{"missing reset", r, tacit.Mail{Kind: tacit.MailAlreadyRegistered, Data: map[string]string{"login": "x"}}, `map has no entry for key "reset"`},
		{"no base URL", Renderer{}, testMail(t, tacit.MailVerify), "renderer has no base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.r.Render(tt.m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	_, err := r.Render(tacit.Mail{Kind: "nope"})
	if !errors.Is(err, ErrUnknownKind) {
		t.Errorf("err = %v, want ErrUnknownKind", err)
	}
}

func TestRenderDefaultProduct(t *testing.T) {
	r := testRenderer(t)
	r.Product = ""
	msg, err := r.Render(testMail(t, tacit.MailVerify))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "Confirm your address for tacit" {
		t.Errorf("Subject = %q", msg.Subject)
	}
}

// renderedKinds names every MailKind constant that is ever rendered, by its
// constant, so a kind added to the root package without a template or a
// test case fails here.
var renderedKinds = []tacit.MailKind{
	tacit.MailFinishSignup,
	tacit.MailVerify,
	tacit.MailAlreadyRegistered,
	tacit.MailResetPassword,
	tacit.MailResetUnknown,
	tacit.MailPasswordChanged,
	tacit.MailConfirmEmailChange,
	tacit.MailEmailTaken,
	tacit.MailEmailChangeRequested,
	tacit.MailEmailChanged,
	tacit.MailAccountLocked,
	tacit.MailMFAEnabled,
	tacit.MailMFADisabled,
	tacit.MailMFALocked,
	tacit.MailRecoveryCodesRenewed,
	tacit.MailAccountDeleted,
	tacit.MailPasskeyAdded,
	tacit.MailPasskeyRemoved,
}

func TestEveryKindHasTemplates(t *testing.T) {
	for _, k := range renderedKinds {
		if !HasTemplates(k) {
			t.Errorf("kind %q lacks a template block", k)
		}
		findCase(t, k) // every kind is rendered with its Data in the tests
	}
	if HasTemplates(tacit.MailNone) {
		t.Error("MailNone has templates; it must never render")
	}
	if got, want := len(mailCases()), len(renderedKinds); got != want {
		t.Errorf("%d test cases for %d kinds", got, want)
	}
}

// TestRenderedKindsListsEveryConstant reads the root package's source so
// that a MailKind constant added there but forgotten in renderedKinds (and
// so possibly without a template) fails a test rather than a mail.
func TestRenderedKindsListsEveryConstant(t *testing.T) {
	declared := declaredMailKinds(t, "..")
	if len(declared) < len(renderedKinds) {
		t.Fatalf("found only %d MailKind constants in the root package: %v", len(declared), declared)
	}
	for _, k := range declared {
		if k == tacit.MailNone {
			continue
		}
		if !slices.Contains(renderedKinds, k) {
			t.Errorf("MailKind %q is declared in the root package but not in renderedKinds", k)
		}
		if !HasTemplates(k) {
			t.Errorf("MailKind %q is declared in the root package but has no templates", k)
		}
	}
	if !slices.Contains(declared, tacit.MailNone) {
		t.Errorf("MailNone not found among the declared kinds %v; the source scan is broken", declared)
	}
}

// declaredMailKinds returns the values of the constants of type MailKind in
// the non-test Go files of dir, written as `Name MailKind = "value"` or
// `Name = MailKind("value")`.
func declaredMailKinds(t *testing.T, dir string) []tacit.MailKind {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []tacit.MailKind
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			if g, ok := decl.(*ast.GenDecl); ok && g.Tok == token.CONST {
				kinds = append(kinds, mailKindConsts(t, g)...)
			}
		}
	}
	return kinds
}

func mailKindConsts(t *testing.T, g *ast.GenDecl) []tacit.MailKind {
	t.Helper()
	var kinds []tacit.MailKind
	for _, spec := range g.Specs {
		vs := spec.(*ast.ValueSpec)
		typed := isIdent(vs.Type, "MailKind")
		for _, v := range vs.Values {
			if call, ok := v.(*ast.CallExpr); ok && isIdent(call.Fun, "MailKind") && len(call.Args) == 1 {
				v, typed = call.Args[0], true
			}
			lit, ok := v.(*ast.BasicLit)
			if !typed || !ok || lit.Kind != token.STRING {
				continue
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			kinds = append(kinds, tacit.MailKind(s))
		}
	}
	return kinds
}

func TestDeclaredMailKinds(t *testing.T) {
	dir := t.TempDir()
	src := `package tacit

type MailKind string

const (
	A MailKind = "a"
	B          = MailKind("b")
	C          = "not a kind"
	D, E MailKind = "d", "e"
)

const F MailKind = "f"

type Other string

const G Other = "g"
`
	if err := os.WriteFile(filepath.Join(dir, "kinds.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kinds_test.go"), []byte("package tacit\n\nconst T MailKind = \"t\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := declaredMailKinds(t, dir)
	want := []tacit.MailKind{"a", "b", "d", "e", "f"}
	if !slices.Equal(got, want) {
		t.Errorf("declaredMailKinds = %q, want %q", got, want)
	}
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

package tacit

import (
	"slices"
	"testing"
)

func TestPasswordPolicyCheck(t *testing.T) {
	p := PasswordPolicy{Min: 8, Max: 20, Require: []CharClass{Upper, Digit}, Blocklist: ParseBlocklist("# c\nPassword1A\n\n")}
	cases := []struct {
		pw, confirm string
		want        FieldErrors
	}{
		{"", "", FieldErrors{"password": CodeRequired, "password_confirm": CodeRequired}},
		{"Short1", "Short1", FieldErrors{"password": CodeTooShort}},
		{"Abcdefgh1Abcdefgh1Abc", "Abcdefgh1Abcdefgh1Abc", FieldErrors{"password": CodeTooLong}},
		{"alllowercase", "alllowercase", FieldErrors{"password": CodeMissingClasses}},
		{"password1a", "password1a", FieldErrors{"password": CodeMissingClasses}},
		{"PASSWORD1A", "PASSWORD1A", FieldErrors{"password": CodeBreached}}, // case-insensitive list
		{"Correct1Horse", "Correct1Hors", FieldErrors{"password_confirm": CodeMismatch}},
		{"Correct1Horse", "", FieldErrors{"password_confirm": CodeRequired}},
		{"Correct1Horse", "Correct1Horse", FieldErrors{}},
		// Eight characters counted as code points, not bytes.
		{"ÄÖÜäöü1x", "ÄÖÜäöü1x", FieldErrors{}},
		// NFKC: a full-width digit is a digit, and both spellings match.
		{"Correct\uff11Horse", "Correct1Horse", FieldErrors{}},
	}
	for _, c := range cases {
		got := p.Check(c.pw, c.confirm)
		if len(got) != len(c.want) {
			t.Errorf("Check(%q, %q) = %v, want %v", c.pw, c.confirm, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("Check(%q, %q) = %v, want %v", c.pw, c.confirm, got, c.want)
			}
		}
	}
}

func TestDefaultPolicyBlocksCommonPasswords(t *testing.T) {
	p := DefaultPasswordPolicy()
	if len(p.Blocklist) < 1000 {
		t.Fatalf("shipped blocklist has %d entries, want at least 1000", len(p.Blocklist))
	}
	for _, pw := range []string{"password1", "12345678", "Password1", "iloveyou"} {
		if got := p.Check(pw, pw)["password"]; got != CodeBreached {
			t.Errorf("Check(%q) = %q, want breached", pw, got)
		}
	}
	if fe := p.Check("plum orchard sunrise", "plum orchard sunrise"); len(fe) != 0 {
		t.Errorf("a fine passphrase got %v", fe)
	}
}

// TestCommonPasswordsRefused checks that the shipped list refuses the
// commonest breached passwords, among them ones the earlier 10,000-entry
// list let through (password123).
func TestCommonPasswordsRefused(t *testing.T) {
	p := DefaultPasswordPolicy()
	for _, pw := range []string{"password123", "123456789", "qwerty123", "iloveyou", "password1", "Password123", "letmein1", "12345678", "sunshine1"} {
		if fe := p.Check(pw, pw); fe["password"] != CodeBreached {
			t.Errorf("Check(%q) = %v, want password: %s", pw, fe, CodeBreached)
		}
	}
	if n := len(CommonPasswords()); n < 30000 {
		t.Errorf("the list has %d passwords, want at least 30,000", n)
	}
	if fe := p.Check("correct horse battery staple 7", "correct horse battery staple 7"); len(fe) != 0 {
		t.Errorf("an uncommon passphrase is refused: %v", fe)
	}
}

// The service's own words (ASVS 6.1.2, NIST SP 800-63B §5.1.1.2) come
// from its product name and host, and a password that is one of them
// with a few characters around it is refused; one that only contains one
// among enough of its own is not.
func TestContextWords(t *testing.T) {
	got := ContextWords("Acme Cloud 2", "auth.acme-corp.example.com")
	want := []string{"acme", "cloud", "corp", "example", "tacit"}
	if !slices.Equal(got, want) {
		t.Errorf("ContextWords = %q, want %q", got, want)
	}
	if got := ContextWords("tacit", "127.0.0.1"); !slices.Equal(got, []string{"tacit"}) {
		t.Errorf("ContextWords on an address = %q, want just tacit", got)
	}

	p := DefaultPasswordPolicy()
	p.Context = ContextWords("Acme", "auth.acme.io")
	for pw, want := range map[string]string{
		"Acme2024!":                      CodeBreached,
		"acmeacmeacme":                   CodeBreached,
		"ACME pass":                      CodeBreached, // " pass" is 5 characters
		"ACME password":                  "",           // " password" is 9
		"tacit-1234":                     CodeBreached,
		"correct horse battery":          "",
		"my acme password is long":       "",
		"Ａｃｍｅ2024!":                      CodeBreached, // full-width letters are NFKC-normalised first
		"a perfectly ordinary sentence!": "",
	} {
		if got := p.Check(pw, pw)["password"]; got != want {
			t.Errorf("Check(%q) = %q, want %q", pw, got, want)
		}
	}
}

package tacit

import "testing"

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"  Alice@Example.COM ":      "alice@example.com",
		"e\u0301lise@example.com":   "\u00e9lise@example.com", // decomposed é becomes composed
		"\u00c9LISE@EXAMPLE.COM":    "\u00e9lise@example.com",
		"\tbob@example.org\n":       "bob@example.org",
		"":                          "",
		"MIXED.Case+Tag@Sub.Ex.com": "mixed.case+tag@sub.ex.com",
	} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidEmail(t *testing.T) {
	for in, want := range map[string]bool{
		"alice@example.com":            true,
		"a.b+c@sub.example.co.uk":      true,
		"\u00e9lise@b\u00fccher.de":    true,
		"":                             false,
		"alice":                        false,
		"alice@":                       false,
		"@example.com":                 false,
		"alice@localhost":              false,
		"alice@-example.com":           false,
		"alice@example..com":           false,
		"Alice <alice@example.com>":    false,
		"alice @example.com":           false,
		"alice@exa\x00mple.com":        false,
		"alice@example.com\u200b":      true, // a format character is text, not a separator; mail decides
		"\xff@example.com":             false,
		string(make([]byte, 300)):      false,
		"a@b.c":                        true,
		"\"quoted local\"@example.com": false,
	} {
		if got := ValidEmail(in); got != want {
			t.Errorf("ValidEmail(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"Alice@Example.com", "e\u0301@x.io", "\xff", " a@b.c "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeEmail(s)
		if NormalizeEmail(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, NormalizeEmail(n))
		}
		ValidEmail(n)
	})
}

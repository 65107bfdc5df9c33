package tacit

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"  Alice@Example.COM ":      "alice@example.com",
		"e\u0301lise@example.com":   "\u00e9lise@example.com", // decomposed é becomes composed
		"\u00c9LISE@EXAMPLE.COM":    "\u00e9lise@example.com",
		"\tbob@example.org\n":       "bob@example.org",
		"":                          "",
		"MIXED.Case+Tag@Sub.Ex.com": "mixed.case+tag@sub.ex.com",
		// J with a combining caron has no precomposed capital: lower-casing
		// after NFC left "j\u030c", which is not NFC. Folding first, then
		// composing, gives the one precomposed ǰ.
		"J\u030cane@example.com": "\u01f0ane@example.com",
		"\u01f0ane@example.com":  "\u01f0ane@example.com",
		"j\u030cane@example.com": "\u01f0ane@example.com",
		// Full case folding, not lower-casing: ß and ẞ fold to "ss", the
		// Kelvin sign to k, the long s to s, final sigma to σ.
		"STRASSE@example.com":      "strasse@example.com",
		"stra\u00dfe@example.com":  "strasse@example.com",
		"STRA\u1e9eE@example.com":  "strasse@example.com",
		"\u212aate@example.com":    "kate@example.com",
		"\u017fam@example.com":     "sam@example.com",
		"\u039f\u03a3@example.com": "\u03bf\u03c3@example.com",
		"\u03bf\u03c2@example.com": "\u03bf\u03c3@example.com",
	} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every spelling of one mailbox that differs only in case or in Unicode
// composition must give one key: one account, one throttle counter.
func TestNormalizeEmailVariantsOneKey(t *testing.T) {
	for _, set := range [][]string{
		{"J\u030cane@example.com", "\u01f0ane@example.com", "j\u030cane@example.com", "J\u030cANE@EXAMPLE.COM"},
		{"\u00e9lise@example.com", "e\u0301lise@example.com", "\u00c9lise@example.com", "E\u0301LISE@example.com"},
		{"\u1e9e@x.de", "\u00df@x.de", "ss@x.de", "SS@x.de", "Ss@x.de"},
		{"\u1fb3@x.gr", "\u03b1\u0345@x.gr", "\u1fbc@x.gr", "\u0391\u0345@x.gr", "\u03b1\u03b9@x.gr"},
	} {
		want := NormalizeEmail(set[0])
		for _, s := range set[1:] {
			if got := NormalizeEmail(s); got != want {
				t.Errorf("NormalizeEmail(%q) = %q, but NormalizeEmail(%q) = %q", s, got, set[0], want)
			}
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

// invisibles are code points that draw nothing or reorder what is drawn,
// so an address holding one looks like another: default-ignorable and
// bidi-control code points, as the PRECIS identifier class refuses them.
var invisibles = map[string]rune{
	"soft hyphen":                '\u00ad',
	"combining grapheme joiner":  '\u034f',
	"arabic letter mark":         '\u061c',
	"hangul filler":              '\u3164',
	"mongolian vowel separator":  '\u180e',
	"zero-width space":           '\u200b',
	"zero-width non-joiner":      '\u200c',
	"zero-width joiner":          '\u200d',
	"left-to-right mark":         '\u200e',
	"right-to-left mark":         '\u200f',
	"left-to-right embedding":    '\u202a',
	"right-to-left embedding":    '\u202b',
	"pop directional formatting": '\u202c',
	"left-to-right override":     '\u202d',
	"right-to-left override":     '\u202e',
	"word joiner":                '\u2060',
	"invisible times":            '\u2062',
	"left-to-right isolate":      '\u2066',
	"right-to-left isolate":      '\u2067',
	"first strong isolate":       '\u2068',
	"pop directional isolate":    '\u2069',
	"variation selector 16":      '\ufe0f',
	"byte order mark":            '\ufeff',
	"tag latin small a":          '\U000e0061',
	"cancel tag":                 '\U000e007f',
	"variation selector 17":      '\U000e0100',
}

// An address with an invisible code point anywhere is refused, so
// "a\u200bb@example.com" can never be an account that looks like
// "ab@example.com". Its look-alike stays valid.
func TestValidEmailRefusesInvisibles(t *testing.T) {
	for name, r := range invisibles {
		for _, tmpl := range []string{"a%sb@example.com", "%sab@example.com", "ab%s@example.com", "ab@exa%smple.com", "ab@example.com%s"} {
			s := strings.Replace(tmpl, "%s", string(r), 1)
			if n := NormalizeEmail(s); ValidEmail(n) {
				t.Errorf("%s (U+%04X): ValidEmail(NormalizeEmail(%q)) = true, want false", name, r, s)
			}
		}
	}
	if !ValidEmail(NormalizeEmail("ab@example.com")) {
		t.Error("ab@example.com refused")
	}
}

// drawsNothing reports whether r is one of the code points addresses may not
// hold, from Unicode's own properties rather than ValidEmail's code: the
// fuzz test checks one against the other.
func drawsNothing(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point,
		unicode.Variation_Selector, unicode.Bidi_Control)
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"Alice@Example.com", "e\u0301@x.io", "\xff", " a@b.c ",
		"J\u030cane@example.com", "\u01f0ane@example.com", "\u1fb3@x.gr", "a\u200bb@x.io",
		"a\u202eb@x.io", "\u00ad@x.io", "STRA\u1e9eE@x.de", "\u0390@x.gr", "\u1e9b\u0323@x.io"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeEmail(s)
		if NormalizeEmail(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, NormalizeEmail(n))
		}
		if utf8.ValidString(s) {
			// Variants of s in case and composition give the same key.
			for _, v := range []string{strings.ToUpper(s), strings.ToLower(s), cases.Fold().String(s),
				norm.NFD.String(s), norm.NFC.String(s), norm.NFD.String(strings.ToUpper(s)),
				norm.NFC.String(strings.ToLower(s))} {
				if got := NormalizeEmail(v); got != n && sameCaseless(s, v) {
					t.Fatalf("variant %q of %q -> %q, want %q", v, s, got, n)
				}
			}
		}
		if ValidEmail(n) {
			for _, r := range n {
				if drawsNothing(r) {
					t.Fatalf("ValidEmail(%q) = true with invisible U+%04X", n, r)
				}
			}
		}
	})
}

// sameCaseless reports whether a and b are one string under Unicode's
// canonical caseless match (D145: NFD(fold(NFD(x)))), the definition the
// fuzz test holds NormalizeEmail to.
func sameCaseless(a, b string) bool {
	k := func(s string) string { return norm.NFD.String(cases.Fold().String(norm.NFD.String(s))) }
	return k(a) == k(b)
}

// Every assigned code point on its own, and after a capital and before a
// combining mark, normalises to a fixed point: the fuzz test samples, this
// covers. Unassigned and private-use code points are skipped (no case, no
// decomposition), which keeps the test quick under -race. Code points are
// checked in blocks, space-separated (neither folding nor composition
// crosses a space), and a failing block one by one.
func TestNormalizeEmailFixedPointEveryRune(t *testing.T) {
	const block = 1024
	forms := []func(r rune) string{
		func(r rune) string { return string(r) },
		func(r rune) string { return "A" + string(r) + "\u0301" },
	}
	fixed := func(s string) bool { n := NormalizeEmail(s); return NormalizeEmail(n) == n }
	assigned := func(r rune) bool {
		return utf8.ValidRune(r) && unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf)
	}
	for lo := rune(0); lo <= unicode.MaxRune; lo += block {
		for _, form := range forms {
			var b strings.Builder
			for r := lo; r < lo+block; r++ {
				if assigned(r) {
					b.WriteString(form(r) + " ")
				}
			}
			if fixed(b.String()) {
				continue
			}
			for r := lo; r < lo+block; r++ {
				if s := form(r); assigned(r) && !fixed(s) {
					n := NormalizeEmail(s)
					t.Errorf("U+%04X: %+q -> %+q -> %+q", r, s, n, NormalizeEmail(n))
				}
			}
		}
	}
}

package tacit

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxEmailLength is the longest address accepted (RFC 5321's path limit).
const MaxEmailLength = 254

// NormalizeEmail returns the canonical form of an address: trimmed, Unicode
// case-folded and composed (NFC). One account exists per canonical form, so
// two spellings of one address can never be told apart by the flows.
//
// The order matters. Lower-casing an NFC string can leave one that is not
// NFC ("J\u030c" has no precomposed capital, but lower-cases to "j\u030c",
// which composes to "\u01f0"), so the address is decomposed, folded and only
// then composed: Unicode's canonical caseless match (D145), whose result is
// a fixed point, NormalizeEmail(NormalizeEmail(s)) == NormalizeEmail(s).
// Full case folding, unlike strings.ToLower, also maps "ß" to "ss", the
// Kelvin sign to "k" and final sigma to sigma.
func NormalizeEmail(s string) string {
	s = fold.String(norm.NFD.String(strings.TrimSpace(s)))
	return norm.NFC.String(strings.Map(cherokeeFold, s))
}

// fold is Unicode full case folding; a folding Caser is stateless.
var fold = cases.Fold()

// cherokeeFold maps the Cherokee small letters to capitals, as Unicode's
// CaseFolding.txt does (the capitals came first, so they are the stable
// form). x/text's Fold maps capitals to small letters instead, and small
// letters back to capitals, so without this its result is no fixed point:
// the fuzz test found "Ꮇ" -> "ꮇ" -> "Ꮇ".
func cherokeeFold(r rune) rune {
	switch {
	case r >= 0xab70 && r <= 0xabbf:
		return r - 0xab70 + 0x13a0
	case r >= 0x13f8 && r <= 0x13fd:
		return r - 0x13f8 + 0x13f0
	}
	return r
}

// ValidEmail reports whether a normalised address is a plain addr-spec
// (local@domain, no display name or comments) that mail can be sent to.
// It only looks at the text, never at whether anyone owns the address.
//
// Invisible code points are refused: an address holding a zero-width
// space, a soft hyphen or a right-to-left override looks exactly like
// another one, so it could pass for someone else's account.
func ValidEmail(s string) bool {
	if s == "" || len(s) > MaxEmailLength || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError || invisible(r) {
			return false
		}
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || !strings.Contains(domain, ".") {
		return false
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
	}
	return true
}

// invisible reports whether r draws nothing or reorders what is drawn, as
// the PRECIS identifier class (RFC 8264) refuses them: every format
// character (Cf: zero-width space and joiners, soft hyphen, word joiner,
// byte order mark, tag characters, and all the bidi controls U+061C,
// U+200E/F, U+202A–U+202E, U+2066–U+2069), the other default-ignorable code
// points (combining grapheme joiner, Hangul fillers) and the variation
// selectors. None of them belongs in an address.
func invisible(r rune) bool {
	return r >= 0x80 && unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point,
		unicode.Variation_Selector, unicode.Bidi_Control)
}

package tacit

import (
	"bufio"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// CharClass is a kind of character a policy may require in passwords.
type CharClass string

// The character classes a policy can require.
const (
	Lower  CharClass = "lower"
	Upper  CharClass = "upper"
	Digit  CharClass = "digit"
	Symbol CharClass = "symbol"
)

// PasswordPolicy says which passwords are accepted. Its checks look only at
// the password and its confirmation, never at who is asking, so the same
// input gets the same errors for every address (docs/DESIGN.md §2).
type PasswordPolicy struct {
	Min     int         // fewest characters (code points after NormalizePassword)
	Max     int         // most characters; bounds the hashing work too
	Require []CharClass // classes that must each appear at least once
	// Blocklist holds common passwords, lower-cased; a password whose
	// lower-cased form is listed is refused as "breached".
	Blocklist map[string]struct{}
}

// DefaultPasswordPolicy is NIST SP 800-63B's shape: 8 or more characters, a
// generous maximum, no composition rules, and a list of common passwords.
func DefaultPasswordPolicy() PasswordPolicy {
	return PasswordPolicy{Min: 8, Max: 256, Blocklist: CommonPasswords()}
}

// NormalizePassword applies Unicode NFKC, as NIST SP 800-63B advises, so a
// password typed on another keyboard or system still matches.
func NormalizePassword(pw string) string {
	return norm.NFKC.String(pw)
}

// Check returns the field errors for a new password and its confirmation,
// keyed "password" and "password_confirm". The order of checks is fixed, so
// the same input always yields the same single code per field.
func (p PasswordPolicy) Check(password, confirm string) FieldErrors {
	fe := FieldErrors{}
	if code := p.checkPassword(password); code != "" {
		fe["password"] = code
	}
	switch {
	case confirm == "":
		fe["password_confirm"] = CodeRequired
	case NormalizePassword(confirm) != NormalizePassword(password):
		fe["password_confirm"] = CodeMismatch
	}
	return fe
}

func (p PasswordPolicy) checkPassword(pw string) string {
	if pw == "" {
		return CodeRequired
	}
	pw = NormalizePassword(pw)
	n := utf8.RuneCountInString(pw)
	switch {
	case n < p.Min:
		return CodeTooShort
	case p.Max > 0 && n > p.Max:
		return CodeTooLong
	case !hasClasses(pw, p.Require):
		return CodeMissingClasses
	}
	if _, listed := p.Blocklist[strings.ToLower(pw)]; listed {
		return CodeBreached
	}
	return ""
}

func hasClasses(pw string, want []CharClass) bool {
	have := map[CharClass]bool{}
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			have[Lower] = true
		case unicode.IsUpper(r):
			have[Upper] = true
		case unicode.IsDigit(r):
			have[Digit] = true
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r):
			have[Symbol] = true
		}
	}
	for _, c := range want {
		if !have[c] {
			return false
		}
	}
	return true
}

// ParseBlocklist reads one password per line; blank lines and lines starting
// with '#' are skipped.
func ParseBlocklist(text string) map[string]struct{} {
	set := map[string]struct{}{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(NormalizePassword(line))] = struct{}{}
	}
	return set
}

package tacit

import (
	"bufio"
	"maps"
	"slices"
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
	// Context holds words of this service, lower-cased (see
	// ContextWords): a password that is little more than one of them,
	// fewer than Min characters once it is taken out ("Acme2024!"), is
	// refused as "breached", since it is among the first an attacker of
	// this service tries. They are the same for every address.
	Context []string
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
	lower := strings.ToLower(pw)
	if _, listed := p.Blocklist[lower]; listed {
		return CodeBreached
	}
	for _, w := range p.Context {
		if rest := strings.ReplaceAll(lower, w, ""); rest != lower && utf8.RuneCountInString(rest) < p.Min {
			return CodeBreached
		}
	}
	return ""
}

// genericLabels are parts of host names that name no service.
var genericLabels = map[string]bool{"www": true, "auth": true, "login": true, "accounts": true, "account": true, "localhost": true}

// ContextWords returns the context-specific words of a service called
// product at host (ASVS 6.1.2, NIST SP 800-63B §5.1.1.2: "the name of
// the service"): "tacit", and each word of four or more letters or digits,
// not all digits, of the product name and of the host's labels but its
// last (the top-level domain) and generic ones such as www and auth.
func ContextWords(product, host string) []string {
	words := map[string]bool{"tacit": true}
	add := func(text string) {
		for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			if utf8.RuneCountInString(w) >= 4 && strings.TrimFunc(w, unicode.IsDigit) != "" && !genericLabels[w] {
				words[w] = true
			}
		}
	}
	add(product)
	if labels := strings.Split(host, "."); len(labels) > 1 {
		add(strings.Join(labels[:len(labels)-1], " "))
	}
	return slices.Sorted(maps.Keys(words))
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

package scan

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// TargetFile writes the target file that scans the discovered forms, with
// known as the known identifiers (KnownPlaceholder when there are none,
// which LoadTarget refuses until it is replaced). Comments say where each
// endpoint was found and why it got its kind, for the tester to review.
func (d *Discovery) TargetFile(source string, known []string) string {
	return targetFile(d.Base.String(), source, d.Framework, d.Forms, known)
}

func targetFile(base, source string, fw *FrameworkMatch, forms []DiscoveredForm, known []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by tacit scan init from %s.\n", source)
	b.WriteString("# Review it before scanning: the field guesses and kinds are heuristics.\n")
	if fw != nil {
		fmt.Fprintf(&b, "# Framework: %s (recognised by %s).\n", fw.Name, strings.Join(fw.Evidence, ", "))
	}
	fmt.Fprintf(&b, "base_url: %s\n", yamlQuote(base))
	byName := byUserName(forms, known)
	if len(known) == 0 {
		b.WriteString("# TODO: replace the placeholder with an identifier that has an account\n")
		b.WriteString("# (an address of a test account with no recent failed sign-in).\n")
		known = []string{KnownPlaceholder}
	}
	b.WriteString("known:\n")
	for _, k := range known {
		fmt.Fprintf(&b, "  - %s\n", yamlQuote(k))
	}
	b.WriteString("endpoints:\n")
	names := map[string]int{}
	for i, f := range forms {
		if byName && f.alt != "" {
			f = f.identifiedByName()
			forms[i] = f // so that the discovery's summary says the same
		}
		name := string(f.Kind)
		names[name]++
		if n := names[name]; n > 1 {
			name = fmt.Sprintf("%s-%d", name, n)
		}
		if f.Page != "" {
			fmt.Fprintf(&b, "  # found on %s: %s\n", oneLine(f.Page), oneLine(f.Why))
		} else {
			fmt.Fprintf(&b, "  # %s\n", oneLine(f.Why))
		}
		fmt.Fprintf(&b, "  - name: %s\n    kind: %s\n    method: %s\n    path: %s\n", name, f.Kind, f.Method, yamlQuote(f.Action))
		writeFields(&b, "headers", f.Headers)
		body := "form"
		if f.JSON {
			body = "json"
		}
		writeFields(&b, body, f.Fields)
		if f.Page == "" {
			continue
		}
		// The form's page is fetched first, as a browser does, even with
		// nothing to take from it: it may set a cookie the form needs
		// (WordPress answers "Cookies are blocked" without its test
		// cookie).
		fmt.Fprintf(&b, "    before:\n      - path: %s\n", yamlQuote(f.Page))
		if len(f.Fresh) == 0 {
			continue
		}
		b.WriteString("        extract:\n")
		for _, name := range f.Fresh {
			x, ok := f.Extract[name]
			if !ok {
				x = Extraction{From: FromInput, Arg: name}
			}
			fmt.Fprintf(&b, "          %s: {%s: %s}\n", f.varName(name), x.From, yamlQuote(x.Arg))
		}
	}
	return b.String()
}

// byUserName reports whether the application identifies accounts by user
// name rather than email address: the known identifier says so when there
// is one, else the sign-in form's identifier field.
func byUserName(forms []DiscoveredForm, known []string) bool {
	if len(known) > 0 {
		return !strings.Contains(known[0], "@")
	}
	for _, f := range forms {
		if f.Kind == KindLogin {
			return !f.emailID
		}
	}
	return false
}

// identifiedByName returns f with its user name field as the identifier
// and, on a sign-up form, a fresh address in its email field.
func (f DiscoveredForm) identifiedByName() DiscoveredForm {
	email := f.Identifier
	f.Fields = slices.Clone(f.Fields)
	for i, fl := range f.Fields {
		switch fl.Name {
		case email:
			// A sign-up needs an address, a fresh one; a reset form
			// takes either field, so the other is left empty.
			f.Fields[i].Value = "u{{" + VarRandom + "}}@tacit-scan.example"
			if f.Kind != KindRegister {
				f.Fields[i].Value = ""
			}
		case f.alt:
			f.Fields[i].Value = "{{" + VarIdentifier + "}}"
		}
	}
	f.Identifier, f.alt, f.emailID = f.alt, "", false
	f.Why += "; the user name is the identifier, as on the sign-in form"
	return f
}

func writeFields(b *strings.Builder, key string, fs []Field) {
	if len(fs) == 0 {
		return
	}
	fmt.Fprintf(b, "    %s:\n", key)
	for _, f := range fs {
		fmt.Fprintf(b, "      %s: %s\n", yamlKey(f.Name), yamlQuote(f.Value))
	}
}

// yamlQuote writes s as a YAML double-quoted scalar. YAML's escapes are a
// superset of the ones Go's %q uses for valid text.
func yamlQuote(s string) string {
	return fmt.Sprintf("%q", strings.ToValidUTF8(s, "\uFFFD"))
}

var plainKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// yamlKey writes a mapping key plain when YAML reads it back as the same
// string, and quoted otherwise (user[email], keys YAML would read as
// booleans or numbers).
func yamlKey(s string) string {
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "true", "false", "on", "off", "null":
		return yamlQuote(s)
	}
	if plainKeyRE.MatchString(s) {
		return s
	}
	return yamlQuote(s)
}

// oneLine keeps target-derived text in a comment on one line, without
// control characters.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return ' '
		}
		return r
	}, s)
}

package scan

import (
	"os/exec"
	"strings"
	"testing"
	"unicode"
)

// TestShellQuoteHostile: every value comes back from sh byte for byte,
// and what is printed holds no control character but newline and tab.
func TestShellQuoteHostile(t *testing.T) {
	for _, v := range []string{
		"", "plain", "it's", "''", `"double" \back\slash`, "$(touch /tmp/tacit-pwned) ${HOME} $HOME", "`id`",
		"line one\nline two\n", "tab\there", "\x1b]52;c;cHduZWQ=\x07\x1b[2J", "\u009b31m C1", "not utf-8: \xff\xfe", "-n", "*", "~",
		"a'b\"c$(d)`e`\nf\\g",
	} {
		q := shellQuote(v)
		for _, r := range q {
			if unicode.IsControl(r) && r != '\n' && r != '\t' {
				t.Errorf("quoted %q holds the control character %U: %q", v, r, q)
			}
		}
		out, err := exec.Command("sh", "-c", "printf %s "+q).Output()
		if err != nil {
			t.Fatalf("%q quoted as %s: %v", v, q, err)
		}
		if string(out) != v {
			t.Errorf("%q quoted as %s came back as %q", v, q, out)
		}
	}
}

// TestDiffKeepsLongLines: a changed line of any length is shown whole.
func TestDiffKeepsLongLines(t *testing.T) {
	long := strings.Repeat("x", 700)
	d := textDiff("<p>"+long+"A</p>\n", "<p>"+long+"B</p>\n")
	if !strings.Contains(d, "- <p>"+long+"A</p>") || !strings.Contains(d, "+ <p>"+long+"B</p>") {
		t.Errorf("diff cut a long line:\n%s", d)
	}
}

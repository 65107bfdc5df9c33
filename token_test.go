package tacit

import (
	"bytes"
	"net/url"
	"testing"
)

func TestNewToken(t *testing.T) {
	a, ha := NewToken()
	b, hb := NewToken()
	if a == b || bytes.Equal(ha, hb) {
		t.Fatal("two tokens are equal")
	}
	if !WellFormedToken(a) || len(a) != 43 {
		t.Fatalf("token %q is not well formed", a)
	}
	if !bytes.Equal(HashToken(a), ha) {
		t.Fatal("HashToken differs from the hash NewToken returned")
	}
	for _, s := range []string{"", "short", a + "x", a[:42] + "!"} {
		if WellFormedToken(s) {
			t.Errorf("WellFormedToken(%q) = true", s)
		}
	}
}

func TestLinks(t *testing.T) {
	base, _ := url.Parse("https://auth.example.com/sub/?ignored=1")
	l := Links{Base: base}
	if got, want := l.CompleteSignup("abc"), "https://auth.example.com/sub/register/complete?token=abc"; got != want {
		t.Errorf("CompleteSignup = %q, want %q", got, want)
	}
	if got, want := l.ForgotPassword(), "https://auth.example.com/sub/password/forgot"; got != want {
		t.Errorf("ForgotPassword = %q, want %q", got, want)
	}
}

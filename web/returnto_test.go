package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/internal/accountstate"
)

func TestLocalPath(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"/orders", "/orders"},
		{"/orders/7?tab=items&x=1#top", "/orders/7?tab=items&x=1#top"},
		{"/", "/"},
		{"", ""},
		{"orders", ""},
		{"//evil.example/", ""},
		{"/\\evil.example", ""},
		{"/a\\b", ""},
		{"https://evil.example/", ""},
		{"javascript:alert(1)", ""},
		{"/a\nLocation: https://evil.example", ""},
		{"/a\tb", ""},
		{"/%zz", ""},
		{"/" + strings.Repeat("a", 2048), ""},
	} {
		if got := localPath(tc.next); got != tc.want {
			t.Errorf("localPath(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}

// TestLoginReturnsToNext: the sign-in page keeps a local "next" through a
// failed attempt and goes there once signed in; any other "next" is
// dropped, and sign-in goes to /account.
func TestLoginReturnsToNext(t *testing.T) {
	h := newHarness(t, options{})
	const email, password = "ada@example.com", "a long enough password"
	if err := accountstate.Arrange(context.Background(), h.store, h.hasher, accountstate.Verified, email, password); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ next, want string }{
		{"/app/page?x=1", "/app/page?x=1"},
		{"//evil.example/", "/account"},
		{"https://evil.example/", "/account"},
	} {
		b := h.browser()
		form := b.get("/login?" + url.Values{"next": {tc.next}}.Encode())
		hidden := `<input type="hidden" name="next" value="` + tc.want + `">`
		if has := strings.Contains(form.text(), hidden); has != (tc.want != "/account") {
			t.Errorf("next %q: sign-in page has the hidden field %v, want %v", tc.next, has, !has)
		}
		failed := b.postForm("/login", url.Values{"email": {email}, "password": {"wrong password"}, "next": {tc.next}})
		if failed.StatusCode != http.StatusUnauthorized || strings.Contains(failed.text(), hidden) != (tc.want != "/account") {
			t.Errorf("next %q: failed sign-in answered %d, hidden field kept %v", tc.next, failed.StatusCode, strings.Contains(failed.text(), hidden))
		}
		ok := b.postForm("/login", url.Values{"email": {email}, "password": {password}, "next": {tc.next}})
		if ok.StatusCode != http.StatusSeeOther || ok.Header.Get("Location") != tc.want {
			t.Errorf("next %q: signed in with %d to %q, want 303 to %q", tc.next, ok.StatusCode, ok.Header.Get("Location"), tc.want)
		}
	}
}

package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCSRF: every state-changing form needs the double-submit token, and
// cross-site posts are refused before any handler, JSON API included.
func TestCSRF(t *testing.T) {
	h := newHarness(t, options{})
	forms := map[string]string{ // path → page that shows its form
		"/register": "/register", "/register/complete": "/register",
		"/verify": "/register", "/verify/resend": "/verify/resend",
		"/login": "/login", "/logout": "/logout",
		"/password/forgot": "/password/forgot", "/password/reset": "/password/forgot",
		"/email/confirm":    "/email/confirm?token=" + fixedToken,
		"/account/password": "/login", "/account/email": "/login",
		"/account/sessions/end": "/login", "/account/sessions/end-others": "/login",
	}
	for path, page := range forms {
		t.Run(path, func(t *testing.T) {
			h.t = t
			email := newAddress()
			vals := url.Values{"email": {email}, "password": {chosenPassword}, "password_confirm": {chosenPassword}, "token": {fixedToken}}

			b := h.browser()
			form := b.get(page)
			token := b.jar[h.ck.csrfName].Value
			if !strings.Contains(form.text(), `name="csrf_token" value="`+token+`"`) {
				t.Fatalf("form page %s lacks the CSRF field", page)
			}
			refused := map[string]func() reply{
				"no field": func() reply { return b.postForm(path, withField(vals, "")) },
				"wrong field": func() reply {
					other := h.browser()
					other.get(page)
					return b.postForm(path, withField(vals, other.jar[h.ck.csrfName].Value))
				},
				"no cookie": func() reply { return h.browser().postForm(path, withField(vals, token)) },
				"cross-site with a good token": func() reply {
					req := h.newRequest(http.MethodPost, path, strings.NewReader(withField(vals, token).Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Sec-Fetch-Site", "cross-site")
					return b.send(req)
				},
			}
			for name, post := range refused {
				r := post()
				if r.StatusCode != http.StatusForbidden || !strings.Contains(r.text(), "<h1>") {
					t.Errorf("%s: %d, want a 403 page", name, r.StatusCode)
				}
				assertUntouched(t, h, email)
			}
		})
	}

	t.Run("JSON API", func(t *testing.T) {
		h.t = t
		for _, site := range []string{"cross-site", "same-site"} {
			email := newAddress()
			req := h.newRequest(http.MethodPost, "/api/register", strings.NewReader(jsonBody(map[string]string{"email": email})))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Sec-Fetch-Site", site)
			r := h.do(req)
			if r.StatusCode != http.StatusForbidden || r.text() != `{"error":"forbidden","message":"Cross-origin requests are refused."}`+"\n" {
				t.Errorf("%s: %d %s", site, r.StatusCode, r.text())
			}
			assertUntouched(t, h, email)
		}
		// Without Sec-Fetch-Site, a foreign Origin is refused too.
		email := newAddress()
		req := h.newRequest(http.MethodPost, "/api/register", strings.NewReader(jsonBody(map[string]string{"email": email})))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "https://attacker.example")
		if r := h.do(req); r.StatusCode != http.StatusForbidden {
			t.Errorf("foreign Origin: %d", r.StatusCode)
		}
		assertUntouched(t, h, email)

		// A same-origin browser request goes through.
		req = h.newRequest(http.MethodPost, "/api/register", strings.NewReader(jsonBody(map[string]string{"email": newAddress()})))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if r := h.do(req); r.StatusCode != http.StatusAccepted {
			t.Errorf("same-origin: %d %s", r.StatusCode, r.text())
		}
		h.deliver()
	})

	t.Run("forward auth is exempt", func(t *testing.T) {
		h.t = t
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req := h.newRequest(method, "/auth/check", nil)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			if r := h.do(req); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s /auth/check cross-site: %d, want 401", method, r.StatusCode)
			}
		}
	})
}

func withField(v url.Values, token string) url.Values {
	v = cloneValues(v)
	v.Set(csrfField, token)
	return v
}

package tacit

import (
	"net/url"
	"strings"
)

// Links builds the URLs that mails carry. They come from the configured
// public base URL only, never from a request's Host or X-Forwarded-Host
// header, so a forged header cannot point a reset link at an attacker.
type Links struct {
	Base *url.URL
}

func (l Links) url(path string, token string) string {
	u := *l.Base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = ""
	if token != "" {
		u.RawQuery = url.Values{"token": {token}}.Encode()
	}
	return u.String()
}

// CompleteSignup is the link in the finish-sign-up mail.
func (l Links) CompleteSignup(token string) string { return l.url("/register/complete", token) }

// Verify is the link in the verify-address mail.
func (l Links) Verify(token string) string { return l.url("/verify", token) }

// ForgotPassword is the page where a password reset starts.
func (l Links) ForgotPassword() string { return l.url("/password/forgot", "") }

// Login is the sign-in page.
func (l Links) Login() string { return l.url("/login", "") }

// Home is the base URL itself.
func (l Links) Home() string { return l.url("/", "") }

// ResetPassword is the link in the password reset mail.
func (l Links) ResetPassword(token string) string { return l.url("/password/reset", token) }

// ConfirmEmailChange is the link that confirms a new address.
func (l Links) ConfirmEmailChange(token string) string { return l.url("/email/confirm", token) }

// Register is the sign-up page.
func (l Links) Register() string { return l.url("/register", "") }

// Account is the account page.
func (l Links) Account() string { return l.url("/account", "") }

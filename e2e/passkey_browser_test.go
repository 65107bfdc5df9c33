package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestBrowserPasskeys drives Chromium with a virtual authenticator (the
// DevTools protocol's WebAuthn domain, standing in for a phone or a
// laptop's fingerprint reader) through passkeys on the real binary: add
// one on the account page right after signing in, sign out, sign in with
// it from the sign-in page without typing anything, remove it; add
// another, and use it as the second step after the password.
func TestBrowserPasskeys(t *testing.T) {
	chromium := findChromium(t)
	srv := startServer(t, "TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s",
		"TACIT_BASE_URL=http://localhost:{port}")
	const (
		addr     = "grace.hopper@example.com"
		password = "Compiler-A0-1952"
	)
	signUp(t, srv, addr, password)
	b := newBrowser(t, chromium, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	b.n = 30 // screenshots 31 on
	auth := b.virtualAuthenticator()

	// Sign in with the password; add a passkey, with no password: the
	// sign-in was a moment ago. The authenticator answers only while its
	// user is "present", so that the sign-in page's autofill request,
	// always waiting there, answers only when a step wants it to.
	b.presence(auth, false)
	b.open("/login")
	b.expectPage("/login", "Sign in")
	if got := b.attr("main input[name=email]", "autocomplete"); got != "username webauthn" {
		t.Errorf("address field autocomplete = %q", got)
	}
	b.fill("Email address", addr)
	b.fill("Password", password)
	b.click("Sign in", 200)
	b.expectPage("/account", "Your account")
	b.presence(auth, true)
	b.fill("Name of the new passkey", "Laptop")
	b.clickScripted("Add a passkey", "/account?done=passkey_added")
	b.expectPage("/account", "Your account")
	b.expectText("main .notice-success", "Your passkey is added.")
	b.expectText("main table.sessions td[data-label=Name]", "Laptop")
	b.screenshot("passkey-added")

	// Sign out, and sign in with the passkey alone: the button.
	b.presence(auth, false)
	b.click("Sign out", 200)
	b.expectPage("/login", "Sign in")
	b.clickScripted("Sign in with a passkey", "")
	b.presence(auth, true)
	b.waitPage("/account")
	b.expectPage("/account", "Your account")
	b.expectText("main dl.details dd", addr)

	// Sign out again: the browser's autofill offers the passkey on the
	// address field (conditional mediation), and the person picks it.
	// (A pending request does not notice presence come back: the page is
	// opened again, as a person coming back to it would.)
	b.presence(auth, false)
	b.click("Sign out", 200)
	b.expectPage("/login", "Sign in")
	b.presence(auth, true)
	b.open("/login")
	b.waitPage("/account")
	b.expectText("main dl.details dd", addr)

	// Remove it (a plain form).
	b.click("Remove Laptop", 200)
	b.expectPage("/account", "Your account")
	b.expectText("main .notice-success", "Your passkey is removed.")
	if n := b.count("main form[action='/account/passkeys/remove']"); n != 0 {
		t.Fatalf("%d passkeys left", n)
	}

	// Another passkey, then the password: the passkey is the second step.
	b.fill("Name of the new passkey", "Phone")
	b.clickScripted("Add a passkey", "/account?done=passkey_added")
	b.expectText("main .notice-success", "Your passkey is added.")
	b.presence(auth, false)
	b.click("Sign out", 200)
	b.fill("Email address", addr)
	b.fill("Password", password)
	b.click("Sign in", 200)
	b.expectPage("/login/mfa", "Enter your code")
	b.screenshot("second-step-passkey")
	b.presence(auth, true)
	b.clickScripted("Use a passkey", "/account")
	b.expectPage("/account", "Your account")
}

// clickScripted presses the button with this label, whose script runs a
// passkey ceremony and then goes to a page, and waits until the page at
// path (and query) has loaded.
func (b *browser) clickScripted(label, path string) {
	b.t.Helper()
	sel := fmt.Sprintf(`//main//button[normalize-space()=%q]`, label)
	b.run("click "+label, func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.Click(sel))
	})
	if path != "" {
		b.waitPage(path)
	}
}

// waitPage waits until the page at path (and query) has loaded, after a
// script took the browser there.
func (b *browser) waitPage(path string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		var ok bool
		err := chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			var err error
			ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
				`location.pathname + location.search === %q && document.readyState === "complete"`, path)))
			return err
		}))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no page %s within %s (at %s; %v)", path, stepTimeout, b.location(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// virtualAuthenticator gives the tab a platform authenticator that holds
// discoverable credentials and verifies its user at once.
func (b *browser) virtualAuthenticator() webauthn.AuthenticatorID {
	b.t.Helper()
	var id webauthn.AuthenticatorID
	b.run("add a virtual authenticator", func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{}); err != nil {
				return err
			}
			res, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
				Options: &webauthn.VirtualAuthenticatorOptions{
					Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
					Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
					IsUserVerified: true, AutomaticPresenceSimulation: true,
				},
			})
			if err == nil {
				id = res.AuthenticatorID
			}
			return err
		}))
	})
	return id
}

// presence sets whether the authenticator's user is there to touch it:
// without, every request to it waits.
func (b *browser) presence(id webauthn.AuthenticatorID, on bool) {
	b.t.Helper()
	b.run("set presence", func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on})
			return err
		}))
	})
}

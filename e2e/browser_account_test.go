package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserDeleteAndSignUpAgain drives Chromium through deleting an
// account from the account page (a wrong password first, refused), the
// confirmation mail, and signing up again with the same address: a new
// account, with a new password, from a new link.
func TestBrowserDeleteAndSignUpAgain(t *testing.T) {
	chromium := findChromium(t)
	srv := startServer(t, "TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s")
	b := newBrowser(t, chromium, srv.URL)
	b.n = 40 // screenshots after those of the other browser tests

	const (
		addr     = "mary.somerville@example.com"
		password = "Mechanism-of-the-heavens-1831"
		again    = "Connexion-of-the-sciences-1834"
	)
	signUp := func(password string) {
		b.open("/register")
		b.fill("Email address", addr)
		b.click("Continue", 200)
		b.openNewestMail(addr, "/register/complete")
		b.clickMailLink(addr, "/register/complete", 200)
		b.expectPage("/register/complete", "Choose your password")
		b.fill("Password", password)
		b.fill("Password again", password)
		b.click("Create account", 200)
		b.expectPage("/account", "Your account")
		b.expectText("main dl.details dd", addr)
	}
	signUp(password)
	if n := b.count(`main a[href="/account/data"][download]`); n != 1 {
		t.Fatalf("%d download links for the account's data", n)
	}

	// A wrong password is refused, and the summary takes the focus.
	b.fillIn("/account/delete", "Your password", "not-my-password-1")
	b.click("Delete my account", 401)
	b.expectFocus("main .error-summary")
	b.screenshot("delete-wrong-password")

	b.fillIn("/account/delete", "Your password", password)
	b.click("Delete my account", 200)
	b.expectPage("/account/deleted", "Account deleted")
	b.screenshot("account-deleted")
	b.open("/account")
	b.expectPage("/login", "Sign in")

	// The confirmation, with its way back.
	b.openNewestMail(addr, "/register")

	// The old password opens nothing; the address signs up afresh.
	b.open("/login")
	b.fill("Email address", addr)
	b.fill("Password", password)
	b.click("Sign in", 401)
	signUp(again)
	b.click("Sign out", 200)
	b.fill("Email address", addr)
	b.fill("Password", again)
	b.click("Sign in", 200)
	b.expectPage("/account", "Your account")
}

// newestMailJS reports whether the newest mail to an address carries a
// link to a path.
const newestMailJS = `(() => {
	for (const m of document.querySelectorAll("main ol.mails > li.mail")) {
		const to = m.querySelector(".mail-meta strong");
		if (!to || to.textContent !== %q) continue;
		for (const a of m.querySelectorAll("pre.mail-text a")) {
			if (new URL(a.href).pathname === %q) return true;
		}
		return false;
	}
	return false;
})()`

// openNewestMail opens the dev mailbox until the newest mail to addr
// carries a link to path: openMail would find an older mail with such a
// link at once.
func (b *browser) openNewestMail(addr, path string) {
	b.t.Helper()
	b.run("wait for the newest mail to "+addr, func(ctx context.Context) error {
		for {
			if err := chromedp.Do(ctx, chromedp.Navigate(b.base+"/_dev/mail")); err != nil {
				return err
			}
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(newestMailJS, addr, path)))
			if err != nil || ok {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the newest mail has no %s link: %w", path, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

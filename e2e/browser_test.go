package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

const (
	// stepTimeout bounds every browser step, so a page that never loads or
	// an element that never appears fails with the step's name instead of
	// hanging the test.
	stepTimeout = 10 * time.Second
	// browserTimeout bounds the whole browser session, including starting
	// Chromium, which has no step of its own to bound it.
	browserTimeout = 60 * time.Second

	desktopWidth, desktopHeight = 1280, 800
	mobileWidth, mobileHeight   = 390, 844

	// updateScreenshotsEnv, set to 1, writes the screenshots to
	// docs/screenshots instead of a temporary directory.
	updateScreenshotsEnv = "TACIT_UPDATE_SCREENSHOTS"
	screenshotDir        = "../docs/screenshots"
)

// TestBrowserSignUpAndSignIn drives a real Chromium through the HTML pages
// of the real binary: email-first sign-up with the link from the dev
// mailbox, sign-out, a sign-in with a wrong password, a sign-in, turning
// on two-step sign-in and a sign-in with a code from it. The
// browser only opens pages, types into labelled fields and clicks buttons
// and links, as a person would.
func TestBrowserSignUpAndSignIn(t *testing.T) {
	chromium := findChromium(t)
	srv := startServer(t, "TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s")
	b := newBrowser(t, chromium, srv.URL)

	const (
		addr     = "ada.lovelace@example.com"
		password = "Analytical-engine-1843"
	)

	// Ask for a sign-up link.
	b.open("/register")
	b.expectPage("/register", "Create an account")
	b.screenshot("register")
	b.screenshotMobile("register-mobile")
	b.fill("Email address", addr)
	b.click("Continue", 200)
	b.expectPage("/register/sent", "Check your inbox")
	b.screenshot("check-inbox")

	// Follow the link in the mail.
	b.openMail(addr, "/register/complete")
	b.screenshot("dev-mailbox")
	b.clickMailLink(addr, "/register/complete", 200)
	b.expectPage("/register/complete", "Choose your password")
	b.screenshot("choose-password")

	// Choose the password; the account page follows, signed in.
	b.fill("Password", password)
	b.fill("Password again", password)
	b.click("Create account", 200)
	b.expectPage("/account", "Your account")
	b.expectText("main dl.details dd", addr)
	b.screenshot("account")

	// Sign out.
	b.click("Sign out", 200)
	b.expectPage("/login", "Sign in")
	b.screenshot("signed-out")

	// A wrong password gets the generic message, and the address stays
	// in the form.
	b.fill("Email address", addr)
	b.fill("Password", "Analytical-engine-1842")
	b.click("Sign in", 401)
	b.expectPage("/login", "Sign in")
	b.expectText("main .notice-error", "Email or password is incorrect. If you signed up recently, confirm your address first.")
	b.expectValue("Email address", addr)
	b.screenshot("wrong-password")

	// Sign in with the right password.
	b.fill("Password", password)
	b.click("Sign in", 200)
	b.expectPage("/account", "Your account")
	b.expectText("main dl.details dd", addr)
	b.screenshot("signed-in")

	// Turn on two-step sign-in with a code made from the key on the page,
	// as an authenticator app would.
	b.click("Set up two-step sign-in", 200)
	b.expectPage("/account", "Your account")
	secret := b.text("main code.secret")
	b.fill("Code from the app", totpCode(t, secret, 0))
	b.fillIn("/account/mfa/enable", "Your password", password)
	b.click("Turn on two-step sign-in", 200)
	b.expectText("main .notice-success", "Two-step sign-in is on. Save these recovery codes somewhere safe now: "+
		"each signs you in once if you lose your phone, and they will not be shown again.")
	b.click("Sign out", 200)

	// Sign in again: the password, then a code of the next time step (the
	// one used to turn MFA on is spent).
	b.fill("Email address", addr)
	b.fill("Password", password)
	b.click("Sign in", 200)
	b.expectPage("/login/mfa", "Enter your code")
	b.fill("Code", totpCode(t, secret, 30*time.Second))
	b.click("Sign in", 200)
	b.expectPage("/account", "Your account")
}

// totpCode is the code an authenticator app shows for secret, ahead of now.
func totpCode(t *testing.T, secret string, ahead time.Duration) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, time.Now().Add(ahead))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// findChromium returns the path of Debian's Chromium, or skips the test.
func findChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("browser test needs Chromium at /usr/bin/chromium or on PATH; install it with `apt-get install chromium`")
	return ""
}

// browser is one headless Chromium tab on one tacit server, with the
// helpers that assert each step.
type browser struct {
	t     *testing.T
	ctx   context.Context // the tab; never given a deadline of its own
	base  string          // server URL
	shots string          // where screenshots go
	n     int             // screenshots taken so far, for file names
}

// newBrowser starts a headless Chromium with a fresh profile at the
// desktop size; it stops when the test ends. Some flags repeat chromedp's
// defaults so that every flag this test relies on is written here.
func newBrowser(t *testing.T, chromium, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // containers and CI runners give no user namespaces
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), // no state from earlier runs
		// No traffic beyond the loopback server: the test must not depend
		// on, or talk to, the network.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	root, cancelRoot := context.WithTimeout(context.Background(), browserTimeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(root, opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelRoot()
	})

	// The first action starts the browser. It runs on the tab's own
	// context, because a deadline on it would stop the whole browser when
	// the step ends.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktopWidth, desktopHeight)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, base: base, shots: screenshotPath(t)}
}

// screenshotPath is docs/screenshots when asked for, else a directory
// that disappears with the test, so ordinary runs leave the tree clean.
func screenshotPath(t *testing.T) string {
	if os.Getenv(updateScreenshotsEnv) != "1" {
		return t.TempDir()
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return screenshotDir
}

// run performs one named step with its own deadline and fails the test
// with the step's name if it does not finish.
func (b *browser) run(step string, f func(ctx context.Context) error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// open navigates to a path on the server, as typing it in the address bar.
func (b *browser) open(path string) {
	b.t.Helper()
	b.run("open "+path, func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.Navigate(b.base+path))
	})
}

// fieldByLabel selects the input that the label with this text names, so
// the test also checks that every field has a working label.
func fieldByLabel(label string) string {
	return fmt.Sprintf(`//main//input[@id=//main//label[normalize-space()=%q]/@for]`, label)
}

// fill types text into the field with this label.
func (b *browser) fill(label, text string) {
	b.t.Helper()
	b.run("type into "+label, func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.SendKeys(fieldByLabel(label), text))
	})
}

// fillIn types text into the field with this label in the form posting
// to action, for pages where several forms have a field of that label.
func (b *browser) fillIn(action, label, text string) {
	b.t.Helper()
	form := fmt.Sprintf(`//main//form[@action=%q]`, action)
	sel := fmt.Sprintf(`%s//input[@id=%s//label[normalize-space()=%q]/@for]`, form, form, label)
	b.run("type into "+label+" of "+action, func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.SendKeys(sel, text))
	})
}

// click presses the button with this label, waits for the page it leads
// to, and checks that page's HTTP status.
func (b *browser) click(label string, status int64) {
	b.t.Helper()
	sel := fmt.Sprintf(`//main//button[normalize-space()=%q]`, label)
	b.run("click "+label, func(ctx context.Context) error {
		return b.navigated(ctx, status, chromedp.Click(sel))
	})
}

// navigated runs an action that leads to a new page and checks the page's
// status.
func (b *browser) navigated(ctx context.Context, status int64, action chromedp.Action[chromedp.Void]) error {
	resp, err := chromedp.RunResponse(ctx, action)
	if err != nil {
		return err
	}
	if resp == nil {
		return fmt.Errorf("no response for the new page")
	}
	if resp.Status != status {
		return fmt.Errorf("status %d, want %d", resp.Status, status)
	}
	return nil
}

// expectPage checks the path in the address bar and the page's heading.
func (b *browser) expectPage(path, heading string) {
	b.t.Helper()
	var loc, h1 string
	b.run("read page", func(ctx context.Context) error {
		var err error
		if loc, err = chromedp.Run(ctx, chromedp.Location()); err != nil {
			return err
		}
		h1, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main h1")))
		return err
	})
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("parse location %q: %v", loc, err)
	}
	if u.Path != path {
		b.t.Fatalf("location %s, want path %s", loc, path)
	}
	if h1 != heading {
		b.t.Fatalf("on %s: heading %q, want %q", path, h1, heading)
	}
}

// expectText checks the visible text of the first element sel matches.
func (b *browser) expectText(sel, want string) {
	b.t.Helper()
	if got := b.text(sel); got != want {
		b.t.Fatalf("%s: text %q, want %q", sel, got, want)
	}
}

// text returns the text of the element sel selects.
func (b *browser) text(sel string) string {
	b.t.Helper()
	var got string
	b.run("read "+sel, func(ctx context.Context) error {
		var err error
		got, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		return err
	})
	return strings.TrimSpace(got)
}

// expectValue checks what the field with this label holds.
func (b *browser) expectValue(label, want string) {
	b.t.Helper()
	var got string
	b.run("read "+label, func(ctx context.Context) error {
		var err error
		got, err = chromedp.Run(ctx, chromedp.Value(fieldByLabel(label)))
		return err
	})
	if got != want {
		b.t.Fatalf("field %s holds %q, want %q", label, got, want)
	}
}

// mailIndexJS finds the newest mail (the page lists newest first) to an
// address that carries a link to a path, and returns its position in the
// list counted from 1, or 0 if there is none yet.
const mailIndexJS = `(() => {
	const mails = document.querySelectorAll("main ol.mails > li.mail");
	for (let i = 0; i < mails.length; i++) {
		const to = mails[i].querySelector(".mail-meta strong");
		if (!to || to.textContent !== %q) continue;
		for (const a of mails[i].querySelectorAll("pre.mail-text a")) {
			if (new URL(a.href).pathname === %q) return i + 1;
		}
	}
	return 0;
})()`

// openMail opens the dev mailbox until the mail to addr with a link to
// path has arrived: the outbox worker sends it after the request.
func (b *browser) openMail(addr, path string) {
	b.t.Helper()
	b.run("wait for mail to "+addr, func(ctx context.Context) error {
		for {
			if err := chromedp.Do(ctx, chromedp.Navigate(b.base+"/_dev/mail")); err != nil {
				return err
			}
			i, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(mailIndexJS, addr, path)))
			if err != nil || i > 0 {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("no mail with a %s link: %w", path, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	b.expectPage("/_dev/mail", "Development mailbox")
}

// clickMailLink clicks the link to path in the newest mail to addr on the
// dev mailbox page.
func (b *browser) clickMailLink(addr, path string, status int64) {
	b.t.Helper()
	b.run("click link in mail to "+addr, func(ctx context.Context) error {
		i, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(mailIndexJS, addr, path)))
		if err != nil {
			return err
		}
		if i == 0 {
			return fmt.Errorf("no mail with a %s link", path)
		}
		sel := fmt.Sprintf(`main ol.mails > li.mail:nth-child(%d) pre.mail-text a[href*=%q]`, i, path+"?")
		return b.navigated(ctx, status, chromedp.Click(chromedp.CSS(sel)))
	})
}

// screenshot saves the whole page, beyond the viewport, as NN-name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	b.n++
	file := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.n, name))
	b.run("screenshot "+name, func(ctx context.Context) error {
		png, err := chromedp.Run(ctx, fullPagePNG())
		if err != nil {
			return err
		}
		return os.WriteFile(file, png, 0o644)
	})
}

// screenshotMobile reloads the page at a phone's width, saves it, and goes
// back to the desktop size.
func (b *browser) screenshotMobile(name string) {
	b.t.Helper()
	b.run("switch to mobile", func(ctx context.Context) error {
		return chromedp.Do(ctx,
			chromedp.EmulateViewport(mobileWidth, mobileHeight, chromedp.EmulateMobile),
			chromedp.Reload(),
		)
	})
	b.screenshot(name)
	b.run("switch to desktop", func(ctx context.Context) error {
		return chromedp.Do(ctx,
			chromedp.EmulateViewport(desktopWidth, desktopHeight),
			chromedp.Reload(),
		)
	})
}

// fullPagePNG captures the whole scrollable page as PNG. chromedp's
// FullScreenshot captures only the viewport, which would cut off a long
// page such as the dev mailbox, so this asks for the content size first
// and clips to it.
func fullPagePNG() chromedp.Action[[]byte] {
	return func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, fmt.Errorf("layout metrics: %w", err)
		}
		if m.CSSContentSize == nil {
			return nil, fmt.Errorf("layout metrics: no content size")
		}
		beyond := true
		shot, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format: page.CaptureScreenshotFormatPng,
			Clip: &page.Viewport{
				Width: m.CSSContentSize.Width, Height: m.CSSContentSize.Height, Scale: 1,
			},
			CaptureBeyondViewport: &beyond,
		})
		if err != nil {
			return nil, fmt.Errorf("capture: %w", err)
		}
		return shot.Data, nil
	}
}

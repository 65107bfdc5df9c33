package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
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
	b.expectText("main strong.address", addr)
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
	b.expectFocus("main .notice-error")
	b.expectValue("Email address", addr)
	b.screenshot("wrong-password")

	// Sign in with the right password.
	b.fill("Password", password)
	b.click("Sign in", 200)
	b.expectPage("/account", "Your account")
	b.expectText("main dl.details dd", addr)
	b.screenshot("signed-in")

	// The setup link is a link, for the phone that has the app.

	// Turn on two-step sign-in with a code made from the key on the page,
	// as an authenticator app would.
	b.click("Set up two-step sign-in", 200)
	b.expectPage("/account", "Your account")
	secret := b.text("main code.secret")
	if href := b.attr("main a.secret", "href"); !strings.HasPrefix(href, "otpauth://totp/") || !strings.Contains(href, "secret="+secret) {
		t.Fatalf("setup link %q", href)
	}
	b.fill("Code from the app", totpCode(t, secret, 0))
	b.fillIn("/account/mfa/enable", "Your password", password)
	b.click("Turn on two-step sign-in", 200)
	// The codes are on a page of their own, all of them in view without
	// scrolling, with ways to keep them.
	b.expectPage("/account/mfa/enable", "Save your recovery codes")
	b.expectText("main .notice-success", "Two-step sign-in is on. Save these recovery codes somewhere safe now: "+
		"each signs you in once if you lose your phone, and they will not be shown again.")
	b.expectInView("main ul.codes")
	b.expectInView("main a[download]")
	b.expectFocus("main h1")
	old := b.text("main ul.codes")
	b.screenshot("recovery-codes")
	b.screenshotAt("recovery-codes-mobile", mobileWidth, mobileHeight)
	b.expectInViewAt("main ul.codes", mobileWidth, mobileHeight)
	b.clickLink("I have saved them: go to my account", 200)
	b.expectPage("/account", "Your account")

	// New codes: a wrong password is refused and the error summary takes
	// the focus; the right one shows new codes, and the old ones are gone.
	b.fillIn("/account/mfa/recovery-codes", "Your password", "Analytical-engine-1842")
	b.click("Make new recovery codes", 401)
	b.expectFocus("main .error-summary")
	b.screenshot("error-summary")
	b.fillIn("/account/mfa/recovery-codes", "Your password", password)
	b.click("Make new recovery codes", 200)
	b.expectPage("/account/mfa/recovery-codes", "Save your recovery codes")
	b.expectInView("main ul.codes")
	if fresh := b.text("main ul.codes"); fresh == old || len(fresh) != len(old) {
		t.Fatalf("new codes %q, old %q", fresh, old)
	}
	b.clickLink("I have saved them: go to my account", 200)
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

// TestBrowserLinksAndLists drives Chromium through a sign-up whose
// "Choose your password" form is posted twice, the second post sent
// before the answer to the first reached the browser; a form error and
// where focus lands; the list of sessions at a phone's width; and a used
// sign-up link.
func TestBrowserLinksAndLists(t *testing.T) {
	chromium := findChromium(t)
	srv := startServer(t, "TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s")
	b := newBrowser(t, chromium, srv.URL)
	b.n = 20 // screenshots after those of TestBrowserSignUpAndSignIn

	const (
		addr     = "grace.hopper@example.com"
		password = "Compiler-A-0-of-1952"
	)
	b.open("/register")
	b.fill("Email address", addr)
	b.click("Continue", 200)
	b.openMail(addr, "/register/complete")
	b.clickMailLink(addr, "/register/complete", 200)
	b.expectPage("/register/complete", "Choose your password")
	b.expectText("main strong.address", addr)
	if n := b.count(`main input[autocomplete="username"]`); n != 1 || b.eval("is the username field hidden",
		`document.querySelector('main input[autocomplete="username"]').getBoundingClientRect().height !== 0`) {
		t.Fatalf("%d username fields, or one that shows", n)
	}
	link := b.location()

	// A server-side error: the summary takes the focus, so a screen
	// reader announces it.
	b.fill("Password", password)
	b.fill("Password again", password+"x")
	b.click("Create account", 422)
	b.expectFocus("main .error-summary")
	b.screenshot("choose-password-error")
	b.screenshotAt("choose-password-error-mobile", mobileWidth, mobileHeight)

	// The form posted twice: the first post makes the account, but its
	// answer never reaches the page (as when a second click cancels the
	// first navigation, so its cookie is never set); the second post,
	// with the same password, lands in the account.
	b.fill("Password", password)
	b.fill("Password again", password)
	b.dropNextAnswer("/register/complete")
	b.run("first post", func(ctx context.Context) error {
		return chromedp.Do(ctx, chromedp.Click(`//main//button[normalize-space()="Create account"]`))
	})
	b.waitDropped()
	b.expectPage("/register/complete", "Choose your password")
	b.click("Create account", 200) // the fields still hold the password
	b.expectPage("/account", "Your account")
	b.expectText("main dl.details dd", addr)

	// Another device signs in, so the list has a row with a button.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Client{Jar: jar}
	if code, body := postJSON(t, other, srv.URL+"/api/login", map[string]string{"email": addr, "password": password}); code != 200 {
		t.Fatalf("sign-in from another device: %d %s", code, body)
	}
	b.open("/account")
	b.screenshotAt("account-mobile", mobileWidth, mobileHeight)
	b.expectSessionsList()

	// The link, used, in a browser signed out: said at once.
	b.click("Sign out", 200)
	b.run("open the used link", func(ctx context.Context) error {
		return b.navigated(ctx, 400, chromedp.Navigate(link))
	})
	b.expectPage("/register/complete", "This link no longer works")
	if n := b.count("main input[type=password]"); n != 0 {
		t.Fatalf("the used link's page has %d password fields", n)
	}
	b.screenshot("used-link")
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
	// dropped reports that dropNextAnswer dropped an answer.
	dropped chan error
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

// clickLink follows the link with this text in the page's main part and
// checks the status of the page it leads to.
func (b *browser) clickLink(text string, status int64) {
	b.t.Helper()
	sel := fmt.Sprintf(`//main//a[normalize-space()=%q]`, text)
	b.run("follow "+text, func(ctx context.Context) error {
		return b.navigated(ctx, status, chromedp.Click(sel))
	})
}

// eval runs a script in the page and returns its boolean result.
func (b *browser) eval(step, js string) bool {
	b.t.Helper()
	var ok bool
	b.run(step, func(ctx context.Context) error {
		var err error
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		return err
	})
	return ok
}

// location is the address in the address bar.
func (b *browser) location() string {
	b.t.Helper()
	var loc string
	b.run("read location", func(ctx context.Context) error {
		var err error
		loc, err = chromedp.Run(ctx, chromedp.Location())
		return err
	})
	return loc
}

// attr returns an attribute of the element sel selects.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	var v string
	b.run("read "+name+" of "+sel, func(ctx context.Context) error {
		var err error
		v, err = chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).getAttribute(%q) || ""`, sel, name)))
		return err
	})
	return v
}

// count is how many elements sel selects.
func (b *browser) count(sel string) int {
	b.t.Helper()
	var n int
	b.run("count "+sel, func(ctx context.Context) error {
		var err error
		n, err = chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		return err
	})
	return n
}

// expectInView checks that the whole of the element sel selects is in the
// viewport as the page opened, without scrolling.
func (b *browser) expectInView(sel string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => {
		const r = document.querySelector(%q).getBoundingClientRect();
		return window.scrollY === 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;
	})()`, sel)
	if !b.eval("is "+sel+" in view", js) {
		b.t.Fatalf("%s is not wholly in view without scrolling", sel)
	}
}

// expectInViewAt is expectInView at another viewport size.
func (b *browser) expectInViewAt(sel string, width, height int64) {
	b.t.Helper()
	b.resize(width, height)
	defer b.resize(desktopWidth, desktopHeight)
	b.expectInView(sel)
}

// expectFocus checks that the element sel selects has the focus.
func (b *browser) expectFocus(sel string) {
	b.t.Helper()
	js := fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, sel)
	if !b.eval("is "+sel+" focused", js) {
		var got string
		b.run("read focus", func(ctx context.Context) error {
			var err error
			got, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML.slice(0, 120)`))
			return err
		})
		b.t.Fatalf("focus is on %s, want %s", got, sel)
	}
}

// expectSessionsList checks the session table at a phone's width: every
// row a block of its own, nothing wider than the screen, and each "Sign
// out" button on one line.
func (b *browser) expectSessionsList() {
	b.t.Helper()
	b.resize(mobileWidth, mobileHeight)
	defer b.resize(desktopWidth, desktopHeight)
	js := `(() => {
		const rows = [...document.querySelectorAll("table.sessions tbody tr")];
		const buttons = [...document.querySelectorAll("table.sessions button")];
		const line = parseFloat(getComputedStyle(document.body).lineHeight);
		return rows.length >= 2 && buttons.length >= 1 &&
			rows.every(r => getComputedStyle(r).display === "block") &&
			document.documentElement.scrollWidth <= window.innerWidth &&
			buttons.every(b => b.getBoundingClientRect().height < 2 * line + 16) &&
			getComputedStyle(document.querySelector("table.sessions thead")).position === "absolute";
	})()`
	if !b.eval("read the session list", js) {
		b.t.Fatal("at 390 px the sessions are not a list of one block per device within the screen")
	}
}

// resize sets the viewport, at a phone's width with a phone's touch and
// scale, without reloading: a reload would post a form again.
func (b *browser) resize(width, height int64) {
	b.t.Helper()
	b.run("resize", func(ctx context.Context) error {
		if width < desktopWidth {
			return chromedp.Do(ctx, chromedp.EmulateViewport(width, height, chromedp.EmulateMobile))
		}
		return chromedp.Do(ctx, chromedp.EmulateViewport(width, height))
	})
}

// screenshotAt saves the page as it is at another viewport size, without
// reloading it, and goes back to the desktop size.
func (b *browser) screenshotAt(name string, width, height int64) {
	b.t.Helper()
	b.resize(width, height)
	b.screenshot(name)
	b.resize(desktopWidth, desktopHeight)
}

// dropNextAnswer makes the browser lose the answer to its next POST to
// path: the server handles the request, and the page never sees the
// answer nor the session cookie it sets, as when a second click on the
// button, sent before the first answer came, cancels the first
// navigation. waitDropped waits until that happened.
func (b *browser) dropNextAnswer(path string) {
	b.t.Helper()
	b.dropped = make(chan error, 1)
	paused := make(chan fetch.RequestID, 1)
	b.run("intercept answers", func(ctx context.Context) error {
		if err := chromedp.Listen(b.ctx, func(ev any) {
			if e, ok := ev.(*fetch.EventRequestPaused); ok {
				select {
				case paused <- e.RequestID:
				default:
				}
			}
		}); err != nil {
			return err
		}
		return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{
				URLPattern: b.base + path + "*", RequestStage: fetch.RequestStageResponse,
			}}})
			return err
		}))
	})
	go func() {
		var id fetch.RequestID
		select {
		case id = <-paused:
		case <-time.After(stepTimeout):
			b.dropped <- fmt.Errorf("no answer to drop")
			return
		}
		b.dropped <- chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := cdp.Call(ctx, t, fetch.FailRequest, fetch.FailRequestParams{RequestID: id, ErrorReason: network.ErrorReasonAborted}); err != nil {
				return err
			}
			// Chromium keeps a cookie of an answer failed at this stage;
			// a browser whose second request left before the first
			// answer came has none.
			if _, err := cdp.Call(ctx, t, network.DeleteCookies, network.DeleteCookiesParams{Name: "tacit_session", URL: b.base}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, t, fetch.Disable, cdp.Empty{})
			return err
		}))
	}()
}

// waitDropped waits for the answer dropNextAnswer drops.
func (b *browser) waitDropped() {
	b.t.Helper()
	if err := <-b.dropped; err != nil {
		b.t.Fatalf("drop the answer: %v", err)
	}
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

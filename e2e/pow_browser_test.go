package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// defaultPowCost is flow.DefaultProofCost, the cost the browser measures.
const defaultPowCost = 100_000

// TestBrowserProofOfWork drives Chromium through a sign-up and a sign-in
// on a server that asks every request for the browser check
// (TACIT_POW=always) at the default cost: the page's worker solves the
// challenge and fills the hidden field, the status line says so without
// taking the focus, and the sign-up goes through. A sign-in sent before
// the check is done waits for it. It logs how long the worker took, and
// how long it takes for the whole range of the default cost (the figures
// in docs/BENCHMARKS.md).
func TestBrowserProofOfWork(t *testing.T) {
	chromium := findChromium(t)
	srv := startServer(t, "TACIT_HASH_MEMORY_KIB=64", "TACIT_HASH_TIME=1", "TACIT_ENVELOPE=0s", "TACIT_POW=always")
	b := newBrowser(t, chromium, srv.URL)

	const (
		addr     = "grace.hopper@example.com"
		password = "Compiler-A-0-1952"
	)
	b.open("/register")
	b.expectPage("/register", "Create an account")
	if got := b.attr("main [data-proof-status]", "aria-live"); got != "polite" {
		t.Fatalf("status line aria-live %q", got)
	}
	b.waitProof()
	b.expectText("main [data-proof-status]", "Browser check done.")
	if !b.eval("focus left alone", `document.activeElement === document.body`) {
		t.Fatal("the browser check moved the focus")
	}
	if !b.eval("field filled", `document.querySelector("input[name=altcha]").value.length > 100`) {
		t.Fatal("the hidden field is empty after the check")
	}
	took := b.attr("main [data-proof]", "data-proof-took")
	t.Logf("page's check at maxnumber %d: %s ms (a random number in the range)", defaultPowCost, took)
	b.fill("Email address", addr)
	b.click("Continue", 200)
	b.expectPage("/register/sent", "Check your inbox")

	b.openMail(addr, "/register/complete")
	b.clickMailLink(addr, "/register/complete", 200)
	b.fill("Password", password)
	b.fill("Password again", password)
	b.click("Create account", 200)
	b.expectPage("/account", "Your account")
	b.click("Sign out", 200)
	b.expectPage("/login", "Sign in")

	// Sent at once, before the check can be done: the form waits for
	// it, then goes.
	b.fill("Email address", addr)
	b.fill("Password", password)
	b.click("Sign in", 200)
	b.expectPage("/account", "Your account")

	// The whole range of the default cost, timed in the worker: the
	// most a browser can take, twice the average.
	b.open("/login")
	b.measureProof(t, 3)
}

// waitProof waits until the page's browser check has filled its field.
func (b *browser) waitProof() {
	b.t.Helper()
	// Longer than a step: a loaded machine may be slow to hash.
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitReady(`main [data-proof][data-proof-took]`)); err != nil {
		b.t.Fatalf("wait for the browser check: %v", err)
	}
}

// measureProof runs the page's worker n times on a challenge whose
// number is the default cost itself, so it hashes every number of the
// range, and logs each time.
func (b *browser) measureProof(t *testing.T, n int) {
	t.Helper()
	salt := "0123456789abcdef01234567?expires=9999999999"
	sum := sha256.Sum256([]byte(salt + strconv.Itoa(defaultPowCost)))
	js := fmt.Sprintf(`new Promise((resolve, reject) => {
		const w = new Worker(document.querySelector("[data-proof]").dataset.proofWorker);
		w.onmessage = (e) => { w.terminate(); e.data.number === %d ? resolve(e.data.took) : reject("number " + e.data.number); };
		w.onerror = (e) => reject(String(e.message));
		w.postMessage({challenge: %q, salt: %q, maxnumber: %d});
	})`, defaultPowCost, hex.EncodeToString(sum[:]), salt, defaultPowCost)
	for i := range n {
		ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			t.Fatalf("time the worker: %v", err)
		}
		t.Logf("worker, all %d numbers (run %d): %.0f ms", defaultPowCost+1, i+1, ms)
	}
}

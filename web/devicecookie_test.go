package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/testenv"
)

// lockAddresses fails sign-ins about each of emails in turn, waiting out
// each delay, until the addresses are locked.
func lockAddresses(t *testing.T, h *harness, emails ...string) {
	t.Helper()
	for range 20 {
		var r reply
		for _, e := range emails {
			r = h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": e, "password": wrongPassword}))
		}
		if r.StatusCode == http.StatusTooManyRequests {
			if r.Header.Get("Retry-After") == "900" {
				return
			}
			var secs int
			fmt.Sscan(r.Header.Get("Retry-After"), &secs)
			h.skew.Add(int64(time.Duration(secs) * time.Second))
		}
	}
	t.Fatalf("%v not locked after 20 failed sign-ins", emails)
}

// TestTrimKeepsLockHTTP, through the real server:
// lock an address, send 40 failed sign-ins for junk addresses, trim the
// counters to 20: the locked address is still locked, for the right
// password too, alike for an address with an account and one without.
func TestTrimKeepsLockHTTP(t *testing.T) {
	h := newHarness(t, options{frozen: true})
	existing, unknown := h.arranged(accountstate.Verified), h.arranged(accountstate.None)
	lockAddresses(t, h, existing, unknown)
	for i := range 40 {
		h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": fmt.Sprintf("junk%06d@example.com", i), "password": wrongPassword}))
	}
	now := time.Now().Add(time.Duration(h.skew.Load()))
	if left, err := h.store.TrimCounters(t.Context(), now, 20); err != nil || left < 2 {
		t.Fatalf("TrimCounters: %d, %v", left, err)
	}
	ra := h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": existing, "password": arrangedPassword}))
	rb := h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": unknown, "password": arrangedPassword}))
	sameResponse(t, "right password after a flood and a trim", ra, rb, existing, unknown)
	wantStatus(t, "right password after a flood and a trim", ra, 429, `{"error":"too_many_requests"}`)
}

// TestDeviceCookie: a browser that signed in before gets past a lock an
// outsider caused on its address, through its device cookie, which is a
// long-lived __Host- cookie; the same cookie is worth nothing for another
// address, and a forged one counts as none.
func TestDeviceCookie(t *testing.T) {
	h := newHarness(t, options{frozen: true, secure: true})
	email, other := h.arranged(accountstate.Verified), h.arranged(accountstate.Verified)
	owner := h.browser()
	r := owner.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword}))
	wantStatus(t, "owner's first sign-in", r, 200, "")
	dev := r.cookie("__Host-tacit_device")
	if dev == nil || !dev.HttpOnly || !dev.Secure || dev.Path != "/" || dev.Domain != "" || dev.MaxAge < 100*24*3600 || len(dev.Value) != 86 {
		t.Fatalf("device cookie %+v", dev)
	}
	// Failed sign-ins do not hand one out.
	if r := h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": wrongPassword})); r.cookie("__Host-tacit_device") != nil {
		t.Fatal("a failed sign-in set a device cookie")
	}
	// Signing out keeps it.
	owner.postJSON("/api/logout", "")
	if owner.jar["__Host-tacit_device"] == nil {
		t.Fatal("sign-out dropped the device cookie")
	}

	lockAddresses(t, h, email, other)
	r = owner.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword}))
	wantStatus(t, "owner's browser while an outsider locked the address", r, 200, "")
	if c := r.cookie("__Host-tacit_device"); c == nil || c.Value != dev.Value {
		t.Errorf("device cookie after a sign-in with it: %+v, want the same token again", c)
	}
	// The owner's device has its own failures: five wrong passwords,
	// then it waits like anyone.
	for i := range 5 {
		r = owner.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": wrongPassword}))
		wantStatus(t, fmt.Sprintf("owner's browser, wrong password %d", i+1), r, 401, "")
	}
	r = owner.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword}))
	wantStatus(t, "owner's browser after its own five failures", r, 429, "")

	// For another address the cookie is no help.
	b := h.browser()
	b.jar["__Host-tacit_device"] = dev
	r = b.postJSON("/api/login", jsonBody(map[string]string{"email": other, "password": arrangedPassword}))
	wantStatus(t, "another address's lock with this device cookie", r, 429, "")
	// Nor is a forged one.
	forged := *dev
	forged.Value = dev.Value[:40] + "A" + dev.Value[41:]
	if forged.Value == dev.Value {
		forged.Value = dev.Value[:40] + "B" + dev.Value[41:]
	}
	b.jar["__Host-tacit_device"] = &forged
	r = b.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword}))
	wantStatus(t, "forged device cookie", r, 429, "")
}

// TestMFALockUntilReset, through the real server: a
// thief with the password who keeps guessing codes, waiting out the
// hourly limit, is stopped for good at limit_mfa_lock wrong codes in a
// row (3 here); the owner is mailed; even the right code is refused, for
// hours, until a password reset, after which the owner signs in.
func TestMFALockUntilReset(t *testing.T) {
	limits := testenv.RoomyLimits()
	limits.MFALock = 3
	h := newHarness(t, options{limits: limits})
	email := h.arranged(accountstate.Verified)
	owner := h.browser()
	owner.signIn(email, arrangedPassword)
	secret, _ := enrolJSON(t, h, owner)
	h.deliver()
	for i := range 3 {
		b := passwordStep(t, h, email)
		wantStatus(t, fmt.Sprintf("wrong code %d", i+1), b.postJSON("/api/login/mfa", codeBody(h.code(secret, 10*time.Minute))), 401, "")
		h.skew.Add(int64(2 * time.Hour)) // past the hourly limit's window
	}
	b := passwordStep(t, h, email)
	r := b.postJSON("/api/login/mfa", codeBody(h.code(secret, 0)))
	wantStatus(t, "right code after the lock", r, 429, `{"error":"too_many_requests"}`)
	h.deliver()
	if s, text := newestMail(t, h, email); s != "Someone has your tacit password" || !strings.Contains(text, "paused until you reset your password") {
		t.Errorf("owner's newest mail %q:\n%s", s, text)
	}

	wantStatus(t, "forgot", h.browser().postJSON("/api/password/forgot", jsonBody(map[string]string{"email": email})), 202, "")
	h.deliver()
	token := mailboxLink(t, h, email, "/password/reset")
	wantStatus(t, "reset", owner.postJSON("/api/password/reset", jsonBody(map[string]string{"token": token, "password": newPassword, "password_confirm": newPassword})), 204, "")
	h.nextStep()
	r = owner.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": newPassword}))
	wantStatus(t, "password after the reset", r, 200, `{"status":"mfa_required"}`)
	wantStatus(t, "right code after the reset", owner.postJSON("/api/login/mfa", codeBody(h.code(secret, 0))), 200, `{"status":"signed_in"}`)
}

// TestDeviceCookieForms: the HTML sign-in and reset forms hand out the
// device cookie like the JSON API, and a locked address lets the browser
// that has it in through the form.
func TestDeviceCookieForms(t *testing.T) {
	h := newHarness(t, options{frozen: true})
	email := h.arranged(accountstate.Verified)
	b := h.browser()
	b.get("/login")
	r := b.postForm("/login", url.Values{"email": {email}, "password": {arrangedPassword}})
	wantRedirect(t, "form sign-in", r, "/account")
	if got := setCookieLine(t, r, h.ck.deviceName); got != "tacit_device=<value>; Path=/; Max-Age=15552000; HttpOnly; SameSite=Lax" {
		t.Errorf("device cookie of a form sign-in: %s", got)
	}
	lockAddresses(t, h, email)
	b.postForm("/logout", nil)
	b.get("/login")
	wantRedirect(t, "form sign-in while locked, with the device cookie", b.postForm("/login", url.Values{"email": {email}, "password": {arrangedPassword}}), "/account")

	wantStatus(t, "forgot", h.browser().postJSON("/api/password/forgot", jsonBody(map[string]string{"email": email})), 202, "")
	h.deliver()
	token := mailboxLink(t, h, email, "/password/reset")
	c := h.browser()
	c.get("/password/reset?token=" + token)
	r = c.postForm("/password/reset", url.Values{"token": {token}, "password": {newPassword}, "password_confirm": {newPassword}})
	wantRedirect(t, "form reset", r, "/password/reset/done")
	if r.cookie(h.ck.deviceName) == nil {
		t.Fatal("the reset form set no device cookie")
	}
	c.get("/login")
	wantRedirect(t, "form sign-in while locked, after a reset in this browser", c.postForm("/login", url.Values{"email": {email}, "password": {newPassword}}), "/account")
	d := h.browser()
	d.get("/login")
	if r := d.postForm("/login", url.Values{"email": {email}, "password": {newPassword}}); r.StatusCode != 429 {
		t.Errorf("form sign-in while locked from another browser: %d, want 429", r.StatusCode)
	}
}

// TestDeviceCookieDiesWithPassword is an attack, through the real server:
// a thief who once signed in with the password keeps its device cookie;
// the owner changes the password. With the address locked, the thief's
// old cookie no longer gets it a count of guesses of its own, while the
// browser that made the change got a new cookie that still does.
func TestDeviceCookieDiesWithPassword(t *testing.T) {
	change := map[string]func(b *browser) reply{
		"api": func(b *browser) reply {
			return b.postJSON("/api/password/change", jsonBody(map[string]string{
				"current_password": arrangedPassword, "password": newPassword, "password_confirm": newPassword,
			}))
		},
		"form": func(b *browser) reply {
			b.get("/account")
			return b.postForm("/account/password", url.Values{
				"current_password": {arrangedPassword}, "password": {newPassword}, "password_confirm": {newPassword},
			})
		},
	}
	for name, changePassword := range change {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, options{frozen: true, secure: true})
			email := h.arranged(accountstate.Verified)
			thief, owner := h.browser(), h.browser()
			thief.signIn(email, arrangedPassword)
			owner.signIn(email, arrangedPassword)
			old := owner.jar["__Host-tacit_device"]
			r := changePassword(owner)
			if r.StatusCode != 204 && r.StatusCode != 303 {
				t.Fatalf("owner's password change: %d %s", r.StatusCode, r.text())
			}
			lockAddresses(t, h, email)
			wantStatus(t, "thief's old device cookie after the change", thief.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": wrongPassword})), 429, "")
			if c := r.cookie("__Host-tacit_device"); c == nil || old == nil || c.Value == old.Value {
				t.Fatalf("device cookie of the password change: %+v, want a new one", c)
			}
			wantStatus(t, "owner's new device cookie", owner.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": newPassword})), 200, "")
		})
	}
}

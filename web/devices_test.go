package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

const (
	firefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	safariPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

// listSessions reads GET /api/sessions for b.
func listSessions(t *testing.T, b *browser) []sessionInfoJSON {
	t.Helper()
	r := b.get("/api/sessions")
	wantStatus(t, "list sessions", r, 200, "")
	var got sessionsBody
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	return got.Sessions
}

// signedIn returns a new browser with user agent ua, signed in as email.
func (h *harness) signedIn(email, ua string) *browser {
	b := h.browser()
	b.ua = ua
	b.signIn(email, arrangedPassword)
	return b
}

// TestSessionsAPI: list, end one, end all others.
func TestSessionsAPI(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	before := time.Now().Add(-time.Second)
	laptop, phone := h.signedIn(email, firefoxLinux), h.signedIn(email, safariPhone)

	r := laptop.get("/api/sessions")
	if !strings.HasPrefix(r.text(), `{"sessions":[{"id":`) {
		t.Errorf("sessions JSON: %s", r.text())
	}
	list := listSessions(t, laptop)
	if len(list) != 2 {
		t.Fatalf("%d sessions, want 2: %+v", len(list), list)
	}
	// Newest first: the phone signed in last.
	cur, other := list[1], list[0]
	if !cur.Current || other.Current || cur.UserAgent != firefoxLinux || other.UserAgent != safariPhone ||
		cur.IP != "127.0.0.1" || other.IP != "127.0.0.1" || cur.ID == other.ID {
		t.Fatalf("sessions %+v", list)
	}
	for _, s := range list {
		if s.CreatedAt.Before(before) || s.LastSeenAt.Before(s.CreatedAt) || !s.ExpiresAt.After(s.CreatedAt.Add(6*24*time.Hour)) {
			t.Errorf("session times %+v", s)
		}
	}
	if pl := listSessions(t, phone); len(pl) != 2 || !pl[0].Current || pl[1].Current {
		t.Errorf("the phone's view: %+v", pl)
	}

	// Another account's session id is answered alike and left alone.
	stranger := h.signedIn(h.arranged(accountstate.Verified), firefoxLinux)
	sid := listSessions(t, stranger)[0].ID
	wantStatus(t, "end a stranger's session", laptop.delete(fmt.Sprintf("/api/sessions/%d", sid)), 204, "")
	wantStatus(t, "stranger still signed in", stranger.get("/api/session"), 200, "")
	wantStatus(t, "end a session that does not exist", laptop.delete("/api/sessions/999999"), 204, "")
	wantStatus(t, "malformed id", laptop.delete("/api/sessions/abc"), 404, `{"error":"not_found","message":"There is no such session."}`)

	wantStatus(t, "end the phone", laptop.delete(fmt.Sprintf("/api/sessions/%d", other.ID)), 204, "")
	wantStatus(t, "phone after", phone.get("/api/session"), 401, `{"error":"unauthenticated"}`)
	if l := listSessions(t, laptop); len(l) != 1 || l[0].ID != cur.ID {
		t.Errorf("after ending the phone: %+v", l)
	}

	b3, b4 := h.signedIn(email, "three"), h.signedIn(email, "four")
	wantStatus(t, "end all others", laptop.delete("/api/sessions"), 204, "")
	for _, b := range []*browser{b3, b4} {
		wantStatus(t, "other device after", b.get("/api/session"), 401, "")
	}
	wantStatus(t, "this device after", laptop.get("/api/session"), 200, "")
	if l := listSessions(t, laptop); len(l) != 1 {
		t.Errorf("after ending all others: %+v", l)
	}

	// Ending the current session signs out and clears the cookie.
	r = laptop.delete(fmt.Sprintf("/api/sessions/%d", cur.ID))
	wantStatus(t, "end this session", r, 204, "")
	if c := r.cookie(h.ck.sessionName); c == nil || c.MaxAge >= 0 || laptop.session() != "" {
		t.Errorf("ending this session did not clear the cookie: %v", r.Header.Values("Set-Cookie"))
	}

	anon := h.browser()
	wantStatus(t, "list without a session", anon.get("/api/sessions"), 401, `{"error":"unauthenticated"}`)
	wantStatus(t, "end all without a session", anon.delete("/api/sessions"), 401, `{"error":"unauthenticated"}`)
	wantStatus(t, "end one without a session", anon.delete("/api/sessions/1"), 401, `{"error":"unauthenticated"}`)
}

// TestSessionsPage: the account page lists the devices and signs them out.
func TestSessionsPage(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	laptop, phone := h.signedIn(email, firefoxLinux), h.signedIn(email, safariPhone)
	tablet := h.signedIn(email, "")
	phoneID := listSessions(t, phone)[1].ID // newest first: tablet, phone, laptop
	if listSessions(t, phone)[1].UserAgent != safariPhone {
		t.Fatal("unexpected session order")
	}

	p := laptop.get("/account")
	wantStatus(t, "account", p, 200, "")
	for _, want := range []string{
		`<span title="` + firefoxLinux + `">Firefox on Linux</span> <strong class="tag">This device</strong>`,
		`>Safari on iPhone</span></td>`, `>Go program</span></td>`,
		`<button type="submit" name="session" value="` + fmt.Sprint(phoneID) + `"`,
		"Sign out all other devices", `<td data-label="IP address">127.0.0.1</td>`,
	} {
		if !strings.Contains(p.text(), want) {
			t.Errorf("account page lacks %s", want)
		}
	}
	if strings.Contains(p.text(), `id="ses-password"`) {
		t.Error("the account page asks for the password just after sign-in")
	}
	if n := strings.Count(p.text(), `name="session"`); n != 2 {
		t.Errorf("%d sign-out buttons, want 2 (not one for this device)", n)
	}

	wantRedirect(t, "end the phone", laptop.postForm("/account/sessions/end", url.Values{"session": {fmt.Sprint(phoneID)}}), "/account?done=session_ended")
	wantStatus(t, "phone after", phone.get("/api/session"), 401, "")
	wantStatus(t, "tablet still", tablet.get("/api/session"), 200, "")
	if p := laptop.get("/account?done=session_ended"); !strings.Contains(p.text(), "That device is signed out.") {
		t.Error("no notice after signing out a device")
	}
	if p := laptop.get("/account?done=<b>hi</b>"); strings.Contains(p.text(), "hi</b>") || strings.Contains(p.text(), "notice-success") {
		t.Error("the notice shows words from the link")
	}
	r := laptop.postForm("/account/sessions/end", url.Values{"session": {"x"}})
	wantStatus(t, "malformed id", r, 400, "")

	wantRedirect(t, "end the others", laptop.postForm("/account/sessions/end-others", url.Values{}), "/account?done=sessions_ended")
	wantStatus(t, "tablet after", tablet.get("/api/session"), 401, "")
	p = laptop.get("/account")
	if strings.Contains(p.text(), "Sign out all other devices") || strings.Contains(p.text(), `name="session"`) {
		t.Error("account page offers to sign out devices that are gone")
	}

	anon := h.browser()
	anon.get("/login")
	wantRedirect(t, "end others without a session", anon.postForm("/account/sessions/end-others", url.Values{}), "/login")
}

// TestEndingSessionsAsksPassword: once the sign-in is older than
// flow.FreshSignIn, ending another session, one or all, through the API
// or the account page, needs the password (ASVS 7.5.2): without it the
// answer says it is required, with a wrong one that it is wrong, and no
// session ends; signing this session out needs nothing.
func TestEndingSessionsAsksPassword(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	laptop, phone := h.signedIn(email, firefoxLinux), h.signedIn(email, safariPhone)
	phoneID := listSessions(t, laptop)[0].ID
	h.skew.Store(int64(flow.FreshSignIn))

	alive := func(what string) {
		t.Helper()
		wantStatus(t, what+": phone still signed in", phone.get("/api/session"), 200, "")
	}
	deleteJSON := func(b *browser, path, body string) reply {
		req := h.newRequest(http.MethodDelete, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return b.send(req)
	}
	const required = `{"error":"invalid_input","fields":{"password":"required"}}`
	for _, path := range []string{"/api/sessions", fmt.Sprintf("/api/sessions/%d", phoneID)} {
		wantStatus(t, "DELETE "+path+" without the password", laptop.delete(path), 422, required)
		alive("DELETE " + path + " without the password")
		r := deleteJSON(laptop, path, `{"password":"wrong password 1"}`)
		wantStatus(t, "DELETE "+path+" with a wrong password", r, 401, "")
		alive("DELETE " + path + " with a wrong password")
		wantStatus(t, "DELETE "+path+" with a body not JSON", deleteJSON(laptop, path, `password`), 400, "")
		alive("DELETE " + path + " with a body not JSON")
	}
	wantStatus(t, "end the phone with the password",
		deleteJSON(laptop, fmt.Sprintf("/api/sessions/%d", phoneID), `{"password":"`+arrangedPassword+`"}`), 204, "")
	wantStatus(t, "phone after", phone.get("/api/session"), 401, "")

	// The account page asks for it, and says what is wrong.
	phone = h.signedIn(email, safariPhone)
	tablet := h.signedIn(email, "tablet")
	h.skew.Store(int64(2 * flow.FreshSignIn)) // the new sessions too are old now
	p := laptop.get("/account")
	if !strings.Contains(p.text(), `id="ses-password"`) || !strings.Contains(p.text(), `formaction="/account/sessions/end-others"`) {
		t.Fatalf("the account page does not ask for the password to sign out devices:\n%s", p.text())
	}
	r := laptop.postForm("/account/sessions/end-others", url.Values{})
	wantStatus(t, "end the others without the password", r, 422, "")
	if !strings.Contains(r.text(), `id="ses-password-error"`) {
		t.Errorf("no error at the password field:\n%s", r.text())
	}
	alive("the page without the password")
	r = laptop.postForm("/account/sessions/end-others", url.Values{"password": {"wrong password 1"}})
	wantStatus(t, "end the others with a wrong password", r, 401, "")
	if !strings.Contains(r.text(), "This is not your password.") {
		t.Errorf("a wrong password is not said:\n%s", r.text())
	}
	alive("the page with a wrong password")
	r = laptop.postForm("/account/sessions/end", url.Values{"session": {fmt.Sprint(listSessions(t, tablet)[0].ID)}, "password": {"wrong password 1"}})
	wantStatus(t, "end one with a wrong password", r, 401, "")
	wantStatus(t, "tablet still", tablet.get("/api/session"), 200, "")
	wantRedirect(t, "end the others with the password",
		laptop.postForm("/account/sessions/end-others", url.Values{"password": {arrangedPassword}}), "/account?done=sessions_ended")
	wantStatus(t, "phone after the page", phone.get("/api/session"), 401, "")
	wantStatus(t, "tablet after the page", tablet.get("/api/session"), 401, "")

	// Signing this session out is not guarded.
	cur := listSessions(t, laptop)[0].ID
	wantStatus(t, "end this session", laptop.delete(fmt.Sprintf("/api/sessions/%d", cur)), 204, "")
}

// jsonFields is jsonBody with more members, written as JSON, added.
func jsonFields(fields map[string]string, more string) string {
	return strings.TrimSuffix(jsonBody(fields), "}") + "," + more + "}"
}

// TestChangePassword through the JSON API and the account page.
func TestChangePassword(t *testing.T) {
	h := newHarness(t, options{})
	change := func(b *browser, current, pw string, keep *bool) reply {
		body := map[string]any{"current_password": current, "password": pw, "password_confirm": pw}
		if keep != nil {
			body["keep_other_sessions"] = *keep
		}
		j, _ := json.Marshal(body)
		return b.postJSON("/api/password/change", string(j))
	}
	yes := true

	t.Run("JSON", func(t *testing.T) {
		h.t = t
		email := h.arranged(accountstate.Verified)
		b, other := h.signedIn(email, "a"), h.signedIn(email, "b")
		wantStatus(t, "no session", change(h.browser(), arrangedPassword, newPassword, nil), 401, `{"error":"unauthenticated"}`)
		wantStatus(t, "wrong current", change(b, wrongPassword, newPassword, nil), 401, `{"error":"invalid_credentials"}`)
		wantStatus(t, "empty current", change(b, "", newPassword, nil), 422, `{"error":"invalid_input","fields":{"current_password":"required"}}`)
		wantStatus(t, "too short", change(b, arrangedPassword, "short", nil), 422, `{"error":"invalid_input","fields":{"password":"too_short"}}`)
		wantStatus(t, "string flag", b.postJSON("/api/password/change", `{"end_other_sessions":"true"}`), 400,
			`{"error":"malformed_json","message":"The field \"end_other_sessions\" must be true or false."}`)
		wantStatus(t, "string keep flag", b.postJSON("/api/password/change", `{"keep_other_sessions":"true"}`), 400,
			`{"error":"malformed_json","message":"The field \"keep_other_sessions\" must be true or false."}`)
		wantStatus(t, "keep others", change(b, arrangedPassword, newPassword, &yes), 204, "")
		wantStatus(t, "other device kept", other.get("/api/session"), 200, "")
		// Ending the other sessions is the default: a stolen session does
		// not outlive the owner's password change.
		wantStatus(t, "end others by default", change(b, newPassword, newPassword+"!", nil), 204, "")
		wantStatus(t, "other device ended", other.get("/api/session"), 401, "")
		wantStatus(t, "this device kept", b.get("/api/session"), 200, "")
		if loginStatus(h, email, newPassword+"!") != 200 || loginStatus(h, email, newPassword) != 401 {
			t.Error("sign-in does not take exactly the newest password")
		}
		// keep_other_sessions false, and the opt-in of earlier versions
		// either way, end them too.
		cur := newPassword + "!"
		for i, body := range []string{`"keep_other_sessions":false`, `"end_other_sessions":true`, `"end_other_sessions":false`} {
			next := fmt.Sprintf("%s %d", newPassword, i)
			other := h.browser()
			other.signIn(email, cur)
			wantStatus(t, body, b.postJSON("/api/password/change", jsonFields(map[string]string{
				"current_password": cur, "password": next, "password_confirm": next,
			}, body)), 204, "")
			wantStatus(t, body+": other device", other.get("/api/session"), 401, "")
			cur = next
		}
		h.deliver()
		if s, _ := newestMail(t, h, email); s != "Your tacit password was changed" {
			t.Errorf("newest mail %q", s)
		}
	})

	t.Run("form", func(t *testing.T) {
		h.t = t
		email := h.arranged(accountstate.Verified)
		b, other := h.signedIn(email, "a"), h.signedIn(email, "b")
		b.get("/account")
		post := func(vals url.Values) reply { return b.postForm("/account/password", vals) }
		r := post(url.Values{"current_password": {wrongPassword}, "password": {newPassword}, "password_confirm": {newPassword}, "keep_other_sessions": {"on"}})
		wantStatus(t, "wrong current", r, 401, "")
		if !strings.Contains(r.text(), "This is not your current password.") || !strings.Contains(r.text(), `type="checkbox" value="on" checked`) {
			t.Errorf("wrong current password page:\n%s", r.text())
		}
		r = post(url.Values{"current_password": {""}, "password": {""}, "password_confirm": {""}})
		wantStatus(t, "empty", r, 422, "")
		if !strings.Contains(r.text(), "Enter your current password.") || !strings.Contains(r.text(), `href="#pw-current_password"`) {
			t.Errorf("empty form:\n%s", r.text())
		}
		if strings.Contains(r.text(), ` checked`) {
			t.Error("checkbox checked though it was not sent")
		}
		r = post(url.Values{"current_password": {arrangedPassword}, "password": {""}, "password_confirm": {""}})
		wantStatus(t, "no new password", r, 422, "")
		if !strings.Contains(r.text(), "Enter a new password.") || !strings.Contains(r.text(), `href="#pw-password"`) {
			t.Errorf("form without a new password:\n%s", r.text())
		}
		if p := b.get("/account"); !strings.Contains(p.text(), "Stay signed in on my other devices") {
			t.Error("the account page does not offer to keep the other devices")
		}
		r = post(url.Values{"current_password": {arrangedPassword}, "password": {newPassword}, "password_confirm": {newPassword}})
		wantRedirect(t, "change", r, "/account?done=password_changed_others")
		wantStatus(t, "other device", other.get("/api/session"), 401, "")
		if p := b.get("/account?done=password_changed_others"); !strings.Contains(p.text(), "Your password is changed, and your other devices are signed out.") {
			t.Error("no notice after the change")
		}
		third := h.browser()
		third.signIn(email, newPassword)
		wantRedirect(t, "change again, keeping the others", post(url.Values{"current_password": {newPassword}, "password": {arrangedPassword}, "password_confirm": {arrangedPassword}, "keep_other_sessions": {"on"}}), "/account?done=password_changed")
		wantStatus(t, "kept device", third.get("/api/session"), 200, "")

		anon := h.browser()
		anon.get("/login")
		wantRedirect(t, "no session", anon.postForm("/account/password", url.Values{"current_password": {arrangedPassword}}), "/login")
	})
}

// TestRemovingPasskeyAsksPassword: a session signed in long ago (a browser
// left open) removes a passkey only with the password, through the API and
// the account page; the passkey stays until then.
func TestRemovingPasskeyAsksPassword(t *testing.T) {
	h := newHarness(t, options{passkeys: true})
	email := h.arranged(accountstate.Verified)
	b := h.signedIn(email, firefoxLinux)
	b.addPasskey("laptop")
	var got struct {
		Passkeys []passkeyJSON `json:"passkeys"`
	}
	if err := json.Unmarshal(b.get("/api/passkeys").body, &got); err != nil || len(got.Passkeys) != 1 {
		t.Fatalf("passkeys: %v %+v", err, got)
	}
	list := got.Passkeys
	path := fmt.Sprintf("/api/passkeys/%d", list[0].ID)
	h.skew.Store(int64(flow.FreshSignIn))
	still := func(what string) {
		t.Helper()
		if !strings.Contains(b.get("/api/passkeys").text(), `"laptop"`) {
			t.Fatalf("%s removed the passkey", what)
		}
	}
	wantStatus(t, "DELETE without the password", b.delete(path), 422, `{"error":"invalid_input","fields":{"password":"required"}}`)
	still("DELETE without the password")
	req := h.newRequest(http.MethodDelete, path, strings.NewReader(`{"password":"wrong password 1"}`))
	req.Header.Set("Content-Type", "application/json")
	wantStatus(t, "DELETE with a wrong password", b.send(req), 401, "")
	still("DELETE with a wrong password")
	p := b.get("/account")
	if !strings.Contains(p.text(), fmt.Sprintf(`id="pk-remove-pw-%d"`, list[0].ID)) {
		t.Fatalf("the account page does not ask for the password to remove a passkey")
	}
	wantStatus(t, "remove form without the password", b.postForm("/account/passkeys/remove", url.Values{"passkey": {fmt.Sprint(list[0].ID)}}), 422, "")
	still("remove form without the password")
	r := b.postForm("/account/passkeys/remove", url.Values{"passkey": {fmt.Sprint(list[0].ID)}, "password": {arrangedPassword}})
	if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove form with the password: %d", r.StatusCode)
	}
	if strings.Contains(b.get("/api/passkeys").text(), `"laptop"`) {
		t.Error("the passkey is still there after removing it with the password")
	}
}

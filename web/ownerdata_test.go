package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
)

// TestDeleteAccountAPI: no session is 401 before anything; an empty
// password 422 and a wrong one 401, the session intact; the right one
// deletes the account (204), clears the cookie, ends every session and
// mails the confirmation.
func TestDeleteAccountAPI(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	b, other := h.browser(), h.browser()
	b.signIn(email, arrangedPassword)
	other.signIn(email, arrangedPassword)
	del := func(b *browser, pw string) reply {
		return b.postJSON("/api/account/delete", jsonBody(map[string]string{"password": pw}))
	}
	wantStatus(t, "no session", del(h.browser(), arrangedPassword), 401, `{"error":"unauthenticated"}`)
	wantStatus(t, "empty password", del(b, ""), 422, `{"error":"invalid_input","fields":{"password":"required"}}`)
	wantStatus(t, "wrong password", del(b, wrongPassword), 401, `{"error":"invalid_credentials"}`)
	wantStatus(t, "session after refusals", b.get("/api/session"), 200, "")

	r := del(b, arrangedPassword)
	wantStatus(t, "delete", r, 204, "")
	if c := r.cookie(h.ck.sessionName); c == nil || c.MaxAge >= 0 {
		t.Errorf("delete did not clear the session cookie: %v", r.Header["Set-Cookie"])
	}
	wantStatus(t, "other device", other.get("/api/session"), 401, `{"error":"unauthenticated"}`)
	wantStatus(t, "sign in", h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword})), 401, `{"error":"invalid_credentials"}`)
	h.deliver()
	if m := h.mailsTo(email); len(m) != 1 || !strings.Contains(m[0].Subject, "account was deleted") || !strings.Contains(m[0].Text, h.url+"/register") {
		t.Fatalf("mail after delete: %+v", m)
	}
}

// TestAccountData: the JSON API and the page's download give the
// account, its two-step sign-in and sessions, and no credential.
func TestAccountData(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	b := h.browser()
	wantStatus(t, "no session", b.get("/api/account/data"), 401, `{"error":"unauthenticated"}`)
	wantRedirect(t, "page without session", b.get("/account/data"), "/login")
	b.signIn(email, arrangedPassword)
	for _, path := range []string{"/api/account/data", "/account/data"} {
		r := b.get(path)
		wantStatus(t, path, r, 200, "")
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s headers: %v", path, r.Header)
		}
		if got, want := r.Header.Get("Content-Disposition") != "", path == "/account/data"; got != want {
			t.Errorf("%s: Content-Disposition %q", path, r.Header.Get("Content-Disposition"))
		}
		var d flow.OwnerData
		if err := json.Unmarshal(r.body, &d); err != nil {
			t.Fatal(err)
		}
		if d.Account.Email != email || len(d.Sessions) != 1 || !d.Sessions[0].Current || d.TwoStep.Enabled {
			t.Errorf("%s = %s", path, r.text())
		}
		for _, secret := range []string{"argon2id", b.session(), "token", "hash"} {
			if strings.Contains(r.text(), secret) {
				t.Errorf("%s holds %q: %s", path, secret, r.text())
			}
		}
	}
}

// TestDeleteAccountPage: the account page offers the download and the
// deletion; a wrong password shows the form again with the error; the
// right one goes to the page that says it is done, signed out.
func TestDeleteAccountPage(t *testing.T) {
	h := newHarness(t, options{})
	email := h.arranged(accountstate.Verified)
	b := h.browser()
	b.signIn(email, arrangedPassword)
	page := b.get("/account")
	for _, want := range []string{`href="/account/data"`, "Download my data", `action="/account/delete"`, "Delete my account"} {
		if !strings.Contains(page.text(), want) {
			t.Errorf("account page lacks %s", want)
		}
	}
	r := b.postForm("/account/delete", url.Values{"password": {wrongPassword}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.text(), "This is not your password.") {
		t.Fatalf("wrong password: %d %s", r.StatusCode, r.text())
	}
	wantRedirect(t, "delete", b.postForm("/account/delete", url.Values{"password": {arrangedPassword}}), "/account/deleted")
	if b.session() != "" {
		t.Error("the session cookie outlived the account")
	}
	if r := b.get("/account/deleted"); r.StatusCode != 200 || !strings.Contains(r.text(), "Account deleted") {
		t.Fatalf("deleted page: %d %s", r.StatusCode, r.text())
	}
	wantRedirect(t, "account page after", b.get("/account"), "/login")
}

// jsonTime matches a time in a JSON answer.
var jsonTime = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"`)

// TestSignUpAgainAfterDelete is the whole way back for an address whose
// account its owner deleted, compared response by response with an
// address that never had one: sign-up, the mailed link's page, choosing
// a password, signing in. Every answer must be the same.
func TestSignUpAgainAfterDelete(t *testing.T) {
	for _, mode := range []flow.Mode{flow.EmailFirst, flow.FullForm} {
		t.Run(string(mode), func(t *testing.T) {
			h := newHarness(t, options{mode: mode})
			deleted, fresh := newAddress(), newAddress()
			if err := accountstate.Arrange(t.Context(), h.store, h.hasher, accountstate.Verified, deleted, arrangedPassword); err != nil {
				t.Fatal(err)
			}
			owner := h.browser()
			owner.signIn(deleted, arrangedPassword)
			var before sessionBody
			if err := json.Unmarshal(owner.get("/api/session").body, &before); err != nil {
				t.Fatal(err)
			}
			oldID := before.Account.ID
			wantStatus(t, "delete", owner.postJSON("/api/account/delete", jsonBody(map[string]string{"password": arrangedPassword})), 204, "")
			h.deliver()

			bd, bf := h.browser(), h.browser()
			// masks are what differs between any two addresses by
			// design: the address, the mailed token, the account's ID.
			masks := map[string]map[string]string{deleted: {deleted: "<email>"}, fresh: {fresh: "<email>"}}
			step := func(what string, run func(b *browser, email string) reply) (reply, reply) {
				t.Helper()
				rd, rf := run(bd, deleted), run(bf, fresh)
				// The two accounts are made a moment apart, perhaps
				// on either side of a second.
				sd := normalise(rd.Response, jsonTime.ReplaceAll(rd.body, []byte(`"<time>"`)), masks[deleted])
				sf := normalise(rf.Response, jsonTime.ReplaceAll(rf.body, []byte(`"<time>"`)), masks[fresh])
				if d := diffSnapshots(sd, sf); d != "" {
					t.Errorf("%s: responses differ (- once deleted, + never had an account):\n%s", what, d)
				}
				return rd, rf
			}
			step("register", func(b *browser, email string) reply {
				return b.postJSON("/api/register", jsonBody(h.registerFields(email)))
			})
			h.deliver()
			path, kind := "/register/complete", "Finish signing up"
			if mode == flow.FullForm {
				path, kind = "/verify", "Confirm"
			}
			for _, e := range []string{deleted, fresh} {
				if m := h.mailsTo(e); len(m) == 0 || !strings.HasPrefix(m[0].Subject, kind) {
					t.Fatalf("%s got %+v, want %q", e, m, kind)
				}
			}
			tokens := map[string]string{deleted: mailboxLink(t, h, deleted, path), fresh: mailboxLink(t, h, fresh, path)}
			for e, tok := range tokens {
				masks[e][tok] = "<token>"
			}
			step("link page", func(b *browser, email string) reply { return b.get(path + "?token=" + tokens[email]) })
			if mode == flow.FullForm {
				step("verify", func(b *browser, email string) reply {
					return b.postJSON("/api/verify", jsonBody(map[string]string{"token": tokens[email], "password": chosenPassword}))
				})
			} else {
				step("complete", func(b *browser, email string) reply {
					return b.postJSON("/api/register/complete", jsonBody(map[string]string{"token": tokens[email], "password": chosenPassword, "password_confirm": chosenPassword}))
				})
			}
			// The new accounts' IDs: none is the deleted account's, which
			// an application may have keyed its own data by.
			ids := map[string]int64{}
			for e, b := range map[string]*browser{deleted: bd, fresh: bf} {
				var got sessionBody
				if err := json.Unmarshal(b.get("/api/session").body, &got); err != nil {
					t.Fatal(err)
				}
				ids[e] = got.Account.ID
				masks[e][`"id":`+jsonNumber(got.Account.ID)] = `"id":<id>`
			}
			if ids[deleted] <= oldID || ids[fresh] <= oldID {
				t.Errorf("new accounts have IDs %v; the deleted account had %d, and no ID may be given twice", ids, oldID)
			}
			step("session", func(b *browser, email string) reply { return b.get("/api/session") })
			step("sign in", func(b *browser, email string) reply {
				return h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": chosenPassword}))
			})
			step("old password", func(b *browser, email string) reply {
				return h.browser().postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword}))
			})
		})
	}
}

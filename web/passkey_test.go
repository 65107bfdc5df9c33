package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/internal/passkeytest"
	"github.com/tacitauth/tacit/internal/testenv"
	"github.com/tacitauth/tacit/sqlite"
)

// authenticator returns the software authenticator of h's origin.
func (h *harness) authenticator() *passkeytest.Authenticator {
	return &passkeytest.Authenticator{Origin: h.url}
}

// withCredential wraps a browser's answer as the API takes it.
func withCredential(extra map[string]string, cred []byte) string {
	m := map[string]any{"credential": json.RawMessage(cred)}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// addPasskey adds a passkey to b's account through the API.
func (b *browser) addPasskey(name string) *passkeytest.Passkey {
	b.h.t.Helper()
	r := b.postJSON("/api/passkeys/options", `{}`)
	if r.StatusCode != http.StatusOK {
		b.h.t.Fatalf("passkey options: %d %s", r.StatusCode, r.text())
	}
	cred, p, err := b.h.authenticator().Create(r.body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	r = b.postJSON("/api/passkeys", withCredential(map[string]string{"name": name}, cred))
	if r.StatusCode != http.StatusNoContent {
		b.h.t.Fatalf("add passkey: %d %s", r.StatusCode, r.text())
	}
	return p
}

// passkeyLogin signs b in with p, no address typed, and returns the
// answer to the assertion.
func (b *browser) passkeyLogin(p *passkeytest.Passkey, tweak passkeytest.Tweak) reply {
	b.h.t.Helper()
	r := b.postJSON("/api/passkey/login/options", "")
	if r.StatusCode != http.StatusOK {
		b.h.t.Fatalf("login options: %d %s", r.StatusCode, r.text())
	}
	cred, err := b.h.authenticator().Get(r.body, p, tweak)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return b.postJSON("/api/passkey/login", withCredential(nil, cred))
}

func TestPasskeyAPI(t *testing.T) {
	h := newHarness(t, options{passkeys: true})
	email := h.arranged(accountstate.Verified)
	b := h.browser()
	b.signIn(email, arrangedPassword)
	p := b.addPasskey("laptop")

	r := b.get("/api/passkeys")
	var list struct {
		Passkeys []passkeyJSON `json:"passkeys"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil || len(list.Passkeys) != 1 || list.Passkeys[0].Name != "laptop" || list.Passkeys[0].LastUsedAt != nil {
		t.Fatalf("list = %s, %v", r.text(), err)
	}
	id := list.Passkeys[0].ID
	h.deliver()
	if ms := h.mailsTo(email); len(ms) == 0 || !strings.Contains(ms[0].Subject, "passkey was added") {
		t.Errorf("no added mail: %+v", ms)
	}

	// A new browser signs in with it, no address typed.
	other := h.browser()
	r = other.passkeyLogin(p, passkeytest.Honest)
	if r.StatusCode != http.StatusOK || r.text() != `{"status":"signed_in"}`+"\n" || other.session() == "" {
		t.Fatalf("passkey login = %d %q", r.StatusCode, r.text())
	}
	// The ceremony's cookie is spent.
	if c := r.cookie(h.ck.passkeyName); c == nil || c.MaxAge >= 0 {
		t.Errorf("passkey cookie not cleared: %+v", r.Cookies())
	}

	// The password now leads to a second step, which the passkey passes.
	third := h.browser()
	r = third.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword}))
	if r.text() != `{"status":"mfa_required"}`+"\n" {
		t.Fatalf("password with a passkey = %s", r.text())
	}
	r = third.postJSON("/api/login/mfa/passkey/options", "")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.text(), `"allowCredentials":[{"type":"public-key","id":"`) {
		t.Fatalf("second step options = %d %s", r.StatusCode, r.text())
	}
	cred, _ := h.authenticator().Get(r.body, p, passkeytest.Honest)
	r = third.postJSON("/api/login/mfa/passkey", withCredential(nil, cred))
	if r.StatusCode != http.StatusOK || third.session() == "" {
		t.Fatalf("second step = %d %s", r.StatusCode, r.text())
	}

	// Rename, bad input, remove.
	req := h.newRequest(http.MethodPatch, fmt.Sprintf("/api/passkeys/%d", id), strings.NewReader(`{"name":"work"}`))
	req.Header.Set("Content-Type", "application/json")
	if r := b.send(req); r.StatusCode != http.StatusNoContent {
		t.Errorf("rename = %d %s", r.StatusCode, r.text())
	}
	for path, body := range map[string]string{
		"/api/passkeys":                  `{"name":"x","credential":"not an object"}`,
		"/api/passkey/login":             `{"credential":[]}`,
		"/api/login/mfa/passkey":         `{"credential":{},"extra":1}`,
		"/api/passkey/login/options":     `{"email":"a@example.com"}`,
		"/api/passkeys/options?x=1":      `{"password":1}`,
		"/api/login/mfa/passkey/options": `x`,
	} {
		if r := b.postJSON(path, body); r.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s %s = %d %s", path, body, r.StatusCode, r.text())
		}
	}
	if r := b.delete(fmt.Sprintf("/api/passkeys/%d", id+1000)); r.StatusCode != http.StatusNotFound {
		t.Errorf("remove unknown = %d", r.StatusCode)
	}
	if r := b.delete(fmt.Sprintf("/api/passkeys/%d", id)); r.StatusCode != http.StatusNoContent {
		t.Errorf("remove = %d %s", r.StatusCode, r.text())
	}
	if r := h.browser().passkeyLogin(p, passkeytest.Honest); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("removed passkey signs in: %d", r.StatusCode)
	}
	if r := h.browser().get("/api/passkeys"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("list without a session = %d", r.StatusCode)
	}
}

// challengeJSON is the random challenge of a ceremony's options.
var challengeJSON = regexp.MustCompile(`"challenge":"[A-Za-z0-9_-]+"`)

// TestPasskeyEndpointsUniform: an outsider's requests to every passkey
// endpoint that needs no session get one answer, whatever the state of
// the account behind the credential or address they use: with a
// passkey (answered with a bad signature), with a passkey but disabled
// (answered correctly), without a passkey, no account at all (an
// unknown credential), a replayed challenge. Full responses compared,
// the challenge masked.
func TestPasskeyEndpointsUniform(t *testing.T) {
	h := newHarness(t, options{passkeys: true})
	ctx := context.Background()
	type attempt struct {
		name string
		run  func() snapshot
	}
	snap := func(r reply) snapshot {
		return normalise(r.Response, []byte(challengeJSON.ReplaceAllString(r.text(), `"challenge":"<challenge>"`)), nil)
	}
	var attempts []attempt
	for _, s := range accountstate.All {
		email := h.arranged(s)
		cred := passkeytest.Stranger("localhost")
		tweak := passkeytest.Honest
		if s == accountstate.PasskeyEnabled {
			cred, tweak = accountstate.Passkey(email), passkeytest.BadSignature
		}
		if s == accountstate.Disabled {
			if err := h.store.Update(ctx, func(tx tacit.Tx) error {
				a, err := tx.AccountByEmail(ctx, email)
				if err != nil {
					return err
				}
				return accountstate.AddPasskey(ctx, tx, a, a.CreatedAt)
			}); err != nil {
				t.Fatal(err)
			}
			cred = accountstate.Passkey(email)
		}
		attempts = append(attempts,
			attempt{string(s) + "/login", func() snapshot { return snap(h.browser().passkeyLogin(cred, tweak)) }},
			attempt{string(s) + "/options", func() snapshot { return snap(h.browser().postJSON("/api/passkey/login/options", "")) }},
			// The second step after a wrong password: no second step.
			attempt{string(s) + "/second_step_options", func() snapshot {
				b := h.browser()
				b.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": "not the password"}))
				return snap(b.postJSON("/api/login/mfa/passkey/options", ""))
			}},
			attempt{string(s) + "/second_step", func() snapshot {
				b := h.browser()
				b.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": "not the password"}))
				r := b.postJSON("/api/passkey/login/options", "")
				answer, _ := h.authenticator().Get(r.body, cred, passkeytest.Honest)
				return snap(b.postJSON("/api/login/mfa/passkey", withCredential(nil, answer)))
			}},
		)
	}
	// A replayed challenge: a ceremony answered twice.
	arrangedKey := accountstate.Passkey(h.arranged(accountstate.PasskeyEnabled))
	attempts = append(attempts, attempt{"replayed/login", func() snapshot {
		b := h.browser()
		r := b.postJSON("/api/passkey/login/options", "")
		cookie := r.cookie(h.ck.passkeyName)
		answer, _ := h.authenticator().Get(r.body, arrangedKey, passkeytest.Honest)
		if r := b.postJSON("/api/passkey/login", withCredential(nil, answer)); r.StatusCode != http.StatusOK {
			t.Fatalf("first answer = %d", r.StatusCode)
		}
		return snap(h.postJSON("/api/passkey/login", withCredential(nil, answer), cookie))
	}})

	got := map[string]snapshot{}
	for _, a := range attempts {
		got[a.name] = a.run()
	}
	for _, a := range attempts {
		kind := a.name[strings.Index(a.name, "/"):]
		want := got[string(accountstate.None)+kind]
		if !reflect.DeepEqual(got[a.name], want) {
			t.Errorf("%s answers\n%+v\nbut %s%s answers\n%+v", a.name, got[a.name], accountstate.None, kind, want)
		}
	}
	if w := got["none/login"]; w.Status != http.StatusUnauthorized || w.Body != `{"error":"invalid_credentials"}`+"\n" {
		t.Errorf("login failure = %+v", w)
	}
	if w := got["none/options"]; w.Status != http.StatusOK || !strings.Contains(w.Body, `"publicKey":{"challenge":"<challenge>"`) || strings.Contains(w.Body, "allowCredentials") {
		t.Errorf("options = %+v", w)
	}
}

// TestPasskeyAccountPage: the account page lists passkeys and renames
// and removes them with plain forms; the sign-in page offers passkeys to
// the script and to autofill.
func TestPasskeyAccountPage(t *testing.T) {
	h := newHarness(t, options{passkeys: true})
	email := h.arranged(accountstate.Verified)
	b := h.browser()
	b.signIn(email, arrangedPassword)
	b.addPasskey("laptop")
	page := b.get("/account").text()
	for _, want := range []string{"laptop", `action="/account/passkeys/rename"`, `data-passkey-add hidden`} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q", want)
		}
	}
	id := regexp.MustCompile(`name="passkey" value="(\d+)"`).FindStringSubmatch(page)
	if id == nil {
		t.Fatal("no passkey id on the page")
	}
	r := b.postForm("/account/passkeys/rename", map[string][]string{"passkey": {id[1]}, "name": {"desk"}})
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(b.get("/account").text(), "desk") {
		t.Errorf("rename form = %d", r.StatusCode)
	}
	r = b.postForm("/account/passkeys/remove", map[string][]string{"passkey": {id[1]}})
	if r.StatusCode != http.StatusSeeOther || strings.Contains(b.get("/account").text(), "desk") {
		t.Errorf("remove form = %d", r.StatusCode)
	}
	login := h.browser().get("/login").text()
	if !strings.Contains(login, `autocomplete="username webauthn"`) || !strings.Contains(login, "data-passkey-login") {
		t.Errorf("sign-in page does not offer passkeys:\n%s", login)
	}
	// Without passkeys (an IP address in the base URL), nothing is offered.
	plain := newHarness(t, options{}).browser().get("/login").text()
	if strings.Contains(plain, "webauthn") || strings.Contains(plain, "data-passkey") {
		t.Errorf("sign-in page offers passkeys on a server without them")
	}
}

// TestPasskeyOptionsFlood: each passkey sign-in begun stores a ceremony
// for five minutes, so a flood of them from one client is held back by
// the limit_passkey_ip rule: past its free calls every answer is the same
// 429 with Retry-After, and stores nothing. The table holds as many
// ceremonies as answers carried one.
func TestPasskeyOptionsFlood(t *testing.T) {
	limits := testenv.RoomyLimits()
	limits.PasskeyIP = flow.DefaultLimits().PasskeyIP
	h := newHarness(t, options{passkeys: true, limits: limits, frozen: true})
	const calls = 150
	var ok, held int
	var first429 *reply
	for range calls {
		r := h.browser().postJSON("/api/passkey/login/options", "")
		switch r.StatusCode {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			held++
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("429 without Retry-After: %v", r.Header)
			}
			if first429 == nil {
				first429 = &r
			} else if r.text() != first429.text() {
				t.Errorf("429 bodies differ: %s and %s", r.text(), first429.text())
			}
		default:
			t.Fatalf("options: %d %s", r.StatusCode, r.text())
		}
	}
	if ok != limits.PasskeyIP.Free || held != calls-ok {
		t.Errorf("%d answers with a ceremony and %d held back, want %d and %d", ok, held, limits.PasskeyIP.Free, calls-limits.PasskeyIP.Free)
	}
	snap, err := sqlite.OpenSnapshot(context.Background(), h.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	rows, err := snap.Rows(context.Background(), "passkey_challenges")
	if err != nil {
		t.Fatal(err)
	}
	if rows != int64(ok) {
		t.Errorf("%d ceremonies stored after %d calls, %d of them answered with one", rows, calls, ok)
	}
}

// TestPasskeyCeremonyFloodSignedIn: adding a passkey and the second
// step's options store a ceremony each too, so they count under the same
// limit_passkey_ip rule as the sign-in's options: a fresh session (anyone
// can sign up for one) or a holder of the password calling them in a
// loop is answered 429 with Retry-After past the free calls.
func TestPasskeyCeremonyFloodSignedIn(t *testing.T) {
	limits := testenv.RoomyLimits()
	limits.PasskeyIP = flow.Limit{Free: 4, Delay: time.Hour, MaxDelay: time.Hour, Window: time.Hour}
	h := newHarness(t, options{passkeys: true, limits: limits, frozen: true})
	email := h.arranged(accountstate.Verified)
	b := h.browser()
	b.signIn(email, arrangedPassword)
	b.addPasskey("laptop") // one ceremony
	second := h.browser()
	if r := second.postJSON("/api/login", jsonBody(map[string]string{"email": email, "password": arrangedPassword})); r.text() != `{"status":"mfa_required"}`+"\n" {
		t.Fatalf("password with a passkey = %s", r.text())
	}
	calls := []func() reply{
		func() reply { return b.postJSON("/api/passkeys/options", `{}`) },
		func() reply { return second.postJSON("/api/login/mfa/passkey/options", "") },
	}
	for i := range 3 {
		if r := calls[i%2](); r.StatusCode != http.StatusOK {
			t.Fatalf("call %d within the free ones: %d %s", i+2, r.StatusCode, r.text())
		}
	}
	for i := range 4 {
		r := calls[i%2]()
		if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Errorf("call %d past the free ones: %d %v %s", i+5, r.StatusCode, r.Header, r.text())
		}
	}
}

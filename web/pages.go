package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// loginFailed is the one message for every failed sign-in, whatever the
// cause (docs/DESIGN.md §2).
const loginFailed = "Email or password is incorrect. If you signed up recently, confirm your address first."

func handleHome(svc *flow.Service, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := page{Title: "Welcome"}
		id, ok, err := identify(r, svc, v.ck)
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		if ok {
			p.Email = id.Account.Email
		}
		v.render(w, r, http.StatusOK, "home", p)
	})
}

// registerPage is the sign-up form in the service's mode.
func registerPage(svc *flow.Service) page {
	p := page{Title: "Create an account", FullForm: svc.Mode() == flow.FullForm, Order: []string{"email"}}
	if p.FullForm {
		p.Order = append(p.Order, "password", "password_confirm")
		p.Hints = map[string]string{"password": passwordHint(svc.Policy())}
	}
	return p
}

func handleRegisterForm(svc *flow.Service, v *views) http.Handler {
	return staticPage(v, "register", registerPage(svc))
}

// handleRegister starts a sign-up.
func handleRegister(svc *flow.Service, v *views) http.Handler {
	return mailingForm(svc, v, "register", registerPage(svc), "/register/sent",
		func(r *http.Request, f url.Values) (tacit.Outcome, error) {
			return svc.Register(r.Context(), flow.RegisterInput{
				Email: f.Get("email"), Password: f.Get("password"), PasswordConfirm: f.Get("password_confirm"),
			}, clientOf(r))
		})
}

// handleSent is the "check your inbox" page shown after every valid sign-up
// or resend request, whoever the address belongs to.
func handleSent(v *views) http.Handler {
	return staticPage(v, "sent", page{Title: "Check your inbox"})
}

// completePage is the choose-a-password form for a mailed sign-up token.
func completePage(svc *flow.Service, token string) page {
	return page{
		Title: "Choose your password", Token: token,
		Order: []string{"password", "password_confirm"},
		Hints: map[string]string{"password": passwordHint(svc.Policy())},
	}
}

// handleCompleteForm shows the form for the token in the link, with the
// address it is for. A dead link says so at once, before anyone types a
// password for nothing; one that just made an account, followed by a
// browser signed in to that account, leads to the account.
func handleCompleteForm(svc *flow.Service, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		addr, live := svc.CompleteAddress(r.Context(), tok)
		if !live {
			v.signupLinkDead(w, r, svc, addr)
			return
		}
		p := completePage(svc, tok)
		p.Address = addr
		v.render(w, r, http.StatusOK, "complete", p)
	})
}

func handleComplete(svc *flow.Service, s sessions, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		tok := f.Get("token")
		o, err := svc.CompleteSignup(r.Context(), flow.CompleteInput{
			Token: tok, Password: f.Get("password"), PasswordConfirm: f.Get("password_confirm"),
		}, clientOf(r))
		if err == nil && o.Session != nil {
			s.start(w, r, o.Session)
			seeOther(w, r, "/account")
			return
		}
		addr, live := svc.CompleteAddress(r.Context(), tok)
		if err == nil && o.Kind == tacit.InvalidToken {
			v.signupLinkDead(w, r, svc, addr)
			return
		}
		p := completePage(svc, tok)
		if live {
			p.Address = addr
		}
		v.formOutcome(w, r, p, "complete", svc.Policy(), o, err)
	})
}

// signupLinkDead answers a sign-up link that is malformed, used or
// expired, with the ways on. When the link made an account moments ago
// (used is its address) and this browser is signed in to that account,
// as after a form posted twice, it goes to the account instead.
func (v *views) signupLinkDead(w http.ResponseWriter, r *http.Request, svc *flow.Service, used string) {
	if used != "" {
		id, ok, err := identify(r, svc, v.ck)
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		if ok && id.Account.Email == used {
			seeOther(w, r, "/account")
			return
		}
	}
	v.render(w, r, statusFor(tacit.InvalidToken), "signup_expired", page{Title: "This link no longer works"})
}

// verifyPage is the form that confirms a full-form sign-up: the password
// chosen at sign-up, which proves the follower of the link is who signed
// up. email fills a hidden username field for password managers.
func verifyPage(token, email string) page {
	return page{
		Title: "Confirm your address", Token: token, Order: []string{"password"},
		Values:  map[string]string{"email": email},
		Wording: map[string]string{"password:" + tacit.CodeRequired: "Enter the password you chose when you signed up."},
	}
}

// handleVerifyForm shows the form that confirms the address. Following a
// link must never confirm by itself: mail scanners fetch links in mail.
func handleVerifyForm(svc *flow.Service, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		addr := svc.SignupAddress(r.Context(), tok)
		if addr == "" {
			// Used, expired or never sent: said at once, before anyone
			// types a password for nothing.
			v.signupLinkDead(w, r, svc, "")
			return
		}
		v.render(w, r, http.StatusOK, "verify", verifyPage(tok, addr))
	})
}

func handleVerify(svc *flow.Service, s sessions, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		tok := f.Get("token")
		o, err := svc.Verify(r.Context(), flow.VerifyInput{Token: tok, Password: f.Get("password")}, clientOf(r))
		if err == nil && o.Session != nil {
			s.start(w, r, o.Session)
			seeOther(w, r, "/account")
			return
		}
		p := verifyPage(tok, f.Get("email"))
		if o.Kind == tacit.InvalidCredentials {
			p.Errors = map[string]string{"password": "This is not the password you chose when you signed up."}
		}
		v.formOutcome(w, r, p, "verify", svc.Policy(), o, err)
	})
}

func resendPage() page {
	return page{Title: "Send the link again", Order: []string{"email"}}
}

func handleResendForm(v *views) http.Handler {
	return staticPage(v, "resend", resendPage())
}

func handleResend(svc *flow.Service, v *views) http.Handler {
	return mailingForm(svc, v, "resend", resendPage(), "/verify/sent",
		func(r *http.Request, f url.Values) (tacit.Outcome, error) {
			return svc.ResendVerification(r.Context(), f.Get("email"), clientOf(r))
		})
}

func loginPage() page {
	return page{Title: "Sign in", Order: []string{"email", "password"}}
}

func handleLoginForm(v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := loginPage()
		p.Next = localPath(r.URL.Query().Get("next"))
		v.render(w, r, http.StatusOK, "login", p)
	})
}

// localPath returns next if it is a path on this host ("/orders?id=7"),
// else "". Only such a path may follow sign-in: anything that could name
// another host ("//evil.example", "/\\evil.example", "https://…") would
// make the sign-in page an open redirect.
func localPath(next string) string {
	if len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	if strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

func handleLogin(svc *flow.Service, s sessions, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		email := f.Get("email")
		o, err := svc.Login(r.Context(), email, f.Get("password"), clientOf(r))
		next := localPath(f.Get("next"))
		if err == nil && o.Session != nil {
			s.start(w, r, o.Session)
			s.ck.keepDevice(w, o)
			seeOther(w, r, cmp.Or(next, "/account"))
			return
		}
		if err == nil && o.Kind == tacit.MFARequired {
			// Reached only after a correct password; the MFA step has
			// its own page, which the challenge cookie unlocks.
			s.ck.setMFA(w, o.Challenge.Token)
			to := "/login/mfa"
			if next != "" {
				to += "?" + url.Values{"next": {next}}.Encode()
			}
			seeOther(w, r, to)
			return
		}
		p := loginPage()
		p.Next = next
		p.Values = map[string]string{"email": email}
		if o.Kind == tacit.InvalidCredentials {
			p.Message = loginFailed
		}
		v.formOutcome(w, r, p, "login", svc.Policy(), o, err)
	})
}

// staticPage always shows the page p, as the template name renders it.
func staticPage(v *views, name string, p page) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.render(w, r, http.StatusOK, name, p)
	})
}

// formPost reads a posted form, answering one that is unreadable, too
// large or without a valid CSRF token itself, and runs handle with the
// form's values.
func formPost(v *views, handle func(w http.ResponseWriter, r *http.Request, f url.Values)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := v.readForm(w, r)
		if !ok {
			return
		}
		handle(w, r, f)
	})
}

// mailingForm answers the post of a form whose flow mails the address in
// its email field (sign-up, resending the link, a forgotten password):
// run runs the flow. Every valid address is sent to the same page, sent,
// by the same redirect, whether or not it has an account; any other
// outcome shows the form p again with the address filled in.
func mailingForm(svc *flow.Service, v *views, name string, p page, sent string,
	run func(r *http.Request, f url.Values) (tacit.Outcome, error)) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		o, err := run(r, f)
		if err == nil && o.Kind == tacit.CheckInbox {
			seeOther(w, r, sent)
			return
		}
		again := p // a copy: p serves every request
		again.Values = map[string]string{"email": f.Get("email")}
		v.formOutcome(w, r, again, name, svc.Policy(), o, err)
	})
}

// formOutcome answers a form post whose flow did not succeed: the form again
// with what to fix (Invalid, InvalidCredentials, Throttled), or a page for
// the other failures. Its status is the JSON API's, from statusFor.
func (v *views) formOutcome(w http.ResponseWriter, r *http.Request, p page, name string, pol tacit.PasswordPolicy, o tacit.Outcome, err error) {
	v.formOutcomeIn(w, r, &p, &p, name, pol, o, err)
}

// formOutcomeIn is formOutcome for a page with several forms: form is the
// part of p that posted, where errors and messages go.
func (v *views) formOutcomeIn(w http.ResponseWriter, r *http.Request, p, form *page, name string, pol tacit.PasswordPolicy, o tacit.Outcome, err error) {
	status := statusFor(o.Kind)
	switch {
	case err != nil:
		v.internalError(w, r, err)
	case status == 0:
		v.internalError(w, r, fmt.Errorf("flow returned unknown outcome %q", o.Kind))
	case o.Kind == tacit.Invalid:
		form.Errors = fieldMessages(o.Fields, pol, form.Wording)
		v.render(w, r, status, name, *p)
	case o.Kind == tacit.InvalidCredentials:
		v.render(w, r, status, name, *p)
	case o.Kind == tacit.InvalidToken && name == "verify":
		v.signupLinkDead(w, r, nil, "")
	case o.Kind == tacit.InvalidToken:
		v.invalidLink(w, r)
	case o.Kind == tacit.Throttled:
		// The form again, so the user can simply try later; the wait is
		// the flow's, alike for every address.
		setRetryAfter(w, o.RetryAfter)
		form.Message = throttledMessage(o.RetryAfter)
		v.render(w, r, status, name, *p)
	case o.Kind == tacit.Unauthenticated:
		seeOther(w, r, "/login")
	default:
		v.internalError(w, r, fmt.Errorf("form cannot show outcome %q", o.Kind))
	}
}

// throttledMessage tells a held-back user how long to wait, in the seconds
// of the Retry-After header.
func throttledMessage(d time.Duration) string {
	n := retryAfterSeconds(d)
	if n == 1 {
		return "Too many attempts. Try again in 1 second."
	}
	return fmt.Sprintf("Too many attempts. Try again in %d seconds.", n)
}

// invalidLink answers a mailed link that is malformed, used or expired.
func (v *views) invalidLink(w http.ResponseWriter, r *http.Request) {
	v.errorPage(w, r, statusFor(tacit.InvalidToken), "This link does not work",
		"The link is incomplete, has expired or was already used. Copy the whole link from the mail, or start again to get a new one.")
}

func handleLogoutForm(v *views) http.Handler {
	return staticPage(v, "logout", page{Title: "Sign out"})
}

func handleLogout(s sessions, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		if err := s.end(w, r); err != nil {
			v.internalError(w, r, err)
			return
		}
		seeOther(w, r, "/login")
	})
}

// handleNotFound answers every request no route claims: 405 with Allow
// when the path exists for other methods, else 404; JSON under /api/, a
// page elsewhere.
func handleNotFound(mux *http.ServeMux, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r); allow != "" {
			w.Header().Set("Allow", allow)
			if isAPI(r) {
				encodeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use "+allow+" for this endpoint.")
				return
			}
			v.errorPage(w, r, http.StatusMethodNotAllowed, "Method not allowed",
				"This page cannot be used that way. Go to the start page and follow the links from there.")
			return
		}
		if isAPI(r) {
			encodeError(w, http.StatusNotFound, "not_found", "There is no such endpoint.")
			return
		}
		v.errorPage(w, r, http.StatusNotFound, "Page not found",
			"There is no page at this address. Check the address, or go to the start page.")
	})
}

// allowedMethods lists the methods that do have a route for r's path, as
// for an Allow header; "" when there are none. The catch-all route "/"
// does not count.
func allowedMethods(mux *http.ServeMux, r *http.Request) string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// handleStyle serves the stylesheet. Its URL carries a content hash, so it
// may be cached for a year.
func handleStyle() http.Handler {
	return staticFile("text/css; charset=utf-8", styleCSS)
}

// handleScript serves the script, cached as the stylesheet is.
func handleScript() http.Handler {
	return staticFile("text/javascript; charset=utf-8", scriptJS)
}

// staticFile serves an embedded file whose URL carries a content hash, so
// it may be cached for a year.
func staticFile(contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
}

package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// loginFailed is the one message for every failed sign-in, whatever the
// cause (docs/DESIGN.md §2).
const loginFailed = "Email or password is incorrect. If you signed up recently, confirm your address first."

func handleHome(svc *flow.Service, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := &frame{page: "home", Title: "Welcome"}
		id, ok, err := identify(r, svc, v.ck)
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		if ok {
			p.SignedInAs = id.Account.Email
		}
		v.render(w, r, http.StatusOK, p)
	})
}

// formPage is a page with one form and nothing else (resend, forgot).
type formPage struct {
	frame
	Form form
}

// registerPage is the sign-up form.
type registerPage struct {
	frame
	Form     form
	FullForm bool // ask for a password too
}

// newRegisterPage is the sign-up form in the service's mode.
func newRegisterPage(svc *flow.Service) *registerPage {
	p := &registerPage{frame: frame{page: "register", Title: "Create an account"},
		FullForm: svc.Mode() == flow.FullForm, Form: form{Order: []string{"email"}}}
	if p.FullForm {
		p.Form.Order = append(p.Form.Order, "password", "password_confirm")
		p.Form.Hints = map[string]string{"password": passwordHint(svc.Policy())}
	}
	return p
}

// handleRegisterForm shows the sign-up form. With next (an OpenID Connect
// request with prompt=create) the browser remembers it for after the
// sign-up (setSignupNext); with email (its login_hint) the address is
// filled in, as given, never looked up.
func handleRegisterForm(svc *flow.Service, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if next := localPath(q.Get("next")); next != "" {
			v.ck.setSignupNext(w, next)
		}
		p := newRegisterPage(svc)
		if email := q.Get("email"); email != "" && len(email) <= 320 {
			p.Form.Values = map[string]string{"email": email}
		}
		if err := attachProof(r, svc, flow.GateRequests, &p.Form); err != nil {
			v.internalError(w, r, err)
			return
		}
		v.render(w, r, http.StatusOK, p)
	})
}

// proofPage shows the form build makes, with a browser check when
// requests of gate from this client need one.
func proofPage(svc *flow.Service, v *views, g flow.ProofGate, build func() (pageData, *form)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, f := build()
		if err := attachProof(r, svc, g, f); err != nil {
			v.internalError(w, r, err)
			return
		}
		v.render(w, r, http.StatusOK, p)
	})
}

// proofClient is the client of a form post, with the solution of its
// browser check.
func proofClient(r *http.Request, f url.Values) flow.Client {
	c := clientOf(r)
	c.Proof = f.Get(proofField)
	return c
}

// handleRegister starts a sign-up.
func handleRegister(svc *flow.Service, v *views) http.Handler {
	return mailingForm(svc, v, "/register/sent",
		func() (pageData, *form) { p := newRegisterPage(svc); return p, &p.Form },
		func(r *http.Request, f url.Values) (tacit.Outcome, error) {
			return svc.Register(r.Context(), flow.RegisterInput{
				Email: f.Get("email"), Password: f.Get("password"), PasswordConfirm: f.Get("password_confirm"),
			}, proofClient(r, f))
		})
}

// handleSent is the "check your inbox" page shown after every valid sign-up
// or resend request, whoever the address belongs to.
func handleSent(v *views) http.Handler {
	return staticPage(v, plain("sent", "Check your inbox"))
}

// linkPage is a form reached by a link in mail (complete, verify, reset,
// email confirm): the mailed token goes back in a hidden field.
type linkPage struct {
	frame
	Form  form
	Token string
	// Address is the address the link is about, shown on the page and
	// in a hidden username field for password managers. The link's
	// holder reads it in their own mailbox: showing it tells them
	// nothing new.
	Address string
}

// newCompletePage is the choose-a-password form for a mailed sign-up
// token.
func newCompletePage(svc *flow.Service, token string) *linkPage {
	return &linkPage{
		frame: frame{page: "complete", Title: "Choose your password"}, Token: token,
		Form: form{
			Order: []string{"password", "password_confirm"},
			Hints: map[string]string{"password": passwordHint(svc.Policy())},
		},
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
		p := newCompletePage(svc, tok)
		p.Address = addr
		v.render(w, r, http.StatusOK, p)
	})
}

func handleComplete(svc *flow.Service, s sessions, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		tok := f.Get("token")
		o, err := svc.CompleteSignup(r.Context(), flow.CompleteInput{
			Token: tok, Password: f.Get("password"), PasswordConfirm: f.Get("password_confirm"),
		}, clientOf(r))
		v.answer(w, r, o, err, formAnswer{
			signIn: &s, policy: svc.Policy(), next: v.takeSignupNext(w, r, o),
			again: func() (pageData, *form, error) {
				p := newCompletePage(svc, tok)
				if addr, live := svc.CompleteAddress(r.Context(), tok); live {
					p.Address = addr
				}
				return p, &p.Form, nil
			},
			linkDead: func(w http.ResponseWriter, r *http.Request) {
				addr, _ := svc.CompleteAddress(r.Context(), tok)
				v.signupLinkDead(w, r, svc, addr)
			},
		})
	})
}

// takeSignupNext returns where a completed sign-up goes on to, if this
// browser started it with a next (handleRegisterForm), and forgets it
// once the sign-up signed in; "" goes to the account page.
func (v *views) takeSignupNext(w http.ResponseWriter, r *http.Request, o tacit.Outcome) string {
	next := v.ck.signupNext(r)
	if next != "" && (o.Kind == tacit.SignedIn || o.Kind == tacit.AccountCreated || o.Kind == tacit.MFARequired) {
		v.ck.clear(w, v.ck.signupName)
	}
	return next
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
	v.render(w, r, statusFor(tacit.InvalidToken), &frame{page: "signup_expired", Title: "This link no longer works"})
}

// newVerifyPage is the form that confirms a full-form sign-up: the
// password chosen at sign-up, which proves the follower of the link is
// who signed up.
func newVerifyPage(token, email string) *linkPage {
	return &linkPage{
		frame: frame{page: "verify", Title: "Confirm your address"}, Token: token, Address: email,
		Form: form{
			Order:   []string{"password"},
			Wording: map[string]string{"password:" + tacit.CodeRequired: "Enter the password you chose when you signed up."},
		},
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
		v.render(w, r, http.StatusOK, newVerifyPage(tok, addr))
	})
}

func handleVerify(svc *flow.Service, s sessions, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		tok := f.Get("token")
		o, err := svc.Verify(r.Context(), flow.VerifyInput{Token: tok, Password: f.Get("password")}, clientOf(r))
		p := newVerifyPage(tok, f.Get("email"))
		v.answer(w, r, o, err, formAnswer{
			signIn: &s, policy: svc.Policy(), again: built(p, &p.Form), next: v.takeSignupNext(w, r, o),
			refused:  refusal{"password", "This is not the password you chose when you signed up."},
			linkDead: func(w http.ResponseWriter, r *http.Request) { v.signupLinkDead(w, r, nil, "") },
		})
	})
}

func newResendPage() (pageData, *form) {
	p := &formPage{frame: frame{page: "resend", Title: "Send the link again"}, Form: form{Order: []string{"email"}}}
	return p, &p.Form
}

func handleResendForm(svc *flow.Service, v *views) http.Handler {
	return proofPage(svc, v, flow.GateRequests, newResendPage)
}

func handleResend(svc *flow.Service, v *views) http.Handler {
	return mailingForm(svc, v, "/verify/sent", newResendPage,
		func(r *http.Request, f url.Values) (tacit.Outcome, error) {
			return svc.ResendVerification(r.Context(), f.Get("email"), proofClient(r, f))
		})
}

// loginPage is the sign-in form.
type loginPage struct {
	frame
	Form form
	Next string // where to go once signed in (a local path), in a hidden field
	// TwoStep says the site the browser came from asks for a sign-in
	// with two factors (forward auth's mfa rule, need=two-step).
	TwoStep bool
}

func newLoginPage(next string) *loginPage {
	return &loginPage{frame: frame{page: "login", Title: "Sign in"}, Form: form{Order: []string{"email", "password"}}, Next: next}
}

func handleLoginForm(svc *flow.Service, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p := newLoginPage(v.returnTarget(r, nextOf(q)))
		p.TwoStep = q.Get("need") == "two-step"
		// An address to fill in (an OpenID Connect login_hint): shown
		// as given, never looked up.
		if email := q.Get("email"); email != "" && len(email) <= 320 {
			p.Form.Values = map[string]string{"email": email}
		}
		if err := attachProof(r, svc, flow.GateLogin, &p.Form); err != nil {
			v.internalError(w, r, err)
			return
		}
		v.render(w, r, http.StatusOK, p)
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

// nextOf returns where sign-in should lead: next, or rd as Authelia and
// the proxies set up for it name it.
func nextOf(q url.Values) string {
	if n := q.Get("next"); n != "" {
		return n
	}
	return q.Get("rd")
}

// returnTarget returns next if sign-in may lead there, else "": a path on
// this host, or an absolute URL on a host forward auth lets through (see
// forwardAuth.mayReturnTo).
func (v *views) returnTarget(r *http.Request, next string) string {
	if p := localPath(next); p != "" || !strings.Contains(next, "://") {
		return p
	}
	if len(next) > 2048 || strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || !v.fa.mayReturnTo(u, r.Host) {
		return ""
	}
	return u.String()
}

func handleLogin(svc *flow.Service, s sessions, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		email := f.Get("email")
		o, err := svc.Login(r.Context(), email, f.Get("password"), proofClient(r, f))
		a := loginAnswer(s, svc.Policy(), v.returnTarget(r, nextOf(f)), email)
		a.svc, a.gate = svc, flow.GateLogin
		v.answer(w, r, o, err, a)
	})
}

// loginAnswer answers a sign-in form post. A correct password leads to
// next, or to the second step when MFA is on; a failure shows the form
// again with the address filled in.
func loginAnswer(s sessions, pol tacit.PasswordPolicy, next, email string) formAnswer {
	p := newLoginPage(next)
	p.Form.Values = map[string]string{"email": email}
	return formAnswer{again: built(p, &p.Form), policy: pol, refused: refusal{text: loginFailed}, signIn: &s, next: next}
}

// staticPage always shows the page build makes.
func staticPage(v *views, build func() pageData) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.render(w, r, http.StatusOK, build())
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
// outcome shows the form build makes again, with the address filled in.
func mailingForm(svc *flow.Service, v *views, sent string, build func() (pageData, *form),
	run func(r *http.Request, f url.Values) (tacit.Outcome, error)) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		o, err := run(r, f)
		v.answer(w, r, o, err, formAnswer{done: sent, policy: svc.Policy(), svc: svc, gate: flow.GateRequests,
			again: func() (pageData, *form, error) {
				p, form := build()
				form.Values = map[string]string{"email": f.Get("email")}
				return p, form, nil
			}})
	})
}

// invalidLink answers a mailed link that is malformed, used or expired.
func (v *views) invalidLink(w http.ResponseWriter, r *http.Request) {
	v.errorPage(w, r, statusFor(tacit.InvalidToken), "This link does not work",
		"The link is incomplete, has expired or was already used. Copy the whole link from the mail, or start again to get a new one.")
}

func handleLogoutForm(v *views) http.Handler {
	return staticPage(v, plain("logout", "Sign out"))
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

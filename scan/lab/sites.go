package lab

import (
	"html"
	"net/http"
	"strings"
	"sync"
)

// Site is a lab application that imitates a framework's account pages:
// its cookie, field and path names, its CSRF tokens and hidden fields, and
// one leak that framework is known for. Discovery must find its forms
// from Start, and the scan must recognise Framework and find Want.
type Site struct {
	Fixture
	// Framework is the name the scan's framework detection must give.
	Framework string
	// Start is the path discovery starts from.
	Start string
	// Forms are the forms discovery must find, as "kind path" in target
	// order (sign-in, sign-up, reset).
	Forms []string
	// Advice is a phrase the framework-specific fix of the finding must
	// contain.
	Advice string
}

// KnownPassword is the password of Known on the sites that let it sign
// in (site-allauth, login-password), for checks that the target reaches
// the sign-in.
const KnownPassword = "correct horse battery staple"

// Sites returns the framework imitations: django-allauth, Devise and
// WordPress.
func Sites() []Site {
	return []Site{
		{Fixture: Fixture{Name: "site-allauth", Want: "USER_ENUM_PASSWORD_RESET",
			About: "django-allauth without ACCOUNT_PREVENT_ENUMERATION: the reset form says the address is not assigned to any account; CSRF token bound to the csrftoken cookie",
			New:   newAllauth, target: allauthTarget},
			Framework: "django-allauth", Start: "/", Advice: "ACCOUNT_PREVENT_ENUMERATION",
			Forms: []string{"login /accounts/login/", "register /accounts/signup/", "reset /accounts/password/reset/"}},
		{Fixture: Fixture{Name: "site-devise", Want: "USER_ENUM_PASSWORD_RESET",
			About: "Rails and Devise without config.paranoid: the reset form says \"Email not found\"; authenticity_token per page, bound to the session cookie",
			New:   newDevise, target: deviseTarget},
			Framework: "Rails (Devise)", Start: "/", Advice: "config.paranoid = true",
			Forms: []string{"login /users/sign_in", "register /users", "reset /users/password"}},
		{Fixture: Fixture{Name: "site-wordpress", Want: "USER_ENUM_RESPONSE_CONTENT",
			About: "WordPress's wp-login.php: sign-in says whether the address is registered; no CSRF token, a test cookie and static hidden fields",
			New:   newWordPress, target: wordpressTarget},
			Framework: "WordPress", Start: "/", Advice: "login_errors",
			Forms: []string{"login /wp-login.php", "register /wp-login.php?action=register", "reset /wp-login.php?action=lostpassword"}},
	}
}

// sessions maps a session cookie's value to the CSRF token issued with it.
type sessions struct {
	mu     sync.Mutex
	tokens map[string]string
}

// issue returns the session of the request, or a new one set on w, and a
// fresh CSRF token bound to it (Rails: one per page; Django: one per
// session, reused).
func (s *sessions) issue(w http.ResponseWriter, r *http.Request, cookie string, perPage bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string]string{}
	}
	var sid string
	if c, err := r.Cookie(cookie); err == nil && s.tokens[c.Value] != "" {
		sid = c.Value
	} else {
		sid = token(16)
		http.SetCookie(w, &http.Cookie{Name: cookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	if perPage || s.tokens[sid] == "" {
		s.tokens[sid] = token(16)
	}
	return s.tokens[sid]
}

// check reports whether the request's form carries the token of its
// session.
func (s *sessions) check(r *http.Request, cookie, field string) bool {
	c, err := r.Cookie(cookie)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want := s.tokens[c.Value]
	return want != "" && r.PostFormValue(field) == want
}

// links is a home page's navigation: the account links among others, so
// discovery must pick them.
func links(account string) string {
	var b strings.Builder
	b.WriteString("<nav>" + account + "</nav>\n<form method=\"get\" action=\"/search\"><input type=\"search\" name=\"q\"><button>Search</button></form>\n<ul>\n")
	for _, p := range []string{"about", "blog/1", "blog/2", "blog/3", "contact", "pricing"} {
		b.WriteString(`<li><a href="/` + p + `">` + p + "</a></li>\n")
	}
	b.WriteString("</ul>")
	return b.String()
}

// allauthEmailError is Django's error for an address field, or "".
func allauthEmailError(v string) string {
	switch {
	case strings.TrimSpace(v) == "":
		return "This field is required."
	case !validEmail(v):
		return "Enter a valid email address."
	}
	return ""
}

// allauthTarget is the hand-written target of site-allauth.
const allauthTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: login
    kind: login
    path: /accounts/login/
    form: {csrfmiddlewaretoken: "{{csrf}}", login: "{{identifier}}", password: "{{password}}"}
    before: [{path: /accounts/login/, extract: {csrf: {input: csrfmiddlewaretoken}}}]
  - name: signup
    kind: register
    path: /accounts/signup/
    form: {csrfmiddlewaretoken: "{{csrf}}", email: "{{identifier}}", password1: "{{password}}", password2: "{{password}}"}
    before: [{path: /accounts/signup/, extract: {csrf: {input: csrfmiddlewaretoken}}}]
  - name: reset
    kind: reset
    path: /accounts/password/reset/
    form: {csrfmiddlewaretoken: "{{csrf}}", email: "{{identifier}}"}
    before: [{path: /accounts/password/reset/, extract: {csrf: {input: csrfmiddlewaretoken}}}]
`

func newAllauth() http.Handler {
	var s sessions
	mux := http.NewServeMux()
	csrf := func(w http.ResponseWriter, r *http.Request) string {
		return `<input type="hidden" name="csrfmiddlewaretoken" value="` + s.issue(w, r, "csrftoken", false) + `">`
	}
	form := func(w http.ResponseWriter, r *http.Request, title, action, fields, extra, errText string) {
		msg := ""
		if errText != "" {
			msg = `<ul class="errorlist"><li>` + html.EscapeString(errText) + "</li></ul>\n"
		}
		writeHTML(w, http.StatusOK, page(title, "<h1>"+title+"</h1>\n"+msg+`<form class="login" method="post" action="`+action+`">`+"\n"+csrf(w, r)+"\n"+fields+"\n</form>\n"+extra))
	}
	forbidden := func(w http.ResponseWriter) {
		writeHTML(w, http.StatusForbidden, page("403 Forbidden", "<h1>Forbidden (403)</h1><p>CSRF verification failed. Request aborted.</p>"))
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeHTML(w, http.StatusOK, page("Lab shop", links(`<a href="/accounts/login/">Sign In</a> <a href="/accounts/signup/">Sign Up</a>`)))
	})
	loginFields := `<p><label for="id_login">Email:</label> <input type="email" name="login" placeholder="Email address" autocomplete="email" required id="id_login"></p>
<p><label for="id_password">Password:</label> <input type="password" name="password" placeholder="Password" autocomplete="current-password" required id="id_password"></p>
<p><label for="id_remember">Remember Me:</label> <input type="checkbox" name="remember" id="id_remember"></p>
<input type="hidden" name="next" value="/">
<a href="/accounts/password/reset/">Forgot Password?</a>
<button class="primaryAction" type="submit">Sign In</button>`
	mux.HandleFunc("GET /accounts/login/", func(w http.ResponseWriter, r *http.Request) {
		form(w, r, "Sign In", "", loginFields, `<p>If you have not created an account yet, then please <a href="/accounts/signup/">sign up</a> first.</p>`, "")
	})
	mux.HandleFunc("POST /accounts/login/", func(w http.ResponseWriter, r *http.Request) {
		if !s.check(r, "csrftoken", "csrfmiddlewaretoken") {
			forbidden(w)
			return
		}
		// allauth's forms validate the address first, as Django's
		// EmailField does.
		if msg := allauthEmailError(r.PostFormValue("login")); msg != "" {
			form(w, r, "Sign In", "", loginFields, "", msg)
			return
		}
		if exists(r.PostFormValue("login")) && r.PostFormValue("password") == KnownPassword {
			http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: token(16), Path: "/", HttpOnly: true})
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		form(w, r, "Sign In", "", loginFields, "", "The email address and/or password you specified are not correct.")
	})
	signupFields := `<p><label for="id_email">Email:</label> <input type="email" name="email" required id="id_email"></p>
<p><label for="id_password1">Password:</label> <input type="password" name="password1" required id="id_password1"></p>
<p><label for="id_password2">Password (again):</label> <input type="password" name="password2" required id="id_password2"></p>
<button type="submit">Sign Up &raquo;</button>`
	mux.HandleFunc("GET /accounts/signup/", func(w http.ResponseWriter, r *http.Request) {
		form(w, r, "Sign Up", "/accounts/signup/", signupFields, `<p>Already have an account? Then please <a href="/accounts/login/">sign in</a>.</p>`, "")
	})
	mux.HandleFunc("POST /accounts/signup/", func(w http.ResponseWriter, r *http.Request) {
		if !s.check(r, "csrftoken", "csrfmiddlewaretoken") {
			forbidden(w)
			return
		}
		if msg := allauthEmailError(r.PostFormValue("email")); msg != "" {
			form(w, r, "Sign Up", "/accounts/signup/", signupFields, "", msg)
			return
		}
		http.Redirect(w, r, "/accounts/confirm-email/", http.StatusFound)
	})
	resetFields := `<p><label for="id_email">Email:</label> <input type="email" name="email" required id="id_email"></p>
<input class="primaryAction" type="submit" value="Reset My Password">`
	mux.HandleFunc("GET /accounts/password/reset/", func(w http.ResponseWriter, r *http.Request) {
		form(w, r, "Password Reset", "/accounts/password/reset/", resetFields, "", "")
	})
	mux.HandleFunc("POST /accounts/password/reset/", func(w http.ResponseWriter, r *http.Request) {
		if !s.check(r, "csrftoken", "csrfmiddlewaretoken") {
			forbidden(w)
			return
		}
		if exists(r.PostFormValue("email")) {
			http.Redirect(w, r, "/accounts/password/reset/done/", http.StatusFound)
			return
		}
		form(w, r, "Password Reset", "/accounts/password/reset/", resetFields, "", "The email address is not assigned to any user account.")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		writeHTML(w, http.StatusOK, page("Lab shop", "<p>An article.</p>"))
	})
	return mux
}

// deviseTarget is the hand-written target of site-devise.
const deviseTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: login
    kind: login
    path: /users/sign_in
    form: {authenticity_token: "{{csrf}}", "user[email]": "{{identifier}}", "user[password]": "{{password}}", commit: Log in}
    before: [{path: /users/sign_in, extract: {csrf: {input: authenticity_token}}}]
  - name: register
    kind: register
    path: /users
    form: {authenticity_token: "{{csrf}}", "user[email]": "{{identifier}}", "user[password]": "{{password}}", "user[password_confirmation]": "{{password}}", commit: Sign up}
    before: [{path: /users/sign_up, extract: {csrf: {input: authenticity_token}}}]
  - name: reset
    kind: reset
    path: /users/password
    form: {authenticity_token: "{{csrf}}", "user[email]": "{{identifier}}", commit: Send me reset password instructions}
    before: [{path: /users/password/new, extract: {csrf: {input: authenticity_token}}}]
`

func newDevise() http.Handler {
	var s sessions
	const cookie = "_lab_shop_session"
	mux := http.NewServeMux()
	render := func(w http.ResponseWriter, r *http.Request, status int, title, action, fields, extra, flash string) {
		tok := s.issue(w, r, cookie, true)
		msg := ""
		if flash != "" {
			msg = `<div id="error_explanation"><ul><li>` + html.EscapeString(flash) + "</li></ul></div>\n"
		}
		body := "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + title + "</title>\n" +
			`<meta name="csrf-param" content="authenticity_token">` + "\n" + `<meta name="csrf-token" content="` + token(16) + `">` + "\n</head><body>\n<h2>" + title + "</h2>\n" + msg +
			`<form class="new_user" id="new_user" action="` + action + `" accept-charset="UTF-8" method="post"><input type="hidden" name="authenticity_token" value="` + tok + `" autocomplete="off">` + "\n" + fields + "\n</form>\n" + extra + "\n</body></html>\n"
		writeHTML(w, status, body)
	}
	unprocessable := func(w http.ResponseWriter) {
		writeHTML(w, http.StatusUnprocessableEntity, page("The change you wanted was rejected (422)", "<h1>The change you wanted was rejected.</h1>"))
	}
	shared := `<a href="/users/sign_in">Log in</a><br><a href="/users/sign_up">Sign up</a><br><a href="/users/password/new">Forgot your password?</a>`
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeHTML(w, http.StatusOK, page("Lab shop", links(`<a href="/users/sign_in">Log in</a>`)))
	})
	loginFields := `<div class="field"><label for="user_email">Email</label><br><input autofocus="autofocus" autocomplete="email" type="email" value="" name="user[email]" id="user_email"></div>
<div class="field"><label for="user_password">Password</label><br><input autocomplete="current-password" type="password" name="user[password]" id="user_password"></div>
<div class="field"><input name="user[remember_me]" type="hidden" value="0" autocomplete="off"><input type="checkbox" value="1" name="user[remember_me]" id="user_remember_me"><label for="user_remember_me">Remember me</label></div>
<div class="actions"><input type="submit" name="commit" value="Log in" data-disable-with="Log in"></div>`
	mux.HandleFunc("GET /users/sign_in", func(w http.ResponseWriter, r *http.Request) {
		render(w, r, http.StatusOK, "Log in", "/users/sign_in", loginFields, shared, "")
	})
	mux.HandleFunc("POST /users/sign_in", func(w http.ResponseWriter, r *http.Request) {
		if !s.check(r, cookie, "authenticity_token") {
			unprocessable(w)
			return
		}
		render(w, r, http.StatusUnprocessableEntity, "Log in", "/users/sign_in", loginFields, shared, "Invalid Email or password.")
	})
	signupFields := `<div class="field"><label for="user_email">Email</label><br><input autofocus="autofocus" autocomplete="email" type="email" value="" name="user[email]" id="user_email"></div>
<div class="field"><label for="user_password">Password</label> <em>(6 characters minimum)</em><br><input autocomplete="new-password" type="password" name="user[password]" id="user_password"></div>
<div class="field"><label for="user_password_confirmation">Password confirmation</label><br><input autocomplete="new-password" type="password" name="user[password_confirmation]" id="user_password_confirmation"></div>
<div class="actions"><input type="submit" name="commit" value="Sign up" data-disable-with="Sign up"></div>`
	mux.HandleFunc("GET /users/sign_up", func(w http.ResponseWriter, r *http.Request) {
		render(w, r, http.StatusOK, "Sign up", "/users", signupFields, shared, "")
	})
	mux.HandleFunc("POST /users", func(w http.ResponseWriter, r *http.Request) {
		if !s.check(r, cookie, "authenticity_token") {
			unprocessable(w)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	resetFields := `<div class="field"><label for="user_email">Email</label><br><input autofocus="autofocus" autocomplete="email" type="email" value="" name="user[email]" id="user_email"></div>
<div class="actions"><input type="submit" name="commit" value="Send me reset password instructions" data-disable-with="Send me reset password instructions"></div>`
	mux.HandleFunc("GET /users/password/new", func(w http.ResponseWriter, r *http.Request) {
		render(w, r, http.StatusOK, "Forgot your password?", "/users/password", resetFields, shared, "")
	})
	mux.HandleFunc("POST /users/password", func(w http.ResponseWriter, r *http.Request) {
		if !s.check(r, cookie, "authenticity_token") {
			unprocessable(w)
			return
		}
		if exists(r.PostFormValue("user[email]")) {
			http.Redirect(w, r, "/users/sign_in", http.StatusSeeOther)
			return
		}
		render(w, r, http.StatusUnprocessableEntity, "Forgot your password?", "/users/password", resetFields, shared, "Email not found")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		writeHTML(w, http.StatusOK, page("Lab shop", "<p>An article.</p>"))
	})
	return mux
}

// wordpressTarget is the hand-written target of site-wordpress.
const wordpressTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: login
    kind: login
    path: /wp-login.php
    form: {log: "{{identifier}}", pwd: "{{password}}", wp-submit: Log In, redirect_to: "BASE_URL/wp-admin/", testcookie: "1"}
    before: [{path: /wp-login.php}]
  - name: register
    kind: register
    path: /wp-login.php?action=register
    form: {user_login: "u{{random}}", user_email: "{{identifier}}", redirect_to: "", wp-submit: Register}
  - name: lostpassword
    kind: reset
    path: /wp-login.php?action=lostpassword
    form: {user_login: "{{identifier}}", redirect_to: "", wp-submit: Get New Password}
`

func newWordPress() http.Handler {
	mux := http.NewServeMux()
	layout := func(w http.ResponseWriter, r *http.Request, title, errText, formHTML string) {
		http.SetCookie(w, &http.Cookie{Name: "wordpress_test_cookie", Value: "WP Cookie check", Path: "/", Secure: false, HttpOnly: true})
		msg := ""
		if errText != "" {
			msg = `<div id="login_error" class="notice notice-error"><p>` + errText + "</p></div>\n"
		}
		writeHTML(w, http.StatusOK, "<!DOCTYPE html>\n<html lang=\"en-US\"><head><meta charset=\"UTF-8\"><title>"+title+" &lsaquo; Lab blog &#8212; WordPress</title></head>\n"+
			"<body class=\"login\"><div id=\"login\"><h1><a href=\"https://wordpress.org/\">Powered by WordPress</a></h1>\n"+msg+formHTML+"\n"+
			`<p id="nav"><a href="/wp-login.php?action=register">Register</a> | <a href="/wp-login.php?action=lostpassword">Lost your password?</a></p>`+
			"\n</div></body></html>\n")
	}
	base := func(r *http.Request) string { return "http://" + r.Host }
	loginForm := func(r *http.Request) string {
		return `<form name="loginform" id="loginform" action="` + base(r) + `/wp-login.php" method="post">
<p><label for="user_login">Username or Email Address</label><input type="text" name="log" id="user_login" class="input" value="" size="20" autocapitalize="off" autocomplete="username" required="required"></p>
<div class="user-pass-wrap"><label for="user_pass">Password</label><input type="password" name="pwd" id="user_pass" class="input password-input" value="" size="20" autocomplete="current-password" spellcheck="false" required="required"></div>
<p class="forgetmenot"><input name="rememberme" type="checkbox" id="rememberme" value="forever"> <label for="rememberme">Remember Me</label></p>
<p class="submit"><input type="submit" name="wp-submit" id="wp-submit" class="button button-primary button-large" value="Log In">
<input type="hidden" name="redirect_to" value="` + base(r) + `/wp-admin/">
<input type="hidden" name="testcookie" value="1"></p>
</form>`
	}
	lostForm := `<form name="lostpasswordform" id="lostpasswordform" action="/wp-login.php?action=lostpassword" method="post">
<p><label for="user_login">Username or Email Address</label><input type="text" name="user_login" id="user_login" class="input" value="" size="20" autocapitalize="off" autocomplete="username" required="required"></p>
<input type="hidden" name="redirect_to" value="">
<p class="submit"><input type="submit" name="wp-submit" id="wp-submit" class="button button-primary button-large" value="Get New Password"></p>
</form>`
	registerForm := `<form name="registerform" id="registerform" action="/wp-login.php?action=register" method="post" novalidate="novalidate">
<p><label for="user_login">Username</label><input type="text" name="user_login" id="user_login" class="input" value="" size="20" autocapitalize="off" autocomplete="username" required="required"></p>
<p><label for="user_email">Email</label><input type="email" name="user_email" id="user_email" class="input" value="" size="25" autocomplete="email" required="required"></p>
<p id="reg_passmail">Registration confirmation will be emailed to you.</p>
<input type="hidden" name="redirect_to" value="">
<p class="submit"><input type="submit" name="wp-submit" id="wp-submit" class="button button-primary button-large" value="Register"></p>
</form>`
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeHTML(w, http.StatusOK, "<!doctype html><html><head><meta name=\"generator\" content=\"WordPress 6.4.2\"><title>Lab blog</title></head><body>"+
			links(`<a href="/wp-login.php">Log in</a>`)+"</body></html>")
	})
	mux.HandleFunc("/wp-login.php", func(w http.ResponseWriter, r *http.Request) {
		action := r.URL.Query().Get("action")
		switch {
		case action == "lostpassword" && r.Method == http.MethodPost:
			// wp-login.php checks the field before any lookup.
			if strings.TrimSpace(r.PostFormValue("user_login")) == "" {
				layout(w, r, "Lost Password", "<strong>Error:</strong> Please enter a username or email address.", lostForm)
				return
			}
			http.Redirect(w, r, "/wp-login.php?checkemail=confirm", http.StatusFound)
		case action == "lostpassword":
			layout(w, r, "Lost Password", "", lostForm)
		case action == "register" && r.Method == http.MethodPost:
			switch email := r.PostFormValue("user_email"); {
			case strings.TrimSpace(email) == "":
				layout(w, r, "Registration Form", "<strong>Error:</strong> Please type your email address.", registerForm)
				return
			case !validEmail(email):
				layout(w, r, "Registration Form", "<strong>Error:</strong> The email address is not correct.", registerForm)
				return
			}
			http.Redirect(w, r, "/wp-login.php?checkemail=registered", http.StatusFound)
		case action == "register":
			layout(w, r, "Registration Form", "", registerForm)
		case r.Method == http.MethodPost:
			login := r.PostFormValue("log")
			if exists(login) {
				layout(w, r, "Log In", "<strong>Error:</strong> The password you entered for the email address <strong>"+html.EscapeString(login)+"</strong> is incorrect. <a href=\"/wp-login.php?action=lostpassword\">Lost your password?</a>", loginForm(r))
				return
			}
			layout(w, r, "Log In", "<strong>Error:</strong> Unknown email address. Check again or try your username.", loginForm(r))
		default:
			layout(w, r, "Log In", "", loginForm(r))
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeHTML(w, http.StatusOK, page("Lab blog", "<p>An article.</p>"))
	})
	return mux
}

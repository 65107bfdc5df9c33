package scan

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"golang.org/x/net/html"
)

// FrameworkMatch is the framework a scan recognised in the target, and
// why: the cookies, fields, paths and headers that gave it away.
type FrameworkMatch struct {
	Name string `json:"name"`
	// Evidence lists what was seen, e.g. "cookie csrftoken", "field
	// csrfmiddlewaretoken", "path /accounts/login/".
	Evidence []string `json:"evidence"`
}

// Signals are what a scan saw of a target that can name its framework.
type Signals struct {
	Cookies []string // cookie names set by the target
	Fields  []string // names of form fields in its pages and in the target file
	Paths   []string // request paths, without the query
	Queries []string // request queries
	Headers []string // "Name: value" of Server, X-Powered-By and the page generator
	Hosts   []string
}

// signal is one clue of a framework: a pattern matched against one kind of
// Signals, and its weight. A framework is recognised at weight 2.
type signal struct {
	where  string // cookie, field, path, query, header, host
	re     *regexp.Regexp
	weight int
}

func sig(where, pattern string, weight int) signal {
	return signal{where: where, re: regexp.MustCompile(pattern), weight: weight}
}

// framework is one row of the table: its own clues, the framework it builds
// on (recognised too, or this row is not; its clues then count for this
// row as well), and its advice.
type framework struct {
	name    string
	signals []signal
	base    string
	// advice is keyed by rule ID, then "kind:<kind>" of the endpoint,
	// then "*"; the first key present gives the advice for a finding.
	// "*" does not cover USER_ENUM_PASSKEY: the frameworks' general
	// settings (Devise's paranoid mode, Spring's hidden user-not-found)
	// have nothing to do with a passkey library's allowCredentials.
	advice map[string]string
}

// frameworkWeight is the weight of clues that recognises a framework.
const frameworkWeight = 2

// frameworks is the table of frameworks, most specific first (a tie in
// weight goes to the earlier row: django-allauth before Django).
var frameworks = []framework{
	{
		name: "tacit",
		signals: []signal{
			sig("cookie", `^(__Host-)?tacit_(session|csrf|mfa)$`, 2), sig("path", `^/_dev/mailbox$`, 2),
		},
		advice: map[string]string{
			"*": "tacit answers uniformly by design (docs/DESIGN.md, the uniformity invariant), so this finding is either a bug in tacit, " +
				"to be reported with the evidence, or a difference in the known account's history: a throttle counter from recent sign-ins, " +
				"resets or sign-ups that its unknown partners lack. Re-run with a known account that has no such history (with the dev " +
				"mailbox on, --preset tacit makes one).",
			RulePasskey: "tacit's passkey sign-in takes no address: its options (POST /api/passkey/login/options) carry an empty " +
				"allowCredentials for every caller, and an account's credential ids are sent only after its password, to the holder " +
				"of the second-step cookie. A finding here is a bug in tacit, to be reported with the evidence.",
		},
	},
	{
		name: "django-allauth",
		base: "Django",
		signals: []signal{
			sig("path", `^/accounts/(signup|password/reset|confirm-email|email)/`, 2), sig("path", `^/accounts/login/$`, 1),
			sig("field", `^login$`, 1),
		},
		advice: map[string]string{
			// Sign-up is covered only from allauth 0.52 (with mandatory
			// verification); "strict" came in 0.57. Debian 12's Mailman 3
			// runs 0.51, where no setting helps, so the version is named.
			"kind:register": "Use django-allauth 0.52 or later with ACCOUNT_EMAIL_VERIFICATION = \"mandatory\" and ACCOUNT_PREVENT_ENUMERATION " +
				"left True (the default): a sign-up with a taken address then goes through like any other and answers \"verify your email\" " +
				"(allauth mails the owner instead). With optional or no verification only ACCOUNT_PREVENT_ENUMERATION = \"strict\" " +
				"(0.57 or later) prevents it, by letting several accounts share an address. Before 0.52 no setting covers sign-up: upgrade.",
			"kind:reset": "Set ACCOUNT_PREVENT_ENUMERATION = True (the default since allauth 0.52; check it is not False in settings.py): " +
				"the reset form then answers \"we have sent you an email\" for any address and mails unknown ones a notice instead.",
			"kind:login": "allauth's login form says \"The email address and/or password you specified are not correct\" for both cases; " +
				"a difference here comes from a customised form, adapter (is_open_for_signup, pre_login) or template: restore the stock behaviour. " +
				"Keep ACCOUNT_PREVENT_ENUMERATION on.",
			RuleTiming: "Django hashes a dummy password for unknown users in ModelBackend.authenticate (it runs the hasher once when the user " +
				"does not exist); a timing difference points to a custom authentication backend or adapter that returns early: hash on every branch.",
		},
	},
	{
		name: "Django",
		signals: []signal{
			sig("field", `^csrfmiddlewaretoken$`, 2), sig("cookie", `^csrftoken$`, 1), sig("cookie", `^sessionid$`, 1),
			sig("cookie", `^django_language$`, 1),
		},
		advice: map[string]string{
			"kind:register": "Django's UserCreationForm says \"A user with that username already exists\". Use django-allauth with " +
				"ACCOUNT_PREVENT_ENUMERATION = \"strict\" and mandatory email verification, or answer every valid sign-up with \"check your " +
				"inbox\" and mail the owner of a taken address instead of raising the form error.",
			"kind:reset": "django.contrib.auth's PasswordResetView redirects to the same \"done\" page for any address; keep it so, and do not " +
				"add a clean_email check that raises \"no account with this address\" to PasswordResetForm.",
			"kind:login": "LoginView's AuthenticationForm says \"Please enter a correct username and password\" for both cases, and " +
				"ModelBackend hashes a dummy password for unknown users; keep inactive users on the same message (do not enable " +
				"AllowAllUsersModelBackend with a distinct \"inactive\" error) and check custom backends return None the same way.",
		},
	},
	{
		name: "Rails (Devise)",
		base: "Rails",
		signals: []signal{
			sig("path", `^/users/(sign_in|sign_up|password|confirmation|unlock)(/|$)`, 2),
			sig("field", `^user\[(email|password|login)\]$`, 1),
		},
		advice: map[string]string{
			"*": "Set config.paranoid = true in config/initializers/devise.rb: the password reset, confirmation and unlock forms then " +
				"answer \"If your email address exists in our database, you will receive…\" for every address, and sign-in hashes the " +
				"password for unknown addresses too, so failures take equal time.",
			"kind:register": "config.paranoid = true does not cover sign-up: :validatable's uniqueness check answers \"Email has already " +
				"been taken\". Keep config.paranoid = true, use :confirmable, and override Devise::RegistrationsController#create so a taken " +
				"address gets the same \"check your inbox\" answer (mail the owner instead).",
			RuleLockout: "With :lockable, Devise locks only real accounts and says \"Your account is locked\"; set config.paranoid = true " +
				"(the locked message then matches the invalid one) and lock by address with a throttle (rack-attack) that counts unknown " +
				"addresses too.",
		},
	},
	{
		name: "Rails",
		signals: []signal{
			sig("field", `^authenticity_token$`, 2), sig("field", `^meta csrf-param$`, 1), sig("cookie", `^_[a-z0-9_]+_session$`, 1),
		},
		advice: map[string]string{
			"*": "If the accounts come from Devise, set config.paranoid = true in config/initializers/devise.rb; otherwise build the " +
				"answer of this action from the request alone (one flash message, one redirect) and run BCrypt against a dummy digest when " +
				"no user is found (has_secure_password's authenticate_by does this).",
		},
	},
	{
		name: "Laravel",
		signals: []signal{
			sig("cookie", `^laravel_session$`, 2), sig("cookie", `^XSRF-TOKEN$`, 1), sig("field", `^_token$`, 1),
		},
		advice: map[string]string{
			"kind:reset": "Laravel's password broker answers Password::INVALID_USER (\"We can't find a user with that email address.\") " +
				"and Breeze/Fortify show it as a field error. In PasswordResetLinkController::store (Breeze) or the Fortify " +
				"SendPasswordResetLink response, return back()->with('status', __(Password::RESET_LINK_SENT)) for every status, so the " +
				"redirect, the flash message and the session are the same.",
			"kind:register": "The 'unique:users' rule in the sign-up validation answers \"The email has already been taken.\" Drop it from " +
				"the request validation (Breeze RegisteredUserController, Fortify CreateNewUser), answer every valid sign-up with the " +
				"verification notice, and mail the owner of a taken address.",
			"kind:login": "Keep auth.failed (\"These credentials do not match our records.\") for every failed sign-in, and Auth::attempt, " +
				"which hashes only for existing users: add a Hash::check against a dummy hash when the user is not found.",
			RuleRateLimit: "The password broker's throttle (config/auth.php passwords.users.throttle) applies only to existing users and " +
				"answers RESET_THROTTLED; map RESET_THROTTLED to the RESET_LINK_SENT answer, and throttle by address with a RateLimiter " +
				"that counts unknown addresses too.",
		},
	},
	{
		name: "Spring Security",
		signals: []signal{
			sig("cookie", `^JSESSIONID$`, 1), sig("field", `^_csrf$`, 1), sig("field", `^meta _csrf$`, 1),
			sig("path", `^/login$`, 0), sig("field", `^username$`, 0),
		},
		advice: map[string]string{
			"*": "Keep DaoAuthenticationProvider's hideUserNotFoundExceptions at its default, true, so an unknown user fails with the same " +
				"BadCredentialsException as a wrong password (and its dummy-password check keeps the time equal), and give the form one " +
				"failure handler for every AuthenticationException (SimpleUrlAuthenticationFailureHandler to /login?error): do not map " +
				"LockedException, DisabledException or UsernameNotFoundException to their own URLs or messages.",
			"kind:reset": "Spring Security has no reset flow of its own: the application's controller must answer every address with the " +
				"same view and redirect, and only choose the mail by whether the account exists.",
			"kind:register": "The application's sign-up controller must not return \"already registered\": answer every valid sign-up with " +
				"the same \"check your inbox\" view and mail the owner of a taken address.",
		},
	},
	{
		name: "ASP.NET Core Identity",
		signals: []signal{
			sig("cookie", `^\.AspNetCore\.Identity\.`, 2), sig("cookie", `^\.AspNetCore\.Antiforgery\.`, 1),
			sig("field", `^__RequestVerificationToken$`, 1), sig("path", `(?i)^/Identity/Account/`, 2), sig("field", `^Input\.Email$`, 1),
		},
		advice: map[string]string{
			"kind:reset": "Keep the scaffolded ForgotPassword page's behaviour: RedirectToPage(\"./ForgotPasswordConfirmation\") both when " +
				"FindByEmailAsync returns null or the address is unconfirmed and after sending the mail; do not add a ModelState error for " +
				"unknown addresses.",
			"kind:login": "Show \"Invalid login attempt.\" for every failed PasswordSignInAsync result; the scaffolded page sends locked-out " +
				"accounts to ./Lockout and unconfirmed ones get IsNotAllowed, which unknown addresses never do: show the same message for " +
				"those results too (and let lockout be keyed by address, not by account).",
			"kind:register": "With RequireConfirmedAccount, answer every valid sign-up with RegisterConfirmation and drop the " +
				"DuplicateUserName/DuplicateEmail errors of CreateAsync from the page (mail the owner instead).",
		},
	},
	{
		name: "Keycloak",
		signals: []signal{
			sig("cookie", `^KEYCLOAK_`, 2), sig("cookie", `^KC_RESTART$`, 2), sig("cookie", `^AUTH_SESSION_ID`, 1),
			sig("path", `^/(auth/)?realms/`, 1), sig("path", `/login-actions/`, 2),
		},
		advice: map[string]string{
			"kind:login": "Keycloak says \"Invalid username or password.\" for both cases; the differences come from its brute-force " +
				"detection and user states. In Realm settings → Security defenses → Brute force detection, turn Permanent lockout off (a " +
				"temporary lockout answers like invalid credentials), and keep disabled users on the same message. Under Realm settings " +
				"→ Login, \"Login with email\" and \"Duplicate emails\" decide which identifiers exist: scan with the one users type.",
			"kind:reset": "Keycloak's reset-credentials flow answers \"You should receive an email shortly\" for any address; a difference " +
				"comes from a custom authenticator or theme in the reset flow: restore the built-in Choose User / Send Reset Email steps.",
			"kind:register": "Keycloak's registration form says \"Email already exists.\" / \"Username already exists.\" and has no setting " +
				"to hide it: turn User registration off (Realm settings → Login) and invite users, or put sign-up in front of Keycloak " +
				"with an answer that is the same for every address.",
			RuleLockout: "Brute force detection locks only real users: turn Permanent lockout off, so a locked account answers \"Invalid " +
				"username or password.\" like an unknown one, and rate-limit by address before Keycloak.",
		},
	},
	{
		name: "Amazon Cognito",
		signals: []signal{
			sig("host", `\.amazoncognito\.com$`, 2), sig("field", `^cognitoAsfData$`, 2), sig("header", `(?i)^x-amz-cognito`, 1),
		},
		advice: map[string]string{
			"*": "Set PreventUserExistenceErrors = ENABLED on the app client (console: App client → Advanced security → Prevent user " +
				"existence errors; API: UpdateUserPoolClient): sign-in, forgot-password and confirmation then answer NotAuthorizedException " +
				"or CodeDeliveryDetails for unknown users as for real ones.",
			"kind:register": "PreventUserExistenceErrors does not cover SignUp, which throws UsernameExistsException: sign users up through " +
				"your own endpoint that answers every valid request the same way, or make the username a random id with the address as an alias.",
		},
	},
	{
		name: "WordPress",
		signals: []signal{
			sig("cookie", `^wordpress_test_cookie$`, 2), sig("cookie", `^wordpress_`, 1), sig("path", `/wp-login\.php$`, 2),
			sig("field", `^(log|pwd)$`, 1), sig("field", `^wp-submit$`, 1), sig("header", `(?i)^generator: wordpress`, 2),
		},
		advice: map[string]string{
			"kind:login": "wp-login.php says \"The username X is not registered on this site\" or \"The password you entered … is " +
				"incorrect\". Add a login_errors filter that returns one message (add_filter('login_errors', fn() => 'Wrong username or " +
				"password.');) or a security plugin that does, and check the page is otherwise identical (the username field is refilled).",
			"kind:reset": "wp-login.php?action=lostpassword says \"There is no account with that username or email address\": use a " +
				"plugin, or a lostpassword_post hook that, for an unknown user, redirects to wp-login.php?checkemail=confirm like a real " +
				"request, so every address gets the same redirect.",
			"kind:register": "Registration says \"This email is already registered\": filter registration_errors to remove the " +
				"email_exists and username_exists errors, send the owner a notice instead, and redirect to wp-login.php?checkemail=registered " +
				"as for a new account.",
		},
	},
	{
		name: "Express (Passport)",
		signals: []signal{
			sig("cookie", `^connect\.sid$`, 2), sig("header", `(?i)^x-powered-by: express`, 1),
		},
		advice: map[string]string{
			"kind:login": "In the passport-local verify callback, call done(null, false, { message: 'Incorrect email or password.' }) for " +
				"an unknown user and a wrong password alike, and run bcrypt.compare against a fixed dummy hash when no user is found, so " +
				"both take one hash. Use one failureRedirect and one failureMessage.",
			"*": "Build this route's answer from the request alone (one status, one message, one redirect) and let the existence of the " +
				"account decide only which mail is queued.",
		},
	},
	{
		name: "MediaWiki",
		signals: []signal{
			sig("header", `(?i)^generator: mediawiki`, 2), sig("field", `^wpLoginToken$`, 2), sig("field", `^wpCreateaccountToken$`, 1),
			sig("field", `^wpName$`, 1),
		},
		advice: map[string]string{
			"kind:login": "MediaWiki's sign-in says \"Incorrect username or password entered.\" for both cases; a difference comes from an " +
				"extension (CentralAuth, OATHAuth, ConfirmEdit showing a CAPTCHA after failures) or from $wgPasswordAttemptThrottle: check " +
				"they treat unknown user names alike.",
			"kind:register": "Special:CreateAccount says \"Username entered already in use.\", and user names are public on a wiki anyway " +
				"(Special:ListUsers): there is no setting to hide them. Close self-registration ($wgGroupPermissions['*']['createaccount'] " +
				"= false;) if account names must stay private.",
			"kind:reset": "Limit Special:PasswordReset to the email route ($wgPasswordResetRoutes = ['username' => false, 'email' => true];) " +
				"or switch it off, then re-run the scan to check that every address gets the same answer on this version.",
		},
	},
	{
		name: "DokuWiki",
		signals: []signal{
			sig("cookie", `^DokuWiki$`, 2), sig("cookie", `^DW[0-9a-f]{32}`, 1), sig("path", `/doku\.php$`, 2), sig("field", `^sectok$`, 1),
			sig("header", `(?i)^generator: dokuwiki`, 2),
		},
		advice: map[string]string{
			"kind:login": "DokuWiki's sign-in says \"Sorry, username or password was wrong.\" for both cases; a difference comes from a " +
				"plugin or the auth backend: check the authtype plugin returns false the same way, and that it hashes for unknown users.",
			"kind:reset": "DokuWiki's \"Send new password\" (do=resendpwd) says the user does not exist (lang string resendpwdnouser) and " +
				"has no setting to stop it: disable the action ($conf['disableactions'] = 'resendpwd') where admins can reset passwords, " +
				"or give resendpwdnouser the text of resendpwdconfirm in conf/lang/en/lang.php and check the page is otherwise identical.",
			"kind:register": "DokuWiki's registration says \"Sorry, a user with this login already exists\" (reguexists) and has no setting " +
				"to stop it: disable self-registration ($conf['disableactions'] = 'register') and let admins create accounts, or accept " +
				"that user names are public on this wiki.",
		},
	},
}

// DetectFramework returns the framework the signals point to, or nil. A
// framework is recognised when its clues weigh at least 2 and the
// framework it builds on (django-allauth on Django, Devise on Rails), if
// any, is recognised too; of several, the heaviest, then the earliest row.
func DetectFramework(s Signals) *FrameworkMatch {
	type score struct {
		weight   int
		evidence []string
	}
	scores := map[string]score{}
	for _, fw := range frameworks {
		var sc score
		for _, sg := range fw.signals {
			for _, v := range s.values(sg.where) {
				// One cookie, field or path is one clue, however many
				// patterns it matches (wordpress_test_cookie).
				if ev := sg.where + " " + SanitizeLine(v); sg.re.MatchString(v) && !slices.Contains(sc.evidence, ev) {
					sc.weight += sg.weight
					sc.evidence = append(sc.evidence, ev)
					break
				}
			}
		}
		scores[fw.name] = sc
	}
	var best *framework
	var bestScore score
	for i, fw := range frameworks {
		sc := scores[fw.name]
		if sc.weight < frameworkWeight {
			continue
		}
		if fw.base != "" {
			base := scores[fw.base]
			if base.weight < frameworkWeight {
				continue
			}
			sc = score{sc.weight + base.weight, append(slices.Clone(sc.evidence), base.evidence...)}
		}
		if sc.weight > bestScore.weight {
			best, bestScore = &frameworks[i], sc
		}
	}
	if best == nil {
		return nil
	}
	return &FrameworkMatch{Name: best.name, Evidence: bestScore.evidence}
}

func (s Signals) values(where string) []string {
	switch where {
	case "cookie":
		return s.Cookies
	case "field":
		return s.Fields
	case "path":
		return s.Paths
	case "query":
		return s.Queries
	case "header":
		return s.Headers
	case "host":
		return s.Hosts
	}
	return nil
}

// FrameworkAdvice returns the advice of framework name for a finding of
// rule on an endpoint of kind k, or "" when the table has none.
func FrameworkAdvice(name, rule string, k Kind) string {
	for _, fw := range frameworks {
		if fw.name != name {
			continue
		}
		keys := []string{rule, "kind:" + string(k), "*"}
		if rule == RulePasskey {
			keys = keys[:2]
		}
		for _, key := range keys {
			if a, ok := fw.advice[key]; ok {
				return a
			}
		}
	}
	return ""
}

// advise names the recognised framework in the report and puts its advice
// on every finding it has advice for.
func (r *Report) advise(fw *FrameworkMatch) {
	r.Framework = fw
	if fw == nil {
		return
	}
	for i := range r.Findings {
		r.Findings[i].Advice = FrameworkAdvice(fw.Name, r.Findings[i].Rule, r.Findings[i].Kind)
	}
}

// observations collect, from the answers a scan or a discovery receives,
// the signals that name a framework. Safe for concurrent use.
type observations struct {
	mu      sync.Mutex
	cookies map[string]bool
	fields  map[string]bool
	paths   map[string]bool
	queries map[string]bool
	headers map[string]bool
	hosts   map[string]bool
	parsed  map[string]bool // pages whose fields are recorded, by method, URL and status
	// pending are page bodies a scan received, read for fields only when
	// the signals are asked for: parsing them as they arrive would add
	// to the response times the timing checks measure.
	pending [][]byte
}

func newObservations() *observations {
	return &observations{cookies: map[string]bool{}, fields: map[string]bool{}, paths: map[string]bool{},
		queries: map[string]bool{}, headers: map[string]bool{}, hosts: map[string]bool{}, parsed: map[string]bool{}}
}

// maxParsedPages bounds how many distinct pages' fields are read: a scan
// sees the same few pages thousands of times.
const maxParsedPages = 64

// record notes the cookie names, telling headers, request path and form
// field names of one answer, at once (discovery, which is not timed).
func (o *observations) record(resp *http.Response, body []byte) {
	if o == nil || !o.note(resp) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.recordFields(body)
}

// note records what the answer's head shows, and reports whether its body
// is a page not read yet, whose fields should be.
func (o *observations) note(resp *http.Response) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range resp.Cookies() {
		o.cookies[c.Name] = true
	}
	for _, h := range []string{"Server", "X-Powered-By", "X-Generator"} {
		if v := resp.Header.Get(h); v != "" {
			o.headers[strings.ToLower(h)+": "+strings.ToLower(v)] = true
		}
	}
	req := resp.Request
	if req == nil {
		return false
	}
	// A path is a clue only when the application has it: discovery asks
	// for well-known paths of many frameworks.
	if resp.StatusCode < 400 {
		o.paths[req.URL.Path] = true
		if req.URL.RawQuery != "" {
			o.queries[req.URL.RawQuery] = true
		}
	}
	o.hosts[req.URL.Hostname()] = true
	key := fmt.Sprintf("%s %s %d", req.Method, req.URL, resp.StatusCode)
	if o.parsed[key] || len(o.parsed) >= maxParsedPages || !strings.Contains(resp.Header.Get("Content-Type"), "html") {
		return false
	}
	o.parsed[key] = true
	return true
}

// recordFields notes the names of form fields, and of meta tags that
// carry CSRF tokens and generators, as "meta NAME".
func (o *observations) recordFields(body []byte) {
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			switch t.Data {
			case "input", "select", "textarea", "button":
				if v, ok := attr(t, "name"); ok && v != "" {
					o.fields[v] = true
				}
			case "meta":
				name, _ := attr(t, "name")
				content, _ := attr(t, "content")
				switch strings.ToLower(name) {
				case "generator":
					o.headers["generator: "+strings.ToLower(content)] = true
				case "csrf-param", "csrf-token", "_csrf", "_csrf_header":
					o.fields["meta "+strings.ToLower(name)] = true
				}
			}
		}
	}
}

// signals returns what was observed, with what the target file says: its
// endpoints' paths, field names and extracted inputs and cookies.
func (o *observations) signals(t *Target) Signals {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, body := range o.pending {
		o.recordFields(body)
	}
	o.pending = nil
	fields := setKeys(o.fields)
	cookies := setKeys(o.cookies)
	paths := setKeys(o.paths)
	hosts := setKeys(o.hosts)
	if t != nil {
		hosts = append(hosts, t.BaseURL.Hostname())
		add := func(rt *RequestTemplate) {
			path, _, _ := strings.Cut(rt.Path, "?")
			paths = append(paths, t.BaseURL.Path+path)
			for _, f := range rt.Form {
				fields = append(fields, f.Name)
			}
		}
		for _, ep := range t.Endpoints {
			add(&ep.RequestTemplate)
			for _, st := range ep.Before {
				add(&st.RequestTemplate)
				for _, x := range st.Extract {
					switch x.From {
					case FromInput:
						fields = append(fields, x.Arg)
					case FromCookie:
						cookies = append(cookies, x.Arg)
					case FromMeta:
						fields = append(fields, "meta "+strings.ToLower(x.Arg))
					}
				}
			}
		}
	}
	return Signals{Cookies: dedupe(cookies), Fields: dedupe(fields), Paths: dedupe(paths), Queries: setKeys(o.queries),
		Headers: setKeys(o.headers), Hosts: dedupe(hosts)}
}

func setKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func dedupe(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// observe makes c record what it receives in s's observations, if the
// scan keeps any.
func (s *Scanner) observe(c *http.Client) {
	if s.seen == nil {
		return
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &recorder{next: next, obs: s.seen}
}

// recorder is a RoundTripper that hands each answer to observations as
// its body is read, without changing it.
type recorder struct {
	next http.RoundTripper
	obs  *observations
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if r.obs.note(resp) {
		resp.Body = &recordingBody{ReadCloser: resp.Body, obs: r.obs}
	}
	return resp, nil
}

// recordingBody keeps the first maxRecorded bytes of a page and hands
// them to the observations when it is closed; only the first answer of
// each page is kept this way.
type recordingBody struct {
	io.ReadCloser
	obs  *observations
	buf  bytes.Buffer
	done bool
}

const maxRecorded = 256 << 10

func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := maxRecorded - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(n, room)])
	}
	return n, err
}

func (b *recordingBody) Close() error {
	if !b.done {
		b.done = true
		b.obs.mu.Lock()
		b.obs.pending = append(b.obs.pending, b.buf.Bytes())
		b.obs.mu.Unlock()
	}
	return b.ReadCloser.Close()
}

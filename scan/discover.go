package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Defaults of a Discoverer's zero fields.
const (
	DefaultDiscoverPages = 20
	DefaultDiscoverDepth = 3
)

// KnownPlaceholder stands in a discovered target file for the identifier
// of an account the discovery cannot know. LoadTarget refuses a target
// that still lists it, so a scan never runs without a real known account.
const KnownPlaceholder = "REPLACE-WITH-A-KNOWN-ACCOUNT@example.invalid"

// Discoverer finds a web application's sign-in, sign-up and password
// reset forms from a start page, as a visitor would: it follows same-origin
// links breadth first, the ones that read like "Sign up" or "Forgot
// password" before the others, within a small page budget.
type Discoverer struct {
	// Client fetches the pages; nil means a client with a 30-second
	// timeout. Discover gives it a cookie jar of its own.
	Client *http.Client
	// MaxPages bounds the pages fetched (DefaultDiscoverPages), MaxDepth
	// how many links away from the start page (DefaultDiscoverDepth).
	MaxPages int
	MaxDepth int
}

// Discovery is what a Discoverer found.
type Discovery struct {
	// Base is the scheme and host of the start URL: every form found
	// posts there.
	Base *url.URL
	// Pages are the URLs fetched, in order.
	Pages []string
	// Forms are the account forms found, sign-in first, then sign-up,
	// reset and resend.
	Forms []DiscoveredForm
	// Framework is what the pages' cookies, fields and paths suggest the
	// application is built with, if anything.
	Framework *FrameworkMatch
	// Notes say what the discovery saw but left alone: redirects and
	// forms to other hosts.
	Notes []string
}

// DiscoveredForm is one account form and how to submit it.
type DiscoveredForm struct {
	Kind Kind
	// Page is the path (and query) of the page that shows the form; the
	// target's before step fetches it for fresh hidden values.
	Page   string
	Method string
	// Action is the path (and query) the form posts to.
	Action string
	// Identifier is the name of the field that takes the account's
	// identifier; Passwords the password fields, in order (two on a
	// sign-up form: the password and its confirmation).
	Identifier string
	Passwords  []string
	// Fields are every field sent, in form order, as target templates:
	// {{identifier}}, {{password}}, hidden fields' values, checkboxes,
	// the submit button, other text fields (a random value), and
	// {{name}} for each Fresh field.
	Fields []Field
	// Fresh are the hidden fields whose value changes from one fetch of
	// the page to the next, or whose name says token (CSRF tokens,
	// nonces): the before step takes them from the page each time.
	Fresh []string
	// JSON says the body is a JSON object rather than a form (from a HAR
	// file).
	JSON bool
	// Headers are extra request headers (from a HAR file: a CSRF header).
	Headers []Field
	// Extract says where each Fresh field's value comes from, by field
	// name; a hidden input of the page when missing.
	Extract map[string]Extraction

	hidden []string // the names of hidden fields
	// emailID says the identifier field takes an email address; alt is
	// a user name field of the same form (a sign-up asking for both),
	// the identifier when the application identifies accounts by name.
	emailID bool
	alt     string
	captcha string // what shows the form has a CAPTCHA
	// Why says what decided the kind.
	Why string
}

// Discover fetches start and the pages it links to and returns the
// account forms they hold. It errs only when start itself cannot be
// fetched; a discovery that finds no form returns an empty Forms.
func (d *Discoverer) Discover(ctx context.Context, start string) (*Discovery, error) {
	u, err := url.Parse(start)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http or https URL", start)
	}
	c := d.client()
	out := &Discovery{Base: &url.URL{Scheme: u.Scheme, Host: u.Host}}
	obs := newObservations()
	type queued struct {
		u     *url.URL
		depth int
	}
	queue := []queued{{u, 0}}
	seen := map[string]bool{pageKey(u): true}
	var found []DiscoveredForm
	note := func(n string) {
		if !slices.Contains(out.Notes, n) {
			out.Notes = append(out.Notes, n)
		}
	}
	redirected := map[string]bool{} // hosts a note names already
	crawl := func(budget int) error {
		for len(queue) > 0 && len(out.Pages) < budget {
			if err := ctx.Err(); err != nil {
				return err
			}
			q := queue[0]
			queue = queue[1:]
			page, err := d.fetch(ctx, c, q.u, obs)
			if err != nil {
				if len(out.Pages) == 0 {
					return err
				}
				continue // a broken link is not the discovery's failure
			}
			out.Pages = append(out.Pages, page.url.String())
			if page.url.Host != u.Host {
				// An identity provider elsewhere, or an application
				// that insists on its canonical address.
				if !redirected[page.url.Host] {
					redirected[page.url.Host] = true
					note(fmt.Sprintf("%s redirected to another host, %s: not followed (discover from there if that is the application)", q.u, page.url))
				}
				continue
			}
			seen[pageKey(page.url)] = true
			forms, elsewhere := page.forms(out.Base)
			for _, a := range elsewhere {
				// Said once: a newsletter form in the footer is on every page.
				note(fmt.Sprintf("a form posts to another host, %s: not scanned", a))
			}
			for _, f := range forms {
				i := slices.IndexFunc(found, f.same)
				switch {
				case i < 0:
					found = append(found, f)
				case f.plainer(found[i]):
					found[i] = f
				}
				if f.captcha != "" {
					note(fmt.Sprintf("the %s form on %s has a CAPTCHA (%s), which the scan cannot solve: switch it off on a test install", f.Kind.Describe(), f.Page, f.captcha))
				}
			}
			if q.depth >= d.maxDepth() {
				continue
			}
			var first, rest []queued
			for _, l := range page.links {
				if l.u.Host != u.Host || l.u.Scheme != u.Scheme || seen[pageKey(l.u)] || logoutLike(l) {
					continue
				}
				seen[pageKey(l.u)] = true
				if accountLink(l) {
					first = append(first, queued{l.u, q.depth + 1})
				} else {
					rest = append(rest, queued{l.u, q.depth + 1})
				}
			}
			// Account links jump the queue: a home page's hundred article
			// links must not spend the budget before "Sign in" is reached.
			queue = append(append(first, queue...), rest...)
		}
		return nil
	}
	if err := crawl(d.maxPages()); err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(found, func(f DiscoveredForm) bool { return f.Kind == KindLogin }) {
		// No link led to a sign-in form (a home page without links, a
		// single-page application's shell): try the paths where common
		// applications keep it, then follow their links a little.
		queue = queue[:0]
		for _, p := range wellKnownPaths {
			if wu, err := u.Parse(p); err == nil && !seen[pageKey(wu)] {
				seen[pageKey(wu)] = true
				queue = append(queue, queued{wu, d.maxDepth() - 1})
			}
		}
		if err := crawl(len(out.Pages) + len(queue) + 6); err != nil {
			return nil, err
		}
	}
	d.freshFields(ctx, out.Base, found)
	slices.SortStableFunc(found, func(a, b DiscoveredForm) int { return kindRank(a.Kind) - kindRank(b.Kind) })
	out.Forms = found
	out.Framework = DetectFramework(obs.signals(nil))
	return out, nil
}

func (d *Discoverer) client() *http.Client {
	c := &http.Client{Timeout: 30 * time.Second} // as the Scanner's default client
	if d.Client != nil {
		cp := *d.Client
		c = &cp
	}
	jar, _ := cookiejar.New(nil) // never fails without options
	c.Jar = jar
	// Same host only: a redirect elsewhere (an identity provider, a
	// canonical address) is noted, not fetched.
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Host != via[0].URL.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return c
}

func (d *Discoverer) maxPages() int {
	if d.MaxPages > 0 {
		return d.MaxPages
	}
	return DefaultDiscoverPages
}

func (d *Discoverer) maxDepth() int {
	if d.MaxDepth > 0 {
		return d.MaxDepth
	}
	return DefaultDiscoverDepth
}

func kindRank(k Kind) int { return slices.Index(kinds, k) }

// pageKey identifies a page regardless of its fragment.
func pageKey(u *url.URL) string {
	v := *u
	v.Fragment = ""
	return v.String()
}

// page is a fetched HTML page.
type page struct {
	url   *url.URL // after redirects
	raw   []byte
	doc   *html.Node
	links []link
}

type link struct {
	u    *url.URL
	text string // the link's text, title and aria-label, lower case
}

// wellKnownPaths are where common applications keep their sign-in (and
// sign-up) pages, relative to the start URL, tried when no link leads to
// one.
var wellKnownPaths = []string{
	"login", "signin", "sign_in", "users/sign_in", "accounts/login/", "user/login", "auth/login", "session/new",
	"wp-login.php", "doku.php?do=login", "index.php?title=Special:UserLogin", "Identity/Account/Login",
	"register", "signup",
}

// accountWords are what the links to account pages say (in their text or
// their URL).
var accountWords = []string{
	"sign in", "signin", "sign-in", "sign_in", "log in", "login", "log-in", "logon",
	"sign up", "signup", "sign-up", "sign_up", "register", "registration", "create account", "create an account", "join",
	"forgot", "lost password", "lost your password", "reset", "recover", "password", "account", "resend",
}

func accountLink(l link) bool {
	s := l.text + " " + strings.ToLower(l.u.Path+"?"+l.u.RawQuery)
	return slices.ContainsFunc(accountWords, func(w string) bool { return strings.Contains(s, w) })
}

// logoutLike links would end the session the discovery carries, or do
// something else a crawler should not.
func logoutLike(l link) bool {
	s := l.text + " " + strings.ToLower(l.u.Path+"?"+l.u.RawQuery)
	return slices.ContainsFunc([]string{"logout", "log out", "log-out", "sign out", "signout", "sign-out", "delete", "remove", "destroy", "unsubscribe", "revoke"},
		func(w string) bool { return strings.Contains(s, w) })
}

// fetch GETs u, following redirects, and parses it if it is HTML.
func (d *Discoverer) fetch(ctx context.Context, c *http.Client, u *url.URL, obs *observations) (*page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, body, err := do(c, req)
	if err != nil {
		return nil, err
	}
	obs.record(resp, body)
	p := &page{url: resp.Request.URL, raw: body}
	if loc, err := resp.Location(); err == nil && resp.StatusCode/100 == 3 && loc.Host != u.Host {
		p.url = loc // where it would have gone: the crawl notes it
		return p, nil
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "html") && !bytes.Contains(bytes.ToLower(body[:min(len(body), 512)]), []byte("<html")) {
		return p, nil
	}
	p.doc, err = html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	for n := range p.doc.Descendants() {
		if n.Type != html.ElementNode || n.DataAtom != atom.A {
			continue
		}
		href, ok := getAttr(n, "href")
		if !ok || strings.HasPrefix(href, "javascript:") || strings.HasPrefix(href, "mailto:") {
			continue
		}
		lu, err := p.url.Parse(href)
		if err != nil {
			continue
		}
		lu.Fragment = ""
		title, _ := getAttr(n, "title")
		aria, _ := getAttr(n, "aria-label")
		p.links = append(p.links, link{u: lu, text: strings.ToLower(strings.Join(strings.Fields(textOf(n)+" "+title+" "+aria), " "))})
	}
	return p, nil
}

func getAttr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data + " ")
		}
	}
	return b.String()
}

// input is one form control as the form would submit it.
type input struct {
	name, typ, value string
	id, auto, label  string // lower case, for guessing the identifier
}

// forms returns the account forms of the page, and the actions of the
// POST forms that post to another host.
func (p *page) forms(base *url.URL) ([]DiscoveredForm, []string) {
	if p.doc == nil {
		return nil, nil
	}
	var out []DiscoveredForm
	var elsewhere []string
	idx := -1
	for n := range p.doc.Descendants() {
		if n.Type != html.ElementNode || n.DataAtom != atom.Form {
			continue
		}
		idx++
		if f, ok := p.form(n, idx, base); ok {
			out = append(out, f)
			continue
		}
		action, _ := getAttr(n, "action")
		method, _ := getAttr(n, "method")
		if au, err := p.url.Parse(strings.TrimSpace(action)); err == nil && au.Host != base.Host && strings.EqualFold(method, "post") {
			elsewhere = append(elsewhere, au.String())
		}
	}
	return out, elsewhere
}

func (p *page) form(n *html.Node, idx int, base *url.URL) (DiscoveredForm, bool) {
	method, _ := getAttr(n, "method")
	method = strings.ToUpper(strings.TrimSpace(method))
	if method == "" {
		method = http.MethodGet
	}
	action, _ := getAttr(n, "action")
	au, err := p.url.Parse(strings.TrimSpace(action))
	if err != nil || au.Host != base.Host {
		return DiscoveredForm{}, false
	}
	f := DiscoveredForm{Method: method, Page: pathAndQuery(p.url), Action: pathAndQuery(au)}
	inputs, submit := formInputs(n)
	id := guessIdentifier(inputs)
	if id < 0 {
		return DiscoveredForm{}, false
	}
	f.Identifier = inputs[id].name
	f.emailID = emailish(inputs[id])
	if alt := userNameField(inputs, id); alt >= 0 && f.emailID {
		f.alt = inputs[alt].name
	}
	for i, in := range inputs {
		switch {
		case i == id:
			f.Fields = append(f.Fields, Field{Name: in.name, Value: "{{" + VarIdentifier + "}}"})
		case in.typ == "password":
			f.Passwords = append(f.Passwords, in.name)
			f.Fields = append(f.Fields, Field{Name: in.name, Value: "{{" + VarPassword + "}}"})
		case in.typ == "hidden":
			f.Fields = append(f.Fields, Field{Name: in.name, Value: in.value})
			f.hidden = append(f.hidden, in.name)
		case in.typ == "checkbox" || in.typ == "radio":
			// A box checked by default, or one the form requires (terms
			// of use), is sent as a visitor would.
			if in.value != "" {
				f.Fields = append(f.Fields, Field{Name: in.name, Value: in.value})
			}
		default:
			// Another text field (a user name besides the address, a
			// display name): a fresh value each probe, so sign-up forms
			// that want it unique accept it.
			f.Fields = append(f.Fields, Field{Name: in.name, Value: "u{{" + VarRandom + "}}"})
		}
	}
	if submit != nil {
		f.Fields = append(f.Fields, *submit)
	}
	// A hidden field whose name an earlier form of the page uses too (a
	// per-form CSRF token of Rails, a nonce per WordPress action) cannot
	// be taken as the page's first input of that name.
	for _, in := range inputs {
		if in.typ != "hidden" || firstInputIn(p.doc, in.name) == n {
			continue
		}
		if x, ok := p.fieldRegex(idx, in.name, in.value); ok {
			if f.Extract == nil {
				f.Extract = map[string]Extraction{}
			}
			f.Extract[in.name] = x
		}
	}
	urls := strings.ToLower(f.Action + " " + f.Page)
	text := strings.ToLower(textOf(n))
	for _, a := range []string{"name", "id", "class"} {
		if v, ok := getAttr(n, a); ok {
			urls += " " + strings.ToLower(v)
		}
	}
	for _, in := range inputs {
		if in.typ == "submit" || in.typ == "hidden" {
			continue
		}
		text += " " + in.label
	}
	if submit != nil {
		text += " " + strings.ToLower(submit.Value)
	}
	f.Kind, f.Why = formKind(len(f.Passwords), urls, text)
	if f.captcha = SanitizeLine(captcha(n)); f.captcha != "" {
		f.Why += fmt.Sprintf("; it has a CAPTCHA (%s), which the scan cannot solve: switch it off on a test install", f.captcha)
	}
	if f.Kind == "" || method != http.MethodPost {
		return DiscoveredForm{}, false // a search box, a newsletter, a GET form
	}
	return f, true
}

func pathAndQuery(u *url.URL) string {
	s := u.EscapedPath()
	if s == "" {
		s = "/"
	}
	if u.RawQuery != "" {
		s += "?" + u.RawQuery
	}
	return s
}

// formInputs returns the form's controls in order, and the first named
// submit button, which a browser sends with the form.
func formInputs(form *html.Node) ([]input, *Field) {
	var out []input
	var submit *Field
	labels := map[string]string{}
	for n := range form.Descendants() {
		if n.Type == html.ElementNode && n.DataAtom == atom.Label {
			if f, ok := getAttr(n, "for"); ok {
				labels[f] = strings.ToLower(textOf(n))
			}
		}
	}
	for n := range form.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		name, ok := getAttr(n, "name")
		if !ok || name == "" {
			continue
		}
		if _, disabled := getAttr(n, "disabled"); disabled {
			continue
		}
		typ, _ := getAttr(n, "type")
		typ = strings.ToLower(typ)
		value, _ := getAttr(n, "value")
		switch n.DataAtom {
		case atom.Input:
		case atom.Button:
			if (typ == "" || typ == "submit") && submit == nil {
				submit = &Field{Name: name, Value: value}
			}
			continue
		case atom.Select:
			out = append(out, input{name: name, typ: "hidden", value: firstOption(n)})
			continue
		case atom.Textarea:
			typ = "text"
		default:
			continue
		}
		switch typ {
		case "":
			typ = "text"
		case "submit", "image":
			if submit == nil {
				submit = &Field{Name: name, Value: value}
			}
			continue
		case "button", "reset", "file":
			continue
		case "checkbox", "radio":
			_, checked := getAttr(n, "checked")
			_, required := getAttr(n, "required")
			if !checked && !required {
				value = ""
			} else if value == "" {
				value = "on"
			}
		}
		in := input{name: name, typ: typ, value: value}
		if id, ok := getAttr(n, "id"); ok {
			in.id = strings.ToLower(id)
			in.label = labels[id]
		}
		in.auto, _ = getAttr(n, "autocomplete")
		in.auto = strings.ToLower(in.auto)
		out = append(out, in)
	}
	return out, submit
}

func firstOption(sel *html.Node) string {
	first := ""
	for n := range sel.Descendants() {
		if n.Type != html.ElementNode || n.DataAtom != atom.Option {
			continue
		}
		v, ok := getAttr(n, "value")
		if !ok {
			v = strings.TrimSpace(textOf(n))
		}
		if _, sel := getAttr(n, "selected"); sel {
			return v
		}
		if first == "" {
			first = v
		}
	}
	return first
}

// captcha names the CAPTCHA of a form, if it has one: a field or element
// of reCAPTCHA, hCaptcha, Turnstile or one named captcha.
func captcha(form *html.Node) string {
	for n := range form.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		for _, key := range []string{"name", "class", "id"} {
			v, _ := getAttr(n, key)
			v = strings.ToLower(v)
			for _, c := range []string{"g-recaptcha", "h-captcha", "cf-turnstile", "captcha"} {
				if strings.Contains(v, c) {
					return v
				}
			}
		}
	}
	return ""
}

// firstInputIn returns the form that holds the page's first input named
// name, or nil.
func firstInputIn(doc *html.Node, name string) *html.Node {
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.DataAtom != atom.Input {
			continue
		}
		if v, _ := getAttr(n, "name"); v != name {
			continue
		}
		for a := n.Parent; a != nil; a = a.Parent {
			if a.Type == html.ElementNode && a.DataAtom == atom.Form {
				return a
			}
		}
		return nil
	}
	return nil
}

var (
	formTagRE   = regexp.MustCompile(`(?i)<form[\s>]`)
	valueAttrRE = regexp.MustCompile(`(?i)\svalue\s*=\s*(?:"([^"]*)"|'([^']*)')`)
)

// fieldRegex returns a regex extraction that takes the value of the input
// named name inside the page's form number idx (from 0): it skips to that
// form's start tag, then matches the input's tag as written, its value a
// group. It checks the pattern finds value in the page.
func (p *page) fieldRegex(idx int, name, value string) (Extraction, bool) {
	z := html.NewTokenizer(bytes.NewReader(p.raw))
	offset, forms, formStart := 0, -1, -1
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return Extraction{}, false
		}
		raw := string(z.Raw())
		start := offset
		offset += len(raw)
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		t := z.Token()
		if t.Data == "form" {
			forms++
			if forms == idx {
				formStart = start
			}
			continue
		}
		if formStart < 0 || t.Data != "input" {
			continue
		}
		if v, _ := attr(t, "name"); v != name {
			continue
		}
		m := valueAttrRE.FindStringSubmatchIndex(raw)
		if m == nil {
			return Extraction{}, false
		}
		vs, ve := m[2], m[3]
		if vs < 0 {
			vs, ve = m[4], m[5]
		}
		k := len(formTagRE.FindAllIndex(p.raw[:formStart], -1)) + 1
		pattern := fmt.Sprintf(`(?is)^(?:.*?<form[\s>]){%d}.*?%s([^"'<>]*)%s`, k, regexp.QuoteMeta(raw[:vs]), regexp.QuoteMeta(raw[ve:]))
		re, err := regexp.Compile(pattern)
		if err != nil {
			return Extraction{}, false
		}
		got := re.FindSubmatch(p.raw)
		if got == nil || html.UnescapeString(string(got[1])) != value {
			return Extraction{}, false
		}
		return Extraction{From: FromRegex, Arg: pattern, re: re}, true
	}
}

// guessIdentifier returns the index of the field that takes the account's
// identifier, or -1: an email field first, then a field whose name, id,
// autocomplete or label speaks of mail, login or user, then the one text
// field of a form with a password field.
func guessIdentifier(ins []input) int {
	textLike := func(in input) bool {
		return in.typ == "text" || in.typ == "email" || in.typ == "tel"
	}
	for i, in := range ins {
		if in.typ == "email" {
			return i
		}
	}
	for _, words := range [][]string{{"email", "mail"}, {"login", "username", "user", "ident"}} {
		for i, in := range ins {
			if !textLike(in) {
				continue
			}
			s := strings.ToLower(in.name) + " " + in.id + " " + in.auto + " " + in.label
			if slices.ContainsFunc(words, func(w string) bool { return strings.Contains(s, w) }) {
				return i
			}
		}
	}
	text, pw := -1, false
	for i, in := range ins {
		switch {
		case in.typ == "password":
			pw = true
		case textLike(in):
			if text >= 0 {
				return -1
			}
			text = i
		}
	}
	if pw {
		return text
	}
	return -1
}

// emailish reports whether a field takes an email address.
func emailish(in input) bool {
	return in.typ == "email" || strings.Contains(strings.ToLower(in.name)+" "+in.id+" "+in.auto+" "+in.label, "mail")
}

// userNameField returns the index of a text field other than id that
// takes a user name, or -1.
func userNameField(ins []input, id int) int {
	for i, in := range ins {
		if i == id || in.typ != "text" || emailish(in) {
			continue
		}
		s := strings.ToLower(in.name) + " " + in.id + " " + in.auto + " " + in.label
		if slices.ContainsFunc([]string{"login", "user", "nick"}, func(w string) bool { return strings.Contains(s, w) }) {
			return i
		}
	}
	return -1
}

// formKind decides what an account form does from its password fields and
// the words of its URLs (action and page, which weigh first) and text.
func formKind(passwords int, urls, text string) (Kind, string) {
	registerWords := []string{"register", "signup", "sign-up", "sign_up", "sign up", "create account", "create an account", "join", "registration"}
	resetWords := []string{"forgot", "lostpassword", "lost password", "lost your password", "reset", "recover", "resetpass", "resendpwd"}
	resendWords := []string{"resend", "verify", "confirmation"}
	loginWords := []string{"login", "log in", "log-in", "signin", "sign in", "sign_in", "sign-in", "session"}
	find := func(words string, ws []string) string {
		for _, w := range ws {
			if strings.Contains(words, w) {
				return w
			}
		}
		return ""
	}
	if passwords >= 2 {
		return KindRegister, "two password fields (a password and its confirmation)"
	}
	for _, words := range []string{urls, urls + " " + text} {
		if passwords == 1 {
			// A full-form sign-up with one password field says so in
			// its URL; a sign-in form may mention signing up anywhere.
			if find(words, loginWords) != "" {
				return KindLogin, "an identifier and one password field"
			}
			if w := find(words, registerWords); w != "" {
				return KindRegister, fmt.Sprintf("one password field and %q", w)
			}
			continue
		}
		if w := find(words, resetWords); w != "" {
			return KindReset, fmt.Sprintf("an identifier, no password field, and %q", w)
		}
		if w := find(words, registerWords); w != "" {
			return KindRegister, fmt.Sprintf("an identifier, no password field, and %q (a sign-up that mails a link)", w)
		}
		if w := find(words, resendWords); w != "" {
			return KindResend, fmt.Sprintf("an identifier, no password field, and %q", w)
		}
	}
	if passwords == 1 {
		return KindLogin, "an identifier and one password field"
	}
	return "", ""
}

// csrfNameRE matches the names of hidden fields that hold tokens; their
// value is taken from the page on every probe even when two fetches show
// the same value (a token tied to the session cookie).
var csrfNameRE = regexp.MustCompile(`(?i)csrf|xsrf|token|nonce|sectok|authenticity|verification|^state$|execution|session_code|formkey|_wpnonce`)

// freshFields fetches each form's page a second time in a fresh cookie jar
// and marks the hidden fields whose value changed, or whose name says
// token, as fresh: the target's before step takes them from the page.
func (d *Discoverer) freshFields(ctx context.Context, base *url.URL, forms []DiscoveredForm) {
	for i := range forms {
		f := &forms[i]
		second := d.hiddenValues(ctx, base, f)
		for j, fl := range f.Fields {
			if !slices.Contains(f.hidden, fl.Name) {
				continue
			}
			v, ok := second[fl.Name]
			if ok && v == fl.Value && !csrfNameRE.MatchString(fl.Name) {
				continue // the same on every fetch: sent as it is
			}
			f.Fresh = append(f.Fresh, fl.Name)
			f.Fields[j].Value = "{{" + f.varName(fl.Name) + "}}"
		}
	}
}

// same reports whether g is the same form as f reached another way: of the
// same kind, method and fields. Sites put the page to return to in the
// form's address (MediaWiki's returnto=, next=), so the same sign-in form
// shows up under many addresses; those are one endpoint.
func (f DiscoveredForm) same(g DiscoveredForm) bool {
	names := func(fs []Field) []string {
		var out []string
		for _, fl := range fs {
			out = append(out, fl.Name)
		}
		slices.Sort(out)
		return out
	}
	return f.Kind == g.Kind && f.Method == g.Method && slices.Equal(names(f.Fields), names(g.Fields))
}

// plainer reports whether f's addresses suit the target better than g's,
// for the same form: a page whose address names what it is for (a
// DokuWiki sign-in form also shows on do=edit) before others, then the
// shorter addresses.
func (f DiscoveredForm) plainer(g DiscoveredForm) bool {
	named := func(d DiscoveredForm) bool {
		return accountLink(link{u: &url.URL{Path: strings.ToLower(d.Page)}})
	}
	if named(f) != named(g) {
		return named(f)
	}
	return len(f.Action)+len(f.Page) < len(g.Action)+len(g.Page)
}

// varName is the target variable that holds fresh field name's value: the
// name made a valid variable name, distinct from the built-in ones.
func (f *DiscoveredForm) varName(name string) string {
	v := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, name)
	if v == "" || !(v[0] >= 'a' && v[0] <= 'z' || v[0] >= 'A' && v[0] <= 'Z') || slices.Contains(builtins, v) {
		v = "v" + v
	}
	return v
}

// hiddenValues fetches f's page again in a fresh cookie jar and returns
// the values of the same form's hidden fields, by name.
func (d *Discoverer) hiddenValues(ctx context.Context, base *url.URL, f *DiscoveredForm) map[string]string {
	u, err := base.Parse(f.Page)
	if err != nil {
		return nil
	}
	p, err := d.fetch(ctx, d.client(), u, newObservations())
	if err != nil || p.doc == nil {
		return nil
	}
	idx := -1
	for n := range p.doc.Descendants() {
		if n.Type != html.ElementNode || n.DataAtom != atom.Form {
			continue
		}
		idx++
		g, ok := p.form(n, idx, base)
		if !ok || g.Kind != f.Kind || g.Action != f.Action {
			continue
		}
		out := map[string]string{}
		ins, _ := formInputs(n)
		for _, in := range ins {
			if in.typ == "hidden" {
				out[in.name] = in.value
			}
		}
		return out
	}
	return nil
}

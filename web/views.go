package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/tacitauth/tacit/flow"
)

// templateFS holds the page templates: layout.html (the frame and shared
// blocks) and one file per page defining "content".
//
//go:embed templates/*.html
var templateFS embed.FS

// styleCSS is the one stylesheet, served at /static/style.css.
//
//go:embed static/style.css
var styleCSS []byte

// scriptJS is the one script, served at /static/tacit.js: it moves focus
// to an error summary and adds copy buttons. Pages work without it.
//
//go:embed static/tacit.js
var scriptJS []byte

// styleVersion changes whenever the stylesheet does. Pages link to the
// stylesheet with it as a query string, so browsers may cache the file for
// a long time and still fetch a new one after an upgrade.
var styleVersion = contentVersion(styleCSS)

// scriptVersion is styleVersion for the script.
var scriptVersion = contentVersion(scriptJS)

// contentVersion is a short hash of a static file's content.
func contentVersion(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// views renders the HTML pages.
type views struct {
	product string
	ck      cookies
	log     *slog.Logger
	pages   map[string]*template.Template
}

func newViews(product string, ck cookies, log *slog.Logger) *views {
	return &views{product: product, ck: ck, log: log, pages: parsePages()}
}

// parsePages builds one template set per page: the layout plus that page's
// "content". Templates are embedded, so a parse error is a build mistake
// and panics at start-up rather than on some later request.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").
		Funcs(template.FuncMap{"input": newInput}).
		ParseFS(templateFS, "templates/layout.html"))
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, f))
	}
	return pages
}

// page is what every template sees. Handlers fill the fields their page
// uses; render fills the rest.
type page struct {
	Product   string
	Title     string
	StyleHref string
	// ScriptHref is the script's URL, with its content hash.
	ScriptHref string
	CSRF       string // the token for the hidden csrf_token field

	Message string            // an error for the whole page or form
	Notice  string            // news that is not an error ("Your password is changed.")
	Values  map[string]string // what the user typed, shown again (never passwords)
	Errors  map[string]string // field → human message
	Hints   map[string]string // field → help text
	Order   []string          // fields in page order, for the error summary
	// Wording is how this form words some field errors ("field:code" →
	// sentence) where the general sentence would not fit.
	Wording map[string]string
	// IDPrefix keeps element ids unique when a page has several forms
	// with fields of the same name (the account page).
	IDPrefix string

	FullForm bool   // register: ask for a password too
	Token    string // complete, verify, reset, email confirm: the mailed token, in a hidden field
	Next     string // login: where to go once signed in (a local path), in a hidden field
	Email    string // home, account: the signed-in address
	// Address is the address a mailed link is about (complete, verify,
	// reset, email confirm), shown on the page and in a hidden username
	// field for password managers. The link's holder reads it in their
	// own mailbox: showing it tells them nothing new.
	Address string
	Since   string    // account: when the account was made
	Mails   []devMail // dev mailbox
	Wide    bool      // a wider column, for pages of text such as mail

	// The account page's forms and session list.
	PasswordForm *page
	EmailForm    *page
	Sessions     []sessionRow
	OtherDevices bool // a session other than this one is live

	// The account page's MFA section.
	MFA            *flow.MFAStatus
	RecoveryCodes  []string // just made: shown this once
	MFAEnableForm  *page
	MFADisableForm *page
	RenewForm      *page // new recovery codes, with the password
	// Recovery asks for a recovery code instead of an app's code
	// (login_mfa).
	Recovery bool
}

// ErrorList is the field errors in page order, for the summary at the top.
func (p page) ErrorList() []fieldError {
	var out []fieldError
	for _, f := range p.Order {
		if msg, ok := p.Errors[f]; ok {
			out = append(out, fieldError{ID: p.IDPrefix + f, Message: msg})
		}
	}
	return out
}

type fieldError struct{ ID, Message string }

// SetupLink is the otpauth:// link of a TOTP set-up in progress, for the
// phone that has the authenticator app. html/template would neutralise a
// URL of that scheme, so it is let through here, and only it.
func (p page) SetupLink() template.URL {
	if p.MFA == nil || p.MFA.Pending == nil || !strings.HasPrefix(p.MFA.Pending.URI, "otpauth://") {
		return ""
	}
	return template.URL(p.MFA.Pending.URI)
}

// CodesText is the recovery codes as the download holds them.
func (p page) CodesText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Recovery codes for your %s account %s\n", p.Product, p.Email)
	b.WriteString("Each code signs you in once, in place of a code from your authenticator app.\n\n")
	for _, c := range p.RecoveryCodes {
		b.WriteString(c + "\n")
	}
	return b.String()
}

// CodesDownload is a data: URL of CodesText, for a download link: the
// codes are stored only hashed, so no endpoint could serve them later.
// A download is not a fetch the Content-Security-Policy governs.
func (p page) CodesDownload() template.URL {
	return template.URL("data:text/plain;charset=utf-8," + url.PathEscape(p.CodesText()))
}

// input is one labelled form control, with its hint and error tied to it
// by aria-describedby so screen readers announce them.
type input struct {
	ID, Name, Label, Type, Autocomplete string
	Value, Hint, Error                  string
}

// Describedby lists the ids of the hint and error shown for the input.
func (in input) Describedby() string {
	var ids []string
	if in.Hint != "" {
		ids = append(ids, in.ID+"-hint")
	}
	if in.Error != "" {
		ids = append(ids, in.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// newInput is the template function "input": name, label, type,
// autocomplete, and the page (or form) whose values, hints and errors
// apply.
func newInput(name, label, typ, autocomplete string, p page) input {
	in := input{ID: p.IDPrefix + name, Name: name, Label: label, Type: typ, Autocomplete: autocomplete,
		Hint: p.Hints[name], Error: p.Errors[name]}
	if typ != "password" {
		in.Value = p.Values[name]
	}
	return in
}

// render writes page name with status. It issues the CSRF cookie when the
// request has none, so every form on the page can be posted.
func (v *views) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := v.pages[name]
	if !ok {
		panic("web: no page template " + name)
	}
	p.Product = v.product
	p.StyleHref = "/static/style.css?v=" + styleVersion
	p.ScriptHref = "/static/tacit.js?v=" + scriptVersion
	p.CSRF = v.ck.csrfToken(w, r)
	for _, f := range []*page{p.PasswordForm, p.EmailForm, p.MFAEnableForm, p.MFADisableForm, p.RenewForm} {
		if f != nil {
			f.CSRF = p.CSRF
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		logError(v.log, r, "render page", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage renders a page that explains a failed request.
func (v *views) errorPage(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	v.render(w, r, status, "error", page{Title: title, Message: message})
}

// internalError logs err and renders a page that says nothing about it.
func (v *views) internalError(w http.ResponseWriter, r *http.Request, err error) {
	logError(v.log, r, "flow failed", err)
	v.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"The server could not finish your request. Please try again in a moment. Reference: "+requestID(r)+".")
}

// seeOther redirects after a successful form post, so reloading the next
// page does not post the form again.
func seeOther(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

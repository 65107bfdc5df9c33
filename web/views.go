package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
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

// workerJS is the proof-of-work worker, served at /static/pow-worker.js:
// tacit.js starts it on a form that needs a browser check (see proof.go).
//
//go:embed static/pow-worker.js
var workerJS []byte

// styleVersion changes whenever the stylesheet does. Pages link to the
// stylesheet with it as a query string, so browsers may cache the file for
// a long time and still fetch a new one after an upgrade.
var styleVersion = contentVersion(styleCSS)

// scriptVersion is styleVersion for the script.
var scriptVersion = contentVersion(scriptJS)

// workerVersion is styleVersion for the worker.
var workerVersion = contentVersion(workerJS)

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
	// fa says where sign-in may send a browser back to.
	fa forwardAuth
	// passkeys says whether the pages offer passkeys (flow.Service's
	// PasskeysOn).
	passkeys bool
}

func newViews(product string, ck cookies, log *slog.Logger, passkeys bool) *views {
	return &views{product: product, ck: ck, log: log, pages: parsePages(), passkeys: passkeys}
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

// pageData is the data of one page: a struct that embeds frame, with the
// fields of its own template.
type pageData interface{ base() *frame }

// frame is what every page shows, whatever its content: the layout's
// fields and the page's own message. A page with nothing else to show
// (a notice, an error) is a frame alone.
type frame struct {
	page string // the template: templates/<page>.html

	Product   string
	Title     string
	StyleHref string
	// ScriptHref is the script's URL, with its content hash.
	ScriptHref string
	CSRF       string // the token for the hidden csrf_token field

	Message string // an error about the whole page (the error page)
	Notice  string // news that is not an error ("Your password is changed.")
	// SignedInAs is the signed-in address, on the pages that show it.
	SignedInAs string
	Wide       bool // a wider column, for pages of text such as mail
	// Refresh, if set, is where the page sends the browser at once (a
	// meta refresh, which needs no script).
	Refresh string
	// Passkeys says that the pages offer passkeys, which the script
	// drives: without it, or without the script, none is offered.
	Passkeys bool
}

func (f *frame) base() *frame { return f }

// plain builds a page with nothing but its frame.
func plain(page, title string) func() pageData {
	return func() pageData { return &frame{page: page, Title: title} }
}

// form is one form on a page: what was typed, what to fix, and how this
// form words it.
type form struct {
	// IDPrefix keeps element ids unique when a page has several forms
	// with fields of the same name (the account page).
	IDPrefix string
	Order    []string          // fields in page order, for the error summary
	Values   map[string]string // what the user typed, shown again (never passwords)
	Errors   map[string]string // field → human message
	Hints    map[string]string // field → help text
	// Wording is how this form words some field errors ("field:code" →
	// sentence) where the general sentence would not fit.
	Wording map[string]string
	Message string // an error about the whole form ("Too many attempts…")
	// Proof, when set, is the browser check the form must pass before
	// it is sent (see attachProof).
	Proof *proofWidget
}

// ErrorList is the field errors in page order, for the summary at the top.
func (f form) ErrorList() []fieldError {
	var out []fieldError
	for _, name := range f.Order {
		if msg, ok := f.Errors[name]; ok {
			out = append(out, fieldError{ID: f.IDPrefix + name, Message: msg})
		}
	}
	return out
}

type fieldError struct{ ID, Message string }

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
// autocomplete, and the form whose values, hints and errors apply.
func newInput(name, label, typ, autocomplete string, f form) input {
	in := input{ID: f.IDPrefix + name, Name: name, Label: label, Type: typ, Autocomplete: autocomplete,
		Hint: f.Hints[name], Error: f.Errors[name]}
	if typ != "password" {
		in.Value = f.Values[name]
	}
	return in
}

// render writes page p with status. It issues the CSRF cookie when the
// request has none, so every form on the page can be posted.
func (v *views) render(w http.ResponseWriter, r *http.Request, status int, p pageData) {
	f := p.base()
	t, ok := v.pages[f.page]
	if !ok {
		panic("web: no page template " + f.page)
	}
	f.Product = v.product
	f.StyleHref = "/static/style.css?v=" + styleVersion
	f.ScriptHref = "/static/tacit.js?v=" + scriptVersion
	f.CSRF = v.ck.csrfToken(w, r)
	f.Passkeys = v.passkeys
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
	v.render(w, r, status, &frame{page: "error", Title: title, Message: message})
}

// internalError logs err and renders a page that says nothing about it.
func (v *views) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if storageRefused(w, r, v.log, err) {
		v.errorPage(w, r, http.StatusServiceUnavailable, "Please try again later",
			"The server cannot save anything just now. Nothing was changed; please try again in a few minutes. Reference: "+requestID(r)+".")
		return
	}
	logError(v.log, r, "flow failed", err)
	v.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"The server could not finish your request. Please try again in a moment. Reference: "+requestID(r)+".")
}

// seeOther redirects after a successful form post, so reloading the next
// page does not post the form again.
func seeOther(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

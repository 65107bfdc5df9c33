package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	texttemplate "text/template"

	"github.com/tacitauth/tacit"
)

// templateFS holds one file per mail kind plus the shared layout. A kind's
// file defines three blocks: "<kind>.subject" and "<kind>.text" (run as
// text/template) and "<kind>.html" (run as html/template). Adding a kind is
// adding such a file; nothing in Go changes.
//
//go:embed templates/*.tmpl
var templateFS embed.FS

// Both sets parse the same files. Each only ever executes its own blocks,
// so html/template's contextual escaping applies to every HTML body and
// never to the plain text, which must stay unescaped.
var (
	textTemplates = texttemplate.Must(texttemplate.New("").
			Option("missingkey=error").
			Funcs(texttemplate.FuncMap{"action": newAction}).
			ParseFS(templateFS, "templates/*.tmpl"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").
			Option("missingkey=error").
			Funcs(htmltemplate.FuncMap{"action": newAction}).
			ParseFS(templateFS, "templates/*.tmpl"))
)

// Message is a rendered mail, ready for a Sender.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Renderer turns queued mail into messages. Product names the service in
// every mail; Links.Base is the public base URL shown in the footer.
type Renderer struct {
	Product string
	Links   tacit.Links
}

// DefaultProduct is the name used when Renderer.Product is empty.
const DefaultProduct = "tacit"

// view is what every template sees. Data holds the mail's own values
// (links with secret tokens); templates read them as .Data.link and so on,
// and a missing key is an error rather than an empty link.
type view struct {
	Product string
	Home    string
	Subject string
	Data    map[string]string
}

// action is one link in an HTML mail: a button and its raw URL.
type action struct {
	URL   string
	Label string
}

func newAction(url, label string) action { return action{URL: url, Label: label} }

// ErrUnknownKind is returned by Render for a kind that has no templates.
var ErrUnknownKind = errors.New("unknown mail kind")

// Render fills the templates of m.Kind. It fails for a kind without
// templates (MailNone included: it is never rendered) and for a mail that
// lacks a value its templates use.
func (r Renderer) Render(m tacit.Mail) (Message, error) {
	name := string(m.Kind)
	if !HasTemplates(m.Kind) {
		return Message{}, fmt.Errorf("render %q: %w", name, ErrUnknownKind)
	}
	if r.Links.Base == nil {
		return Message{}, errors.New("render: renderer has no base URL")
	}
	v := view{Product: r.product(), Home: r.Links.Home(), Data: m.Data}
	if v.Data == nil {
		v.Data = map[string]string{}
	}

	subject, err := execText(name+".subject", v)
	if err != nil {
		return Message{}, err
	}
	// A subject is one header line: collapsing all whitespace keeps a
	// newline in a template or value from breaking the header.
	v.Subject = strings.Join(strings.Fields(subject), " ")

	text, err := execText(name+".text", v)
	if err != nil {
		return Message{}, err
	}
	var html bytes.Buffer
	if err := htmlTemplates.ExecuteTemplate(&html, name+".html", v); err != nil {
		return Message{}, fmt.Errorf("render %s.html: %w", name, err)
	}
	return Message{To: m.To, Subject: v.Subject, Text: tidyText(text), HTML: html.String()}, nil
}

// HasTemplates reports whether kind can be rendered: its three blocks exist.
func HasTemplates(kind tacit.MailKind) bool {
	name := string(kind)
	return textTemplates.Lookup(name+".subject") != nil &&
		textTemplates.Lookup(name+".text") != nil &&
		htmlTemplates.Lookup(name+".html") != nil
}

func (r Renderer) product() string {
	if r.Product == "" {
		return DefaultProduct
	}
	return r.Product
}

func execText(name string, v view) (string, error) {
	var b strings.Builder
	if err := textTemplates.ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return b.String(), nil
}

var blankLines = regexp.MustCompile(`\n[ \t]*\n(?:[ \t]*\n)+`)

// tidyText removes the blank lines that template actions leave behind, so
// the plain-text body reads as written: paragraphs one blank line apart.
func tidyText(s string) string {
	s = blankLines.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s) + "\n"
}

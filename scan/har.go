package scan

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// harLog is the part of a HAR 1.2 file (an HTTP archive, as browsers'
// developer tools save it) that DiscoverHAR reads.
type harLog struct {
	Log struct {
		Entries []harEntry `json:"entries"`
	} `json:"log"`
}

type harEntry struct {
	Request struct {
		Method   string    `json:"method"`
		URL      string    `json:"url"`
		Headers  []harPair `json:"headers"`
		Cookies  []harPair `json:"cookies"`
		PostData *struct {
			MimeType string    `json:"mimeType"`
			Text     string    `json:"text"`
			Params   []harPair `json:"params"`
		} `json:"postData"`
	} `json:"request"`
	Response struct {
		Status  int       `json:"status"`
		Headers []harPair `json:"headers"`
		Cookies []harPair `json:"cookies"`
		Content struct {
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
			Encoding string `json:"encoding"`
		} `json:"content"`
	} `json:"response"`
}

type harPair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

var emailLikeRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// DiscoverHAR reads a HAR file recorded in a browser while signing in,
// signing up or asking for a password reset, and returns the account
// requests it holds as a Discovery: every POST with a form or flat JSON
// body that carries an email-looking value or a user name field, its kind
// decided by its password fields, path and field names. A field or header
// that carries a token is taken, on every probe, from the page of the
// recording that held its value (a hidden input, a meta tag or a cookie).
func DiscoverHAR(r io.Reader) (*Discovery, error) {
	var h harLog
	if err := json.NewDecoder(r).Decode(&h); err != nil {
		return nil, fmt.Errorf("not a HAR file: %w", err)
	}
	entries := h.Log.Entries
	if len(entries) == 0 {
		return nil, errors.New("the HAR file has no entries")
	}
	obs := newObservations()
	d := &Discovery{}
	for i, e := range entries {
		u, err := url.Parse(e.Request.URL)
		if err != nil || u.Host == "" {
			continue
		}
		noteHAR(obs, u, e)
		if e.Request.Method != "POST" {
			continue
		}
		if d.Base != nil && u.Host != d.Base.Host {
			continue // one application: the host of the first account request
		}
		f, ok := harOptions(u, e)
		if !ok && e.Request.PostData != nil {
			f, ok = harForm(entries[:i], u, e)
		}
		if !ok {
			continue
		}
		if d.Base == nil {
			d.Base = &url.URL{Scheme: u.Scheme, Host: u.Host}
		}
		if !slices.ContainsFunc(d.Forms, func(g DiscoveredForm) bool { return g.Kind == f.Kind && g.Action == f.Action }) {
			d.Forms = append(d.Forms, f)
		}
	}
	if d.Base == nil {
		return nil, errors.New("the HAR file has no POST that carries an email address or a user name, nor one answered with WebAuthn request options")
	}
	slices.SortStableFunc(d.Forms, func(a, b DiscoveredForm) int { return kindRank(a.Kind) - kindRank(b.Kind) })
	d.Framework = DetectFramework(obs.signals(nil))
	return d, nil
}

// harOptions makes a passkey options endpoint (kind webauthn_options) of
// a recorded POST answered with WebAuthn request options: the identifier
// in its email-looking or user-named field, or no identifier at all (a
// sign-in with discoverable credentials).
func harOptions(u *url.URL, e harEntry) (DiscoveredForm, bool) {
	body := []byte(e.Response.Content.Text)
	if e.Response.Content.Encoding == "base64" {
		b, err := base64.StdEncoding.DecodeString(e.Response.Content.Text)
		if err != nil {
			return DiscoveredForm{}, false
		}
		body = b
	}
	if _, ok := parseRequestOptions(body); !ok || e.Response.Status >= 400 {
		return DiscoveredForm{}, false
	}
	f := DiscoveredForm{Kind: KindWebAuthnOptions, Method: "POST", Action: pathAndQuery(u),
		Why: "a recorded POST answered with WebAuthn request options, with no identifier (discoverable credentials)"}
	if e.Request.PostData == nil {
		return f, true
	}
	f.JSON = strings.Contains(e.Request.PostData.MimeType, "json")
	f.Fields = harFields(e)
	id := slices.IndexFunc(f.Fields, func(fl Field) bool { return emailLikeRE.MatchString(fl.Value) })
	if id < 0 {
		id = slices.IndexFunc(f.Fields, func(fl Field) bool {
			return regexp.MustCompile(`(?i)mail|user|login|ident|name`).MatchString(fl.Name) && fl.Value != ""
		})
	}
	if id >= 0 {
		f.Identifier = f.Fields[id].Name
		f.Fields[id].Value = "{{" + VarIdentifier + "}}"
		f.Why = fmt.Sprintf("a recorded POST answered with WebAuthn request options, the identifier in %q", f.Identifier)
	}
	return f, true
}

// noteHAR records an entry's cookies, fields and path as a scan would.
func noteHAR(obs *observations, u *url.URL, e harEntry) {
	obs.mu.Lock()
	defer obs.mu.Unlock()
	for _, c := range append(slices.Clone(e.Request.Cookies), e.Response.Cookies...) {
		obs.cookies[c.Name] = true
	}
	obs.paths[u.Path] = true
	obs.hosts[u.Hostname()] = true
	for _, h := range e.Response.Headers {
		switch strings.ToLower(h.Name) {
		case "server", "x-powered-by", "x-generator":
			obs.headers[strings.ToLower(h.Name)+": "+strings.ToLower(h.Value)] = true
		}
	}
	if e.Request.PostData != nil {
		for _, p := range harFields(e) {
			obs.fields[p.Name] = true
		}
	}
	if strings.Contains(e.Response.Content.MimeType, "html") && e.Response.Content.Encoding == "" {
		obs.recordFields([]byte(e.Response.Content.Text))
	}
}

// harFields returns a POST's fields in order, from its params or its form
// or flat JSON text.
func harFields(e harEntry) []Field {
	pd := e.Request.PostData
	if strings.Contains(pd.MimeType, "json") {
		return flatJSON(pd.Text)
	}
	// The body as sent, when the recording has it, is unambiguous;
	// browsers differ in whether they decode params (Firefox does,
	// Chrome does not), and a multipart body has only its params.
	if len(pd.Params) > 0 && (pd.Text == "" || !strings.Contains(pd.MimeType, "urlencoded")) {
		var out []Field
		for _, p := range pd.Params {
			n, v := p.Name, p.Value
			if strings.Contains(pd.MimeType, "urlencoded") {
				n, v = unescapeOr(n), unescapeOr(v)
			}
			out = append(out, Field{Name: n, Value: v})
		}
		return out
	}
	var out []Field
	for _, kv := range strings.Split(pd.Text, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		out = append(out, Field{Name: k, Value: v})
	}
	return out
}

// unescapeOr decodes a form-encoded string, or returns it as it is when it
// is not valid form encoding (a browser that recorded it decoded).
func unescapeOr(s string) string {
	if v, err := url.QueryUnescape(s); err == nil {
		return v
	}
	return s
}

// flatJSON returns the string, number and boolean members of a JSON
// object, in order; nil when the text is not an object.
func flatJSON(text string) []Field {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []Field
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		switch v := v.(type) {
		case string:
			out = append(out, Field{Name: k.(string), Value: v})
		case json.Number:
			out = append(out, Field{Name: k.(string), Value: v.String()})
		case bool:
			out = append(out, Field{Name: k.(string), Value: fmt.Sprint(v)})
		}
	}
	return out
}

// harForm makes an account form of a recorded POST, if it is one. before
// are the entries recorded earlier, where its tokens came from.
func harForm(before []harEntry, u *url.URL, e harEntry) (DiscoveredForm, bool) {
	fields := harFields(e)
	if len(fields) == 0 {
		return DiscoveredForm{}, false
	}
	f := DiscoveredForm{Method: "POST", Action: pathAndQuery(u), JSON: strings.Contains(e.Request.PostData.MimeType, "json")}
	id := slices.IndexFunc(fields, func(fl Field) bool { return emailLikeRE.MatchString(fl.Value) })
	if id < 0 {
		var ins []input
		for _, fl := range fields {
			typ := "text"
			if passwordName(fl.Name) {
				typ = "password"
			}
			ins = append(ins, input{name: fl.Name, typ: typ, value: fl.Value})
		}
		id = guessIdentifier(ins)
		if id < 0 || !regexp.MustCompile(`(?i)mail|user|login|ident`).MatchString(fields[id].Name) {
			return DiscoveredForm{}, false
		}
	}
	f.Identifier = fields[id].Name
	// The words: field names, and the values of the fields that are
	// neither the identifier, a password nor a token (a submit button's
	// "Send me reset password instructions").
	var words []string
	for i, fl := range fields {
		words = append(words, strings.ToLower(fl.Name))
		switch {
		case passwordName(fl.Name):
			f.Passwords = append(f.Passwords, fl.Name)
		case i != id && !csrfNameRE.MatchString(fl.Name):
			words = append(words, strings.ToLower(fl.Value))
		}
	}
	f.Page = harPage(before, u, e)
	f.Kind, f.Why = formKind(len(f.Passwords), strings.ToLower(f.Action+" "+f.Page), strings.Join(words, " "))
	if f.Kind == "" {
		return DiscoveredForm{}, false
	}
	f.Why = "a recorded POST with " + f.Why
	f.Extract = map[string]Extraction{}
	for i, fl := range fields {
		switch {
		case i == id:
			fl.Value = "{{" + VarIdentifier + "}}"
		case passwordName(fl.Name):
			fl.Value = "{{" + VarPassword + "}}"
		case csrfNameRE.MatchString(fl.Name) && fl.Value != "":
			x, src := harSource(before, u, fl.Name, fl.Value)
			f.Fresh = append(f.Fresh, fl.Name)
			f.Extract[fl.Name] = x
			if src != "" {
				f.Page = src
			}
			fl.Value = "{{" + f.varName(fl.Name) + "}}"
		case f.Kind == KindRegister && regexp.MustCompile(`(?i)user|name|login|nick`).MatchString(fl.Name):
			fl.Value = "u{{" + VarRandom + "}}" // must be unique on every sign-up
		}
		f.Fields = append(f.Fields, fl)
	}
	for _, h := range e.Request.Headers {
		if !regexp.MustCompile(`(?i)csrf|xsrf`).MatchString(h.Name) || h.Value == "" {
			continue
		}
		x, src := harSource(before, u, h.Name, h.Value)
		if x.From == FromInput {
			x = Extraction{From: FromMeta, Arg: "csrf-token"} // a script read it from the page; most frameworks put it in a meta tag
		}
		if src != "" {
			f.Page = src
		}
		f.Fresh = append(f.Fresh, h.Name)
		f.Extract[h.Name] = x
		f.Headers = append(f.Headers, Field{Name: h.Name, Value: "{{" + f.varName(h.Name) + "}}"})
	}
	if len(f.Fresh) > 0 && f.Page == "" {
		f.Page = f.Action
	}
	return f, true
}

func passwordName(name string) bool {
	n := strings.ToLower(name)
	return (strings.Contains(n, "pass") || strings.Contains(n, "pwd")) && !csrfNameRE.MatchString(n)
}

// harPage is the path of the page the POST was sent from: its Referer on
// the same host, else the last HTML page of that host recorded before it.
func harPage(before []harEntry, u *url.URL, e harEntry) string {
	for _, h := range e.Request.Headers {
		if strings.EqualFold(h.Name, "Referer") {
			if ru, err := url.Parse(h.Value); err == nil && ru.Host == u.Host {
				return pathAndQuery(ru)
			}
		}
	}
	for i := len(before) - 1; i >= 0; i-- {
		b := before[i]
		bu, err := url.Parse(b.Request.URL)
		if err == nil && bu.Host == u.Host && b.Request.Method == "GET" && strings.Contains(b.Response.Content.MimeType, "html") {
			return pathAndQuery(bu)
		}
	}
	return ""
}

// harSource finds where a recorded token value came from: the last earlier
// answer on the same host that held it, as a hidden input, a meta tag or a
// cookie. It returns the extraction and the path of that answer's request
// ("" when no answer held it: then an input of the form's page is assumed).
func harSource(before []harEntry, u *url.URL, name, value string) (Extraction, string) {
	for i := len(before) - 1; i >= 0; i-- {
		b := before[i]
		bu, err := url.Parse(b.Request.URL)
		if err != nil || bu.Host != u.Host || b.Request.Method != "GET" {
			continue
		}
		for _, c := range b.Response.Cookies {
			if c.Value == value {
				return Extraction{From: FromCookie, Arg: c.Name}, pathAndQuery(bu)
			}
		}
		body := []byte(b.Response.Content.Text)
		if b.Response.Content.Encoding != "" || !bytes.Contains(body, []byte(value)) {
			continue
		}
		if v, err := htmlAttr(body, "input", "name", name, "value"); err == nil && v == value {
			return Extraction{From: FromInput, Arg: name}, pathAndQuery(bu)
		}
		for _, meta := range []string{"csrf-token", "_csrf", "csrf_token", "xsrf-token"} {
			if v, err := htmlAttr(body, "meta", "name", meta, "content"); err == nil && v == value {
				return Extraction{From: FromMeta, Arg: meta}, pathAndQuery(bu)
			}
		}
	}
	for i := len(before) - 1; i >= 0; i-- {
		for _, c := range before[i].Request.Cookies {
			if c.Value == value {
				return Extraction{From: FromCookie, Arg: c.Name}, ""
			}
		}
	}
	return Extraction{From: FromInput, Arg: name}, ""
}

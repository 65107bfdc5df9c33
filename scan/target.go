package scan

import (
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Kind says what an endpoint does; it names the endpoint in findings and
// decides which extra analyses apply (the registration matrix runs on
// KindRegister).
type Kind string

// The endpoint kinds a target file may use.
const (
	KindLogin       Kind = "login"
	KindRegister    Kind = "register"
	KindReset       Kind = "reset"
	KindResend      Kind = "resend"
	KindEmailChange Kind = "email_change"
	KindOther       Kind = "other"
	// KindWebAuthnOptions starts a passkey sign-in: it answers WebAuthn
	// request options (PublicKeyCredentialRequestOptions, possibly as
	// {"publicKey": …}), whose allowCredentials the passkey analysis
	// compares (passkey.go). It may take no identifier at all (a
	// sign-in with discoverable credentials only).
	KindWebAuthnOptions Kind = "webauthn_options"
)

var kinds = []Kind{KindLogin, KindRegister, KindReset, KindResend, KindEmailChange, KindOther, KindWebAuthnOptions}

// Describe says in a few words what an endpoint of kind k does, for
// messages ("the password reset endpoint").
func (k Kind) Describe() string {
	switch k {
	case KindLogin:
		return "sign-in"
	case KindRegister:
		return "sign-up"
	case KindReset:
		return "password reset"
	case KindResend:
		return "verification resend"
	case KindEmailChange:
		return "email change"
	case KindWebAuthnOptions:
		return "passkey options"
	}
	return "account"
}

// Target is a web application to scan, as a target file describes it.
type Target struct {
	// BaseURL is where the application lives; endpoint paths are joined
	// to it.
	BaseURL *url.URL
	// Known are identifiers (usually email addresses) that have accounts.
	Known []string
	// Passwords are the known identifiers' passwords, where the target
	// file gives them (known: [{identifier: …, password: …}]): sign-in
	// endpoints then check that the right password is answered
	// differently from a wrong one (a positive control).
	Passwords map[string]string
	// Headers are sent with every request, before steps included.
	Headers []Field
	// Endpoints are the requests to probe.
	Endpoints []*Endpoint
}

// Endpoint is one request to probe with known and unknown identifiers.
type Endpoint struct {
	Name string
	Kind Kind
	RequestTemplate
	// Before are requests made first, in the same cookie jar, whose
	// answers fill the variables the endpoint uses.
	Before []*Step
}

// Step is a request made before an endpoint's own, to collect variables
// such as a CSRF token or a flow id.
type Step struct {
	RequestTemplate
	Extract []Extraction
}

// RequestTemplate is a request whose strings may hold placeholders:
// {{identifier}}, {{password}}, {{random}} and variables from before steps.
type RequestTemplate struct {
	Method  string
	Path    string // joined to Target.BaseURL; may carry a query
	Headers []Field
	// At most one of Form and JSON is set.
	Form []Field
	JSON *JSONBody
}

// Field is a name and a value template, kept in the order the target
// file lists them.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Source is where an extracted variable's value comes from.
type Source string

// The sources of a variable.
const (
	FromInput  Source = "input"  // value of the HTML <input> with this name
	FromMeta   Source = "meta"   // content of the HTML <meta> with this name
	FromCookie Source = "cookie" // value of the cookie with this name
	FromHeader Source = "header" // value of the response header with this name
	FromJSON   Source = "json"   // value at this path of a JSON body (a.b.0.c)
	FromRegex  Source = "regex"  // first group (or whole match) of this pattern in the body, else in the headers
)

var sources = []Source{FromInput, FromMeta, FromCookie, FromHeader, FromJSON, FromRegex}

// Extraction fills variable Var from a step's answer.
type Extraction struct {
	Var  string
	From Source
	// Arg is the input, meta, cookie or header name, the JSON path or the
	// regular expression.
	Arg string
	re  *regexp.Regexp
}

// Builtin placeholders, filled for every probe.
const (
	VarIdentifier = "identifier" // the identifier probed
	VarPassword   = "password"   // a strong password no account has
	VarRandom     = "random"     // a fresh random string per probe
)

var builtins = []string{VarIdentifier, VarPassword, VarRandom}

// TargetError is a mistake in a target file. Its text is one line naming
// the key: "line 7: endpoints[0].kind: unknown kind "logon"; want one of …".
type TargetError struct {
	Line int    // 0 when unknown
	Key  string // path of the key, e.g. endpoints[1].before[0].extract.csrf
	Msg  string
}

func (e *TargetError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// LoadTarget reads a target file. A mistake gives a *TargetError.
func LoadTarget(r io.Reader) (*Target, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read target: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &TargetError{Msg: "the target file is empty; it needs base_url, known and endpoints"}
	}
	return parseTarget(doc.Content[0])
}

// yamlError turns a syntax error of the YAML library ("yaml: line 3:
// mapping values are not allowed in this context") into a TargetError.
func yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		_, msg, _ = strings.Cut(msg, ": ")
	}
	return &TargetError{Line: line, Msg: "not valid YAML: " + msg}
}

func parseTarget(n *yaml.Node) (*Target, error) {
	pairs, err := mapping(n, "")
	if err != nil {
		return nil, err
	}
	t := &Target{}
	var seen []string
	for _, p := range pairs {
		seen = append(seen, p.key)
		switch p.key {
		case "base_url":
			t.BaseURL, err = baseURL(p.val, p.key)
		case "known":
			t.Known, t.Passwords, err = knownList(p.val, p.key)
			if i := slices.Index(t.Known, KnownPlaceholder); i >= 0 && err == nil {
				err = &TargetError{Line: p.val.Content[i].Line, Key: fmt.Sprintf("known[%d]", i),
					Msg: "is the placeholder tacit scan init writes; replace it with an identifier that has an account (or scan with --known)"}
			}
		case "headers":
			t.Headers, err = fields(p.val, p.key)
		case "endpoints":
			t.Endpoints, err = endpoints(p.val, p.key)
		default:
			err = unknownKey(p, "", "base_url, known, headers, endpoints")
		}
		if err != nil {
			return nil, err
		}
	}
	for _, key := range []string{"base_url", "known", "endpoints"} {
		if !slices.Contains(seen, key) {
			return nil, &TargetError{Line: n.Line, Key: key, Msg: "missing; a target needs base_url, known and endpoints"}
		}
	}
	if err := checkFields(n, "headers", t.Headers, builtins); err != nil {
		return nil, err
	}
	return t, nil
}

func baseURL(n *yaml.Node, key string) (*url.URL, error) {
	s, err := scalar(n, key)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &TargetError{Line: n.Line, Key: key, Msg: fmt.Sprintf("%q is not an http or https URL", s)}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, &TargetError{Line: n.Line, Key: key, Msg: "must not have a query or fragment; put those in the endpoint's path"}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// knownList reads the known identifiers: each a string, or a mapping of
// identifier and password.
func knownList(n *yaml.Node, key string) ([]string, map[string]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, nil, &TargetError{Line: n.Line, Key: key, Msg: "must be a list of identifiers that have accounts"}
	}
	if len(n.Content) == 0 {
		return nil, nil, &TargetError{Line: n.Line, Key: key, Msg: "is empty; list at least one identifier that has an account"}
	}
	var out []string
	var passwords map[string]string
	for i, item := range n.Content {
		ikey := fmt.Sprintf("%s[%d]", key, i)
		var s, password string
		var err error
		if item.Kind == yaml.MappingNode {
			s, password, err = knownAccount(item, ikey)
		} else if s, err = scalar(item, ikey); err != nil {
			err = &TargetError{Line: item.Line, Key: ikey, Msg: "must be an identifier, or {identifier: …, password: …}"}
		}
		if err != nil {
			return nil, nil, err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil, &TargetError{Line: item.Line, Key: ikey, Msg: "is empty"}
		}
		if slices.Contains(out, s) {
			return nil, nil, &TargetError{Line: item.Line, Key: ikey, Msg: fmt.Sprintf("%q is listed twice", s)}
		}
		out = append(out, s)
		if password != "" {
			if passwords == nil {
				passwords = map[string]string{}
			}
			passwords[s] = password
		}
	}
	return out, passwords, nil
}

// knownAccount reads {identifier: …, password: …}; the password is
// optional.
func knownAccount(n *yaml.Node, key string) (id, password string, err error) {
	pairs, err := mapping(n, key)
	if err != nil {
		return "", "", err
	}
	for _, p := range pairs {
		switch p.key {
		case "identifier":
			id, err = scalar(p.val, key+".identifier")
		case "password":
			password, err = scalar(p.val, key+".password")
		default:
			err = unknownKey(p, key, "identifier, password")
		}
		if err != nil {
			return "", "", err
		}
	}
	if id == "" {
		return "", "", &TargetError{Line: n.Line, Key: key + ".identifier", Msg: "missing; an account needs its identifier"}
	}
	return id, password, nil
}

func endpoints(n *yaml.Node, key string) ([]*Endpoint, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, &TargetError{Line: n.Line, Key: key, Msg: "must be a list of endpoints"}
	}
	if len(n.Content) == 0 {
		return nil, &TargetError{Line: n.Line, Key: key, Msg: "is empty; list at least one endpoint"}
	}
	var out []*Endpoint
	names := map[string]bool{}
	for i, item := range n.Content {
		path := fmt.Sprintf("%s[%d]", key, i)
		ep, err := endpoint(item, path)
		if err != nil {
			return nil, err
		}
		if names[ep.Name] {
			return nil, &TargetError{Line: item.Line, Key: path + ".name", Msg: fmt.Sprintf("%q is used by an earlier endpoint; names must be unique", ep.Name)}
		}
		names[ep.Name] = true
		out = append(out, ep)
	}
	return out, nil
}

func endpoint(n *yaml.Node, path string) (*Endpoint, error) {
	pairs, err := mapping(n, path)
	if err != nil {
		return nil, err
	}
	ep := &Endpoint{}
	var rest []pair
	for _, p := range pairs {
		key := path + "." + p.key
		switch p.key {
		case "name":
			ep.Name, err = scalar(p.val, key)
		case "kind":
			ep.Kind, err = kind(p.val, key)
		case "before":
			ep.Before, err = steps(p.val, key)
		default:
			rest = append(rest, p)
		}
		if err != nil {
			return nil, err
		}
	}
	if ep.RequestTemplate, err = requestTemplate(n, path, rest, "name, kind, method, path, json, form, headers, before"); err != nil {
		return nil, err
	}
	if ep.Name == "" {
		return nil, &TargetError{Line: n.Line, Key: path + ".name", Msg: "missing; every endpoint needs a name"}
	}
	if ep.Kind == "" {
		return nil, &TargetError{Line: n.Line, Key: path + ".kind", Msg: "missing; want one of " + joinKinds()}
	}
	if err := checkEndpointVars(n, path, ep); err != nil {
		return nil, err
	}
	return ep, nil
}

// checkEndpointVars makes sure every placeholder is filled by the time it
// is used, and that the identifier is sent at all.
func checkEndpointVars(n *yaml.Node, path string, ep *Endpoint) error {
	have := slices.Clone(builtins)
	usesID := false
	for i, st := range ep.Before {
		key := fmt.Sprintf("%s.before[%d]", path, i)
		if err := st.checkVars(n, key, have); err != nil {
			return err
		}
		usesID = usesID || st.uses(VarIdentifier)
		for _, x := range st.Extract {
			have = append(have, x.Var)
		}
	}
	if err := ep.checkVars(n, path, have); err != nil {
		return err
	}
	// A passkey options endpoint for discoverable credentials takes no
	// identifier: its probes are all alike, and the scan checks that
	// their answers are too.
	if !usesID && !ep.uses(VarIdentifier) && ep.Kind != KindWebAuthnOptions {
		return &TargetError{Line: n.Line, Key: path, Msg: "{{identifier}} appears nowhere in the endpoint or its before steps, so every probe would be the same"}
	}
	return nil
}

func kind(n *yaml.Node, key string) (Kind, error) {
	s, err := scalar(n, key)
	if err != nil {
		return "", err
	}
	if !slices.Contains(kinds, Kind(s)) {
		return "", &TargetError{Line: n.Line, Key: key, Msg: fmt.Sprintf("unknown kind %q; want one of %s", s, joinKinds())}
	}
	return Kind(s), nil
}

func joinKinds() string {
	var s []string
	for _, k := range kinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

func steps(n *yaml.Node, key string) ([]*Step, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, &TargetError{Line: n.Line, Key: key, Msg: "must be a list of requests"}
	}
	var out []*Step
	for i, item := range n.Content {
		st, err := step(item, fmt.Sprintf("%s[%d]", key, i))
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func step(n *yaml.Node, path string) (*Step, error) {
	pairs, err := mapping(n, path)
	if err != nil {
		return nil, err
	}
	st := &Step{}
	var rest []pair
	for _, p := range pairs {
		if p.key != "extract" {
			rest = append(rest, p)
			continue
		}
		if st.Extract, err = extractions(p.val, path+".extract"); err != nil {
			return nil, err
		}
	}
	if st.RequestTemplate, err = requestTemplate(n, path, rest, "method, path, json, form, headers, extract"); err != nil {
		return nil, err
	}
	return st, nil
}

func extractions(n *yaml.Node, key string) ([]Extraction, error) {
	pairs, err := mapping(n, key)
	if err != nil {
		return nil, err
	}
	var out []Extraction
	for _, p := range pairs {
		vkey := key + "." + p.key
		if !validVarName(p.key) {
			return nil, &TargetError{Line: p.line, Key: vkey, Msg: "a variable name is letters, digits and _, starting with a letter"}
		}
		if slices.Contains(builtins, p.key) {
			return nil, &TargetError{Line: p.line, Key: vkey, Msg: fmt.Sprintf("{{%s}} is built in; choose another name", p.key)}
		}
		x, err := extraction(p.key, p.val, vkey)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func extraction(name string, n *yaml.Node, key string) (Extraction, error) {
	want := "want one of " + joinSources()
	pairs, err := mapping(n, key)
	if err != nil {
		return Extraction{}, &TargetError{Line: n.Line, Key: key, Msg: "must say where the value comes from, e.g. {input: csrf_token}; " + want}
	}
	if len(pairs) != 1 {
		return Extraction{}, &TargetError{Line: n.Line, Key: key, Msg: "needs exactly one source; " + want}
	}
	p := pairs[0]
	skey := key + "." + p.key
	if !slices.Contains(sources, Source(p.key)) {
		return Extraction{}, &TargetError{Line: p.line, Key: skey, Msg: fmt.Sprintf("unknown source %q; %s", p.key, want)}
	}
	arg, err := scalar(p.val, skey)
	if err != nil {
		return Extraction{}, err
	}
	if arg == "" {
		return Extraction{}, &TargetError{Line: p.val.Line, Key: skey, Msg: "is empty"}
	}
	x := Extraction{Var: name, From: Source(p.key), Arg: arg}
	if x.From == FromRegex {
		if x.re, err = regexp.Compile(arg); err != nil {
			return Extraction{}, &TargetError{Line: p.val.Line, Key: skey, Msg: "not a valid regular expression: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")}
		}
	}
	return x, nil
}

func joinSources() string {
	var s []string
	for _, src := range sources {
		s = append(s, string(src))
	}
	return strings.Join(s, ", ")
}

// requestTemplate reads the keys an endpoint and a step share.
func requestTemplate(n *yaml.Node, path string, pairs []pair, allowed string) (RequestTemplate, error) {
	var rt RequestTemplate
	var err error
	for _, p := range pairs {
		key := path + "." + p.key
		switch p.key {
		case "method":
			rt.Method, err = method(p.val, key)
		case "path":
			rt.Path, err = requestPath(p.val, key)
		case "headers":
			rt.Headers, err = fields(p.val, key)
		case "form":
			rt.Form, err = fields(p.val, key)
		case "json":
			rt.JSON, err = jsonBody(p.val)
		default:
			err = unknownKey(p, path, allowed)
		}
		if err != nil {
			return rt, err
		}
	}
	if rt.Path == "" {
		return rt, &TargetError{Line: n.Line, Key: path + ".path", Msg: "missing; give the path below base_url, e.g. /login"}
	}
	if rt.Form != nil && rt.JSON != nil {
		return rt, &TargetError{Line: n.Line, Key: path, Msg: "has both json and form; a request has one body"}
	}
	if rt.Method == "" {
		rt.Method = "GET"
		if rt.Form != nil || rt.JSON != nil {
			rt.Method = "POST"
		}
	}
	return rt, nil
}

var methodRE = regexp.MustCompile(`^[A-Z]+$`)

func method(n *yaml.Node, key string) (string, error) {
	s, err := scalar(n, key)
	if err != nil {
		return "", err
	}
	s = strings.ToUpper(s)
	if !methodRE.MatchString(s) {
		return "", &TargetError{Line: n.Line, Key: key, Msg: fmt.Sprintf("%q is not an HTTP method", s)}
	}
	return s, nil
}

func requestPath(n *yaml.Node, key string) (string, error) {
	s, err := scalar(n, key)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(s, "/") {
		return "", &TargetError{Line: n.Line, Key: key, Msg: fmt.Sprintf("%q must start with /; it is joined to base_url", s)}
	}
	return s, nil
}

// fields reads a mapping of names to string templates, in order.
func fields(n *yaml.Node, key string) ([]Field, error) {
	pairs, err := mapping(n, key)
	if err != nil {
		return nil, err
	}
	out := []Field{}
	for _, p := range pairs {
		v, err := scalar(p.val, key+"."+p.key)
		if err != nil {
			return nil, err
		}
		out = append(out, Field{Name: p.key, Value: v})
	}
	return out, nil
}

type pair struct {
	key  string
	line int
	val  *yaml.Node
}

// mapping returns the key/value pairs of a YAML mapping, in order.
func mapping(n *yaml.Node, key string) ([]pair, error) {
	if n.Kind != yaml.MappingNode {
		what := "the file"
		if key != "" {
			what = "this"
		}
		return nil, &TargetError{Line: n.Line, Key: key, Msg: what + " must be a mapping of keys to values"}
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			return nil, &TargetError{Line: k.Line, Key: key, Msg: "keys must be plain strings"}
		}
		if seen[k.Value] {
			return nil, &TargetError{Line: k.Line, Key: joinKey(key, k.Value), Msg: "appears twice"}
		}
		seen[k.Value] = true
		out = append(out, pair{key: k.Value, line: k.Line, val: n.Content[i+1]})
	}
	return out, nil
}

// scalar returns a scalar's text; numbers and booleans are read as the
// text they are written as.
func scalar(n *yaml.Node, key string) (string, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", &TargetError{Line: n.Line, Key: key, Msg: "must be a single value (a string)"}
	}
	return n.Value, nil
}

func unknownKey(p pair, path, allowed string) error {
	return &TargetError{Line: p.line, Key: joinKey(path, p.key), Msg: fmt.Sprintf("unknown key; want one of %s", allowed)}
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var varNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

func validVarName(s string) bool { return varNameRE.MatchString(s) }

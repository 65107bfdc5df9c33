package scan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"go.yaml.in/yaml/v3"
)

// placeholderRE matches {{name}}, spaces inside the braces allowed.
var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}`)

// placeholders returns the variable names s uses, in order.
func placeholders(s string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// expand replaces every placeholder in s by lookup's value for it.
func expand(s string, lookup func(name string) string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		return lookup(placeholderRE.FindStringSubmatch(m)[1])
	})
}

// JSONBody is a JSON request body whose strings may hold placeholders.
// Keys keep the order of the target file.
type JSONBody struct {
	root *jsonNode
}

type jsonKind int

const (
	jsonObject jsonKind = iota
	jsonArray
	jsonString  // text is a template
	jsonLiteral // text is JSON: a number, true, false or null
)

type jsonNode struct {
	kind  jsonKind
	keys  []string    // object keys, in order
	items []*jsonNode // object values or array items
	text  string
}

func jsonBody(n *yaml.Node) (*JSONBody, error) {
	root, err := toJSON(n)
	if err != nil {
		return nil, err
	}
	return &JSONBody{root: root}, nil
}

func toJSON(n *yaml.Node) (*jsonNode, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		out := &jsonNode{kind: jsonObject}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := toJSON(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out.keys = append(out.keys, n.Content[i].Value)
			out.items = append(out.items, v)
		}
		return out, nil
	case yaml.SequenceNode:
		out := &jsonNode{kind: jsonArray}
		for _, c := range n.Content {
			v, err := toJSON(c)
			if err != nil {
				return nil, err
			}
			out.items = append(out.items, v)
		}
		return out, nil
	case yaml.ScalarNode:
		if n.Tag == "!!str" || n.Tag == "" {
			return &jsonNode{kind: jsonString, text: n.Value}, nil
		}
		// Numbers, booleans and null keep their type in the body.
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, &TargetError{Line: n.Line, Key: "json", Msg: err.Error()}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, &TargetError{Line: n.Line, Key: "json", Msg: fmt.Sprintf("%q cannot be written as JSON", n.Value)}
		}
		return &jsonNode{kind: jsonLiteral, text: string(b)}, nil
	}
	return nil, &TargetError{Line: n.Line, Key: "json", Msg: "unsupported YAML value"}
}

// render writes the body with placeholders expanded.
func (b *JSONBody) render(lookup func(string) string) []byte {
	var buf bytes.Buffer
	b.root.write(&buf, lookup)
	return buf.Bytes()
}

func (n *jsonNode) write(buf *bytes.Buffer, lookup func(string) string) {
	switch n.kind {
	case jsonObject:
		buf.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, k)
			buf.WriteByte(':')
			n.items[i].write(buf, lookup)
		}
		buf.WriteByte('}')
	case jsonArray:
		buf.WriteByte('[')
		for i, it := range n.items {
			if i > 0 {
				buf.WriteByte(',')
			}
			it.write(buf, lookup)
		}
		buf.WriteByte(']')
	case jsonString:
		writeJSONString(buf, expand(n.text, lookup))
	case jsonLiteral:
		buf.WriteString(n.text)
	}
}

// writeJSONString writes s as a JSON string without escaping <, > and &,
// so the server receives the characters the target file has.
func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)           // a string always encodes
	buf.Truncate(buf.Len() - 1) // Encode adds a newline
}

// strings calls fn with every string template of the body, in order.
func (b *JSONBody) strings(fn func(string)) {
	var walk func(*jsonNode)
	walk = func(n *jsonNode) {
		if n.kind == jsonString {
			fn(n.text)
		}
		for _, it := range n.items {
			walk(it)
		}
	}
	walk(b.root)
}

// String renders the template with its placeholders as written.
func (b *JSONBody) String() string {
	return string(b.render(func(name string) string { return "{{" + name + "}}" }))
}

// templates calls fn with every template string of the request and the key
// that holds it.
func (rt *RequestTemplate) templates(fn func(key, s string)) {
	fn("path", rt.Path)
	for _, h := range rt.Headers {
		fn("headers."+h.Name, h.Value)
	}
	for _, f := range rt.Form {
		fn("form."+f.Name, f.Value)
	}
	if rt.JSON != nil {
		rt.JSON.strings(func(s string) { fn("json", s) })
	}
}

// uses reports whether the request mentions variable name.
func (rt *RequestTemplate) uses(name string) bool {
	found := false
	rt.templates(func(_, s string) {
		found = found || slices.Contains(placeholders(s), name)
	})
	return found
}

// checkVars returns a TargetError for the first placeholder that is not in
// have.
func (rt *RequestTemplate) checkVars(n *yaml.Node, path string, have []string) error {
	var err error
	rt.templates(func(key, s string) {
		for _, name := range placeholders(s) {
			if err == nil && !slices.Contains(have, name) {
				err = unsetVar(n, path+"."+key, name)
			}
		}
	})
	return err
}

func checkFields(n *yaml.Node, path string, fs []Field, have []string) error {
	for _, f := range fs {
		for _, name := range placeholders(f.Value) {
			if !slices.Contains(have, name) {
				return unsetVar(n, path+"."+f.Name, name)
			}
		}
	}
	return nil
}

func unsetVar(n *yaml.Node, key, name string) error {
	return &TargetError{Line: n.Line, Key: key, Msg: fmt.Sprintf("{{%s}} is not set: it is not built in (identifier, password, random) and no earlier before step extracts it", name)}
}

package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// encode writes v as a JSON response. The body is built first so that an
// encoding failure is still a clean 500 and Content-Length is exact.
func encode(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal_error"}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// errorBody is every JSON error answer. Message is for people; clients act
// on Error. The uniform flow answers carry no message, so that they stay
// exactly as docs/DESIGN.md §7 prints them.
type errorBody struct {
	Error   string            `json:"error"`
	Message string            `json:"message,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func encodeError(w http.ResponseWriter, status int, code, message string) {
	encode(w, status, errorBody{Error: code, Message: message})
}

// requestError is a 4xx answer about the form of a request, given before
// any flow runs, so it can never depend on an account.
type requestError struct {
	status  int
	code    string
	message string
}

func (e *requestError) Error() string { return e.code + ": " + e.message }

func malformed(format string, args ...any) *requestError {
	return &requestError{http.StatusBadRequest, "malformed_json", fmt.Sprintf(format, args...)}
}

// kind is the JSON type a request member must have.
type kind uint8

const (
	text   kind = iota // a string
	flag               // a boolean; only the few fields that are yes/no
	object             // a JSON object kept as it is (a WebAuthn credential)
)

// schema names the members a request body may have and their kinds.
type schema map[string]kind

// texts is the schema of a body whose members are all strings.
func texts(names ...string) schema {
	s := schema{}
	for _, n := range names {
		s[n] = text
	}
	return s
}

// fields is a decoded request body. Missing members read as "" and false:
// which fields are required is the flow's business.
type fields struct {
	texts   map[string]string
	flags   map[string]bool
	objects map[string]json.RawMessage
}

func (f fields) text(name string) string            { return f.texts[name] }
func (f fields) flag(name string) bool              { return f.flags[name] }
func (f fields) object(name string) json.RawMessage { return f.objects[name] }

func (f fields) has(name string) bool {
	_, t := f.texts[name]
	_, b := f.flags[name]
	_, o := f.objects[name]
	return t || b || o
}

// decode reads a JSON request body that must be one object whose members
// are named in sc, each of the kind sc gives it.
//
// encoding/json alone is too lenient for an API whose answers must depend
// on nothing but the input: it replaces invalid UTF-8 with U+FFFD, keeps the
// last of duplicate names, and reads null into a string as "". decode walks
// the token stream instead and refuses all of these.
func decode(r *http.Request, sc schema) (fields, error) {
	if !isJSON(r.Header.Get("Content-Type")) {
		return fields{}, &requestError{http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Send the request body as application/json."}
	}
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fields{}, &requestError{http.StatusRequestEntityTooLarge, "request_too_large",
			fmt.Sprintf("The request body is larger than %d bytes.", tooLarge.Limit)}
	}
	if err != nil {
		return fields{}, malformed("The request body could not be read.")
	}
	return decodeObject(body, sc)
}

// isJSON reports whether a Content-Type names JSON in UTF-8.
func isJSON(contentType string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// decodeObject is decode's parser, separate so that it can be fuzzed.
func decodeObject(body []byte, sc schema) (fields, error) {
	if !utf8.Valid(body) {
		return fields{}, malformed("The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err == io.EOF {
		return fields{}, malformed("The request body is empty; send a JSON object.")
	}
	if err != nil {
		return fields{}, invalidJSON(err)
	}
	if tok != json.Delim('{') {
		return fields{}, malformed("The request body must be a JSON object.")
	}
	out := fields{texts: map[string]string{}, flags: map[string]bool{}, objects: map[string]json.RawMessage{}}
	for dec.More() {
		if err := member(dec, sc, out); err != nil {
			return fields{}, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fields{}, invalidJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fields{}, malformed("Unexpected data after the JSON object.")
	}
	return out, nil
}

// invalidJSON describes a syntax error of the JSON tokenizer.
func invalidJSON(err error) *requestError {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return malformed("The request body ends before the JSON object does.")
	}
	return malformed("The request body is not valid JSON: %v.", err)
}

// member reads one "name": value pair of the object dec is in into out.
func member(dec *json.Decoder, sc schema, out fields) error {
	tok, err := dec.Token()
	if err != nil {
		return invalidJSON(err)
	}
	name, _ := tok.(string) // Token guarantees a string in name position
	k, known := sc[name]
	if !known {
		return &requestError{http.StatusBadRequest, "unknown_field",
			fmt.Sprintf("Unknown field %s.", quoteName(name))}
	}
	if out.has(name) {
		return malformed("The field %s appears more than once.", quoteName(name))
	}
	if k == object {
		// Its members are the business of what reads it (go-webauthn's
		// parser); here it must be one JSON object.
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return invalidJSON(err)
		}
		if len(raw) == 0 || raw[0] != '{' {
			return malformed("The field %s must be an object.", quoteName(name))
		}
		out.objects[name] = raw
		return nil
	}
	tok, err = dec.Token()
	if err != nil {
		return invalidJSON(err)
	}
	switch v := tok.(type) {
	case string:
		if k == text {
			out.texts[name] = v
			return nil
		}
	case bool:
		if k == flag {
			out.flags[name] = v
			return nil
		}
	}
	// Token has read a whole scalar or only the opening delimiter of an
	// array or object; either way the request is refused here.
	if k == flag {
		return malformed("The field %s must be true or false.", quoteName(name))
	}
	return malformed("The field %s must be a string.", quoteName(name))
}

// quoteName quotes a client-supplied field name for a message, cut short so
// an error cannot be made to echo a whole body back.
func quoteName(name string) string {
	const max = 40
	if len(name) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + "…"
	}
	return strconv.Quote(name)
}

// writeRequestError answers a decode error: its own 4xx, or a 500 for
// anything unexpected.
func writeRequestError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var re *requestError
	if errors.As(err, &re) {
		encodeError(w, re.status, re.code, re.message)
		return
	}
	logError(log, r, "decode request", err)
	encodeError(w, http.StatusInternalServerError, "internal_error", "")
}

package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tacitauth/tacit"
)

// readForm parses a posted form and checks its CSRF token. On failure it
// has answered (400, 403 or 413) and returns false. Only the body counts:
// values in the query string are ignored, so a link cannot pre-fill a post.
func (v *views) readForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	err := r.ParseForm()
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		v.errorPage(w, r, http.StatusRequestEntityTooLarge, "Form too large",
			"The form you sent is larger than this site accepts.")
		return nil, false
	case err != nil || !validUTF8(r.PostForm):
		// url.ParseQuery happily yields invalid UTF-8 from %-escapes;
		// refuse it here so no flow ever sees such a string.
		v.formNotUnderstood(w, r)
		return nil, false
	}
	if !v.ck.validCSRF(r, r.PostForm.Get(csrfField)) {
		v.errorPage(w, r, http.StatusForbidden, "Form expired",
			"This form has expired or was not sent from this site. Go back, reload the page and try again.")
		return nil, false
	}
	return r.PostForm, true
}

// formNotUnderstood answers a form that could not be read: 400.
func (v *views) formNotUnderstood(w http.ResponseWriter, r *http.Request) {
	v.errorPage(w, r, http.StatusBadRequest, "Form not understood",
		"The form could not be read. Go back, reload the page and try again.")
}

// formID reads the positive decimal id in field name of form f (a session
// or a passkey of the account); a missing or malformed one is answered
// with formNotUnderstood and ok false.
func (v *views) formID(w http.ResponseWriter, r *http.Request, f url.Values, name string) (id int64, ok bool) {
	if id, ok = sessionID(f.Get(name)); !ok {
		v.formNotUnderstood(w, r)
	}
	return id, ok
}

func validUTF8(vals url.Values) bool {
	for k, vs := range vals {
		if !utf8.ValidString(k) {
			return false
		}
		for _, s := range vs {
			if !utf8.ValidString(s) {
				return false
			}
		}
	}
	return true
}

// fieldMessages turns a flow's field error codes into sentences for people,
// taking a form's own wording ("field:code" → sentence) first. The codes
// depend only on the input, so the sentences do too.
func fieldMessages(fe tacit.FieldErrors, pol tacit.PasswordPolicy, wording map[string]string) map[string]string {
	out := map[string]string{}
	for field, code := range fe {
		if msg, ok := wording[field+":"+code]; ok {
			out[field] = msg
			continue
		}
		out[field] = fieldMessage(field, code, pol)
	}
	return out
}

func fieldMessage(field, code string, pol tacit.PasswordPolicy) string {
	switch field + ":" + code {
	case "email:" + tacit.CodeRequired:
		return "Enter your email address."
	case "email:" + tacit.CodeInvalidEmail:
		return "Enter an email address in the form name@example.com."
	case "password:" + tacit.CodeRequired:
		return "Enter a password."
	case "password:" + tacit.CodeTooShort:
		return fmt.Sprintf("Use at least %d characters.", pol.Min)
	case "password:" + tacit.CodeTooLong:
		return fmt.Sprintf("Use at most %d characters.", pol.Max)
	case "password:" + tacit.CodeMissingClasses:
		return "Include " + classList(pol.Require) + "."
	case "password:" + tacit.CodeBreached:
		return "This password is too common and easy to guess. Choose another."
	case "password_confirm:" + tacit.CodeRequired:
		return "Type the password again."
	case "current_password:" + tacit.CodeRequired:
		return "Enter your current password."
	case "password_confirm:" + tacit.CodeMismatch:
		return "The two passwords are different. Type the same password twice."
	}
	return "Check this field."
}

// passwordHint describes the policy next to a new-password field.
func passwordHint(pol tacit.PasswordPolicy) string {
	hint := fmt.Sprintf("At least %d characters.", pol.Min)
	if len(pol.Require) > 0 {
		hint += " Include " + classList(pol.Require) + "."
	}
	return hint
}

// classList names character classes in a sentence: "a lowercase letter, a
// digit and a symbol".
func classList(cs []tacit.CharClass) string {
	names := map[tacit.CharClass]string{
		tacit.Lower: "a lowercase letter", tacit.Upper: "an uppercase letter",
		tacit.Digit: "a digit", tacit.Symbol: "a symbol",
	}
	var parts []string
	for _, c := range cs {
		parts = append(parts, names[c])
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

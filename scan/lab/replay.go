package lab

import (
	"html"
	"net/http"
)

// CSRFMessage returns a sign-in form that a scan can only reach through a
// before step: GET /login sets a CSRF cookie and puts the token in a
// hidden field, and POST /login refuses a token that does not match the
// cookie ("Cookies are blocked"). Past that check it says whether the
// account exists. Its answers are otherwise fixed, so a replayed request
// gets the very body the scan got. The target sends a field and a header
// with quotes, $( ), backticks and a newline (the header without), which
// a replay must send byte for byte.
func CSRFMessage() Fixture {
	return Fixture{Name: "csrf-message", Want: "USER_ENUM_RESPONSE_CONTENT",
		About: "a form behind a CSRF cookie and token that says whether the account exists",
		New:   newCSRFMessage, target: csrfMessageTarget}
}

const csrfMessageTarget = `base_url: BASE_URL
known: [alice@lab.example]
headers: {X-Note: "it's $(echo pwned) ` + "`id`" + ` \"q\" \\ $HOME"}
endpoints:
  - name: login
    kind: login
    path: /login?next=%2Fhome&x=it%27s
    form: {csrf_token: "{{csrf}}", email: "{{identifier}}", password: "{{password}}", note: "it's $(echo pwned) ` + "`id`" + ` \"q\"\nline two \\ $HOME"}
    before:
      - path: /login
        extract: {csrf: {input: csrf_token}}
`

func newCSRFMessage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/login" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			csrf := csrfCookie(w, r)
			writeHTML(w, http.StatusOK, page("Sign in", `<form method="post" action="/login"><input type="hidden" name="csrf_token" value="`+csrf+`">
<input name="email"><input name="password" type="password"><button>Sign in</button></form>`))
			return
		}
		if err := r.ParseForm(); err != nil || !csrfOK(r, r.PostForm.Get("csrf_token")) {
			writeHTML(w, http.StatusForbidden, page("Sign in", "<p>Cookies are blocked or the form has expired.</p>"))
			return
		}
		email := r.PostForm.Get("email")
		msg := "No account uses " + html.EscapeString(email) + "."
		if exists(email) {
			msg = "Wrong password for " + html.EscapeString(email) + "."
		}
		writeHTML(w, http.StatusUnauthorized, page("Sign in", "<p>"+msg+"</p>"))
	})
}

// Package lab holds small web applications for testing the scanner: each
// leaky fixture plants exactly one way of telling a registered address from
// an unknown one (one branch, which may show in more than one channel, such
// as a status and a message), and each clean fixture leaks nothing but is
// as noisy as real applications are (random CSRF tokens that must be sent
// back, timestamps, request ids, reflected input, jittery latency,
// throttling).
// The scanner's tests run every fixture; so can anyone trying the scanner.
package lab

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Known is the address that has an account in every fixture.
const Known = "alice@lab.example"

// Fixture is one lab application.
type Fixture struct {
	Name string
	// Want is the rule ID the scanner must report, and the only one;
	// "" for a clean fixture.
	Want string
	// Needs says what scan the fixture is for: "" a plain scan,
	// NeedsTiming one with a timing check, NeedsState one with the
	// state-changing checks allowed.
	Needs string
	// About says what the fixture plants or how it is noisy.
	About string
	// Verdict, for the state fixtures, is the verdict every endpoint
	// must get: "leak", "clean" or "inconclusive".
	Verdict string
	// New returns the application with fresh state.
	New func() http.Handler
	// target is the target file, with BASE_URL for the server's URL.
	target string
}

// Target returns the target file that scans the fixture served at base.
func (f Fixture) Target(base string) string {
	return strings.ReplaceAll(f.target, "BASE_URL", base)
}

// What a fixture needs to be scanned meaningfully (Fixture.Needs).
const (
	NeedsTiming = "timing"
	NeedsState  = "state"
)

// Fixtures returns the fixtures of the channel comparison, leaky ones
// first: a plain scan must report each leaky one's rule, and nothing on
// the clean ones.
func Fixtures() []Fixture {
	return append(leaky(), clean()...)
}

// CheckFixtures returns the fixtures of answers that change when a
// request is repeated (lockouts, rate limits, pending sign-ups) and of
// response time; Needs says which scan each is for.
func CheckFixtures() []Fixture {
	return append(repeated(), timed()...)
}

// Lookup returns the fixture named name, from either list.
func Lookup(name string) (Fixture, bool) {
	for _, f := range append(append(append(Fixtures(), CheckFixtures()...), StateFixtures()...), PasskeyFixtures()...) {
		if f.Name == name {
			return f, true
		}
	}
	return Fixture{}, false
}

// credentials are the fields an account form or JSON body sends.
type credentials struct {
	Email           string `json:"email"`
	Password        string `json:"password"`
	PasswordConfirm string `json:"password_confirm"`
	CSRF            string `json:"csrf_token"`
}

// readCredentials reads a JSON body or a form.
func readCredentials(r *http.Request) credentials {
	var c credentials
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		_ = json.NewDecoder(r.Body).Decode(&c) // a bad body reads as empty fields
		return c
	}
	_ = r.ParseForm() // likewise
	return credentials{Email: r.PostForm.Get("email"), Password: r.PostForm.Get("password"),
		PasswordConfirm: r.PostForm.Get("password_confirm"), CSRF: r.PostForm.Get("csrf_token")}
}

func exists(email string) bool {
	return strings.EqualFold(strings.TrimSpace(email), Known)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client gone away is not the fixture's problem
}

func writeHTML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// page is a minimal HTML page.
func page(title, content string) string {
	return "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html.EscapeString(title) +
		"</title>\n</head>\n<body>\n<main>\n" + content + "\n</main>\n</body>\n</html>\n"
}

// token returns n random bytes in hex.
func token(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.IntN(256))
	}
	return hex.EncodeToString(b)
}

// uuid returns a random version-4 UUID.
func uuid() string {
	t := token(16)
	return fmt.Sprintf("%s-%s-4%s-a%s-%s", t[0:8], t[8:12], t[13:16], t[17:20], t[20:32])
}

// jitter sleeps up to max, as a real server's latency wanders.
func jitter(max time.Duration) {
	time.Sleep(time.Duration(rand.Int64N(int64(max))))
}

func decodeJSON(r *http.Request, v any) error {
	return json.NewDecoder(r.Body).Decode(v)
}

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// postJSON posts body as JSON and returns the status and response body.
func postJSON(t testing.TB, c *http.Client, u string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := c.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// signUp makes a verified account through the JSON API and the dev
// mailbox, as a person would.
func signUp(t testing.TB, s *server, email, password string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	if code, body := postJSON(t, c, s.URL+"/api/register", map[string]string{"email": email}); code != http.StatusAccepted {
		t.Fatalf("register: %d %s", code, body)
	}
	token := mailToken(t, s, email)
	code, body := postJSON(t, c, s.URL+"/api/register/complete", map[string]string{
		"token": token, "password": password, "password_confirm": password,
	})
	if code != http.StatusCreated {
		t.Fatalf("complete: %d %s", code, body)
	}
}

// mailToken waits for a mail to email in the dev mailbox and returns the
// token from its link.
func mailToken(t testing.TB, s *server, email string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/_dev/mailbox")
		if err != nil {
			t.Fatal(err)
		}
		var mails []struct{ To, Text string }
		err = json.NewDecoder(resp.Body).Decode(&mails)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mails {
			if m.To != email {
				continue
			}
			for _, f := range bytes.Fields([]byte(m.Text)) {
				if u, err := url.Parse(string(f)); err == nil && u.Query().Get("token") != "" {
					return u.Query().Get("token")
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no mail with a link to %s", email)
	return ""
}

package e2e

import (
	"net/http"
	"testing"
	"time"
)

// revocationBound is flow.RevocationBound, the promise under test.
const revocationBound = time.Second

// checkStatus asks s's /auth/check about the session cookie.
func checkStatus(t *testing.T, c *http.Client, s *server, cookie *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/auth/check", nil)
	req.AddCookie(cookie)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestForwardAuthRevocationAcrossInstances: two servers on one PostgreSQL
// database; a thief's session, cached by B's forward auth, is signed out
// on A. B must refuse it within the bound, and A at once.
func TestForwardAuthRevocationAcrossInstances(t *testing.T) {
	db := newPGSchema(t)
	a := startServer(t, pgEnv(db.URL)...)
	b := startServer(t, pgEnv(db.URL)...)
	logOnFailure(t, a)
	logOnFailure(t, b)
	c := &http.Client{Timeout: 10 * time.Second}
	cookie := signedIn(t, a, "fwd@example.com", "forward password 1")
	for range 3 {
		if code := checkStatus(t, c, b, cookie); code != http.StatusOK {
			t.Fatalf("check on B with a live session: %d", code)
		}
		if code := checkStatus(t, c, a, cookie); code != http.StatusOK {
			t.Fatalf("check on A with a live session: %d", code)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/api/logout", nil)
	req.AddCookie(cookie)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	committed := time.Now()
	if code := checkStatus(t, c, a, cookie); code != http.StatusUnauthorized {
		t.Fatalf("check on A right after signing out there: %d, want 401", code)
	}
	for {
		start := time.Now()
		code := checkStatus(t, c, b, cookie)
		if code == http.StatusUnauthorized {
			t.Logf("B refused the session %v after the sign-out on A", start.Sub(committed).Round(time.Millisecond))
			break
		}
		if code != http.StatusOK {
			t.Fatalf("check on B: %d", code)
		}
		if late := start.Sub(committed); late >= revocationBound {
			t.Fatalf("B still passed the session %v after the sign-out on A, past the bound of %v", late, revocationBound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 3 {
		if code := checkStatus(t, c, b, cookie); code != http.StatusUnauthorized {
			t.Fatalf("check on B after it refused the session: %d, want 401", code)
		}
	}
}

package e2e

// tacit backup while serving, a database file replaced under a running
// server, and the documented restore.

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// stop interrupts the process, as a service manager stops it, and waits.
func (p *proc) stop() {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		p.t.Errorf("tacit serve stopped with %v", err)
	}
}

// signUpVia makes an account through the API of url, with its mail from
// sink, and returns a client holding its session.
func signUpVia(t *testing.T, url string, sink *smtpSink, email string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Timeout: 10 * time.Second, Jar: jar}
	if code, body := postJSON(t, c, url+"/api/register", map[string]string{"email": email}); code != http.StatusAccepted {
		t.Fatalf("register %s: %d %s", email, code, body)
	}
	m := waitMail(t, sink, email, "/register/complete", 10*time.Second)
	if code, body := postJSON(t, c, url+"/api/register/complete", map[string]string{
		"token": m.Token, "password": crashPassword, "password_confirm": crashPassword}); code != http.StatusCreated {
		t.Fatalf("complete %s: %d %s", email, code, body)
	}
	return c
}

// TestBackupRestore takes `tacit backup` while a server takes sign-ups,
// then moves the backup over the live file: the server refuses every
// request from then on (503, an ERROR line, /readyz 503) rather than
// answer from, or write into, the file it still holds. Restored by the
// README's steps, the backup serves: its accounts sign in, later ones do
// not exist.
func TestBackupRestore(t *testing.T) {
	sink := startSMTPSink(t)
	dir := t.TempDir()
	env := crashEnv(sink, "TACIT_DATA_DIR="+dir)
	s := newProc(t, env...)
	logProcOnFailure(t, s)
	owner := signUpVia(t, s.URL, sink, "kept@example.com")

	// Sign-ups go on while the backup is taken.
	var wg sync.WaitGroup
	var during, failed atomic.Int64
	stop := make(chan struct{})
	wg.Go(func() {
		c := &http.Client{Timeout: 10 * time.Second}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if code := post(c, s.URL+"/api/register", map[string]string{"email": fmt.Sprintf("during-%d@example.com", i)}); code == http.StatusAccepted {
				during.Add(1)
			} else {
				failed.Add(1)
			}
		}
	})
	time.Sleep(200 * time.Millisecond)
	copyPath := filepath.Join(t.TempDir(), "tacit-backup.db")
	cmd := exec.Command(binary, "backup", copyPath)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("tacit backup while serving: %v\n%s", err, out)
	}
	t.Logf("tacit backup: %s(%d sign-ups answered 202 around it, %d not)", out, during.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d sign-ups failed while the backup ran", failed.Load())
	}
	later := signUpVia(t, s.URL, sink, "later@example.com")

	// The backup moved over the live file while serving.
	live := filepath.Join(dir, "tacit.db")
	if err := os.Rename(copyPath, live); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	if code := post(c, s.URL+"/api/login", map[string]string{"email": "kept@example.com", "password": crashPassword}); code != http.StatusServiceUnavailable {
		t.Errorf("sign-in after the file was replaced: %d, want 503", code)
	}
	if code := post(c, s.URL+"/api/register", map[string]string{"email": "lost@example.com"}); code != http.StatusServiceUnavailable {
		t.Errorf("sign-up after the file was replaced: %d, want 503", code)
	}
	if code := get(later, s.URL+"/auth/check"); code != http.StatusServiceUnavailable {
		t.Errorf("forward auth after the file was replaced: %d, want 503", code)
	}
	if code := get(c, s.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz after the file was replaced: %d, want 503", code)
	}
	log := s.log.String()
	if !strings.Contains(log, `level=ERROR msg="request refused: the database file was replaced while in use; restart tacit to open the new one"`) {
		t.Errorf("no ERROR line saying the file was replaced")
	}

	// The README's restore: stop, remove the WAL and its index, put the
	// backup in place (it already is), start.
	s.stop()
	for _, f := range []string{live + "-wal", live + "-shm"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s.start()
	if code := post(c, s.URL+"/api/login", map[string]string{"email": "kept@example.com", "password": crashPassword}); code != http.StatusOK {
		t.Errorf("sign-in to an account in the backup after the restore: %d, want 200", code)
	}
	if code := get(owner, s.URL+"/auth/check"); code != http.StatusOK {
		t.Errorf("forward auth with a session in the backup: %d, want 200", code)
	}
	if code := post(c, s.URL+"/api/login", map[string]string{"email": "later@example.com", "password": crashPassword}); code != http.StatusUnauthorized {
		t.Errorf("sign-in to an account made after the backup: %d, want 401", code)
	}
	if code := post(c, s.URL+"/api/register", map[string]string{"email": "lost@example.com"}); code != http.StatusAccepted {
		t.Errorf("sign-up after the restore: %d, want 202", code)
	}
	if n := strings.Count(log, "database file was replaced"); n < 3 {
		t.Errorf("%d refusals logged, want one per refused request", n)
	}
}

package e2e

// A full disk under the SQLite database is an error, not corruption. The
// test puts the data directory on a small tmpfs of its own, which needs
// root (mount); elsewhere it skips and says why.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// smallDisk mounts a tmpfs of size bytes on a fresh directory, unmounted
// when the test ends, or skips the test where it cannot.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a small tmpfs for the data directory needs root")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("skipped: cannot mount a tmpfs here: %v %s", err, out)
	}
	// Registered after TempDir's cleanup, so it runs before it.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file into dir until the disk is full and returns its
// path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return path
		}
	}
}

// TestDiskFull fills the disk under the SQLite file during sign-ups:
// requests are refused with 503 and a log line that says the disk is
// full, /readyz says not ready, the file stays sound, and once space
// returns the server serves again by itself.
func TestDiskFull(t *testing.T) {
	dir := smallDisk(t, 8<<20)
	sink := startSMTPSink(t)
	s := newProc(t, crashEnv(sink, "TACIT_DATA_DIR="+dir)...)
	logProcOnFailure(t, s)
	c := &http.Client{Timeout: 10 * time.Second}

	signup := func(i int) int {
		return post(c, s.URL+"/api/register", map[string]string{"email": fmt.Sprintf("full-%d@example.com", i)})
	}
	for i := range 20 {
		if code := signup(i); code != http.StatusAccepted {
			t.Fatalf("sign-up before the disk is full: %d, want 202", code)
		}
	}

	filler := fill(t, dir)
	t.Cleanup(func() { os.Remove(filler) }) // so that a failed test's server can stop
	fullAt := time.Now()
	// The database may still have free pages, and the WAL room to grow
	// into: keep signing up until the disk refuses.
	var refused, accepted, n int
	byStatus := map[int]int{}
	for i := 1000; time.Since(fullAt) < 20*time.Second && refused < 20; i++ {
		code := signup(i)
		byStatus[code]++
		n++
		switch code {
		case http.StatusAccepted:
			accepted++
		case http.StatusServiceUnavailable:
			refused++
		default:
			t.Fatalf("sign-up on a full disk: %d, want 202 or 503", code)
		}
	}
	t.Logf("disk full: %d sign-ups, by status %v, in %v", n, byStatus, time.Since(fullAt).Round(time.Millisecond))
	if refused == 0 {
		t.Fatalf("no sign-up refused on a full disk")
	}
	if !strings.Contains(s.log.String(), "disk is full") {
		t.Errorf("no log line says the disk is full")
	}
	if code := get(c, s.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz on a full disk: %d, want 503", code)
	}
	if code := get(c, s.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz on a full disk: %d, want 200 (the process is alive)", code)
	}
	checkIntegrity(t, filepath.Join(dir, "tacit.db"))

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freedAt := time.Now()
	waitFor(t, 10*time.Second, "/readyz 200 once space returns", func() bool {
		return get(c, s.URL+"/readyz") == http.StatusOK
	})
	for i := range 20 {
		if code := signup(5000 + i); code != http.StatusAccepted {
			t.Errorf("sign-up once space returned: %d, want 202", code)
		}
	}
	t.Logf("ready again %v after space returned", time.Since(freedAt).Round(time.Millisecond))
	checkIntegrity(t, filepath.Join(dir, "tacit.db"))
}

// checkIntegrity runs PRAGMA integrity_check on the SQLite file at path,
// beside the running server.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(context.Background(), `PRAGMA integrity_check`).Scan(&res); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if res != "ok" {
		t.Errorf("integrity_check: %s", res)
	}
}

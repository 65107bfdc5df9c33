package scan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/scan"
)

// TestProgressLog: off a terminal, a line every five seconds with the
// time left at the rate so far, and nothing for a scan shorter than that.
func TestProgressLog(t *testing.T) {
	var b strings.Builder
	now := time.Unix(0, 0)
	p := &scan.Progress{W: &b, Now: func() time.Time { return now }}
	for done := 1; done <= 100; done++ {
		now = now.Add(100 * time.Millisecond)
		p.Update(done, 400)
	}
	p.Finish()
	want := "tacit scan: 51/400 probes (12%), 5s elapsed, about 34s left at most\n"
	if b.String() != want {
		t.Errorf("log:\n%q\nwant\n%q", b.String(), want)
	}
}

// TestProgressTerminal: on a terminal, one line redrawn in place, ended
// by Finish.
func TestProgressTerminal(t *testing.T) {
	var b strings.Builder
	now := time.Unix(0, 0)
	p := &scan.Progress{W: &b, Terminal: true, Now: func() time.Time { return now }}
	p.Update(1, 10)
	now = now.Add(time.Second)
	p.Update(5, 10)
	now = now.Add(20 * time.Second)
	p.Update(10, 10)
	p.Finish()
	got := b.String()
	if !strings.HasPrefix(got, "\rtacit scan: 5/10 probes (50%), 1s elapsed, about 1s left at most") ||
		strings.Count(got, "\r") != 3 || !strings.HasSuffix(got, "\rtacit scan: 10/10 probes (100%), 21s elapsed\n") {
		t.Errorf("terminal: %q", got)
	}
}

// TestProgressLogLine: a line the scan logs (pacing) goes on a line of
// its own: on a terminal the progress line is cleared, the line written,
// and the progress line drawn again below it, not run into.
func TestProgressLogLine(t *testing.T) {
	var b strings.Builder
	now := time.Unix(0, 0)
	p := &scan.Progress{W: &b, Terminal: true, Now: func() time.Time { return now }}
	p.Update(1, 10)
	now = now.Add(time.Second)
	p.Update(5, 10)
	b.Reset()
	p.Log("pacing: waiting 1s")
	bar := "tacit scan: 5/10 probes (50%), 1s elapsed, about 1s left at most"
	want := "\r" + strings.Repeat(" ", len(bar)) + "\rpacing: waiting 1s\n\r" + bar
	if b.String() != want {
		t.Errorf("terminal:\n%q\nwant\n%q", b.String(), want)
	}

	b.Reset()
	p = &scan.Progress{W: &b, Now: func() time.Time { return now }}
	p.Update(5, 10)
	p.Log("pacing: waiting 1s")
	if b.String() != "pacing: waiting 1s\n" {
		t.Errorf("log: %q", b.String())
	}
}

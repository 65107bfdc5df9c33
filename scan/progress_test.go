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

package scan

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// DefaultProgressEvery is how often a Progress writes a line when it
// does not draw on a terminal.
const DefaultProgressEvery = 5 * time.Second

// Progress reports a scan's progress with an estimate of the time left,
// on a terminal as one line that it rewrites, elsewhere (a pipe, a CI
// log) as a line every Every. Its Update is a Scanner.Progress function.
type Progress struct {
	// W receives the progress (stderr).
	W io.Writer
	// Terminal: rewrite one line in place instead of writing lines.
	Terminal bool
	// Every is the interval between lines when not on a terminal;
	// default DefaultProgressEvery. On a terminal the line is redrawn at
	// most ten times a second.
	Every time.Duration
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time

	mu          sync.Mutex
	start, last time.Time
	drawn       int // width of the line on the terminal
	done, total int
}

func (p *Progress) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Progress) every() time.Duration {
	switch {
	case p.Terminal:
		return 100 * time.Millisecond
	case p.Every > 0:
		return p.Every
	}
	return DefaultProgressEvery
}

// Update records that done of total probes are sent, and writes a line
// if one is due.
func (p *Progress) Update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.start.IsZero() {
		p.start, p.last = now, now
	}
	p.done, p.total = done, total
	// A terminal shows the end at once; a log gets its lines on time
	// only, so a short scan writes none.
	if now.Sub(p.last) < p.every() && (!p.Terminal || done < total) {
		return
	}
	p.last = now
	p.write(now)
}

// Finish writes the last state and ends the terminal's line.
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Lines in a log need no last one: the report follows.
	if p.start.IsZero() || !p.Terminal {
		return
	}
	p.write(p.now())
	fmt.Fprintln(p.W)
	p.drawn = 0
}

// Log writes line on a line of its own: on a terminal above the progress
// line, which it then draws again, so that the two do not run together.
func (p *Progress) Log(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.Terminal || p.drawn == 0 {
		fmt.Fprintln(p.W, line)
		return
	}
	fmt.Fprintf(p.W, "\r%s\r%s\n", strings.Repeat(" ", p.drawn), line)
	p.drawn = 0
	p.write(p.now())
}

// Line describes the progress: probes sent of those planned, time spent
// and an estimate of the time left, from the rate so far.
func (p *Progress) line(now time.Time) string {
	elapsed := now.Sub(p.start)
	s := fmt.Sprintf("tacit scan: %d/%d probes", p.done, max(p.total, p.done))
	if p.total > 0 {
		s += fmt.Sprintf(" (%d%%)", 100*p.done/max(p.total, p.done))
	}
	s += ", " + roundDuration(elapsed) + " elapsed"
	if p.done > 0 && p.done < p.total {
		left := time.Duration(float64(elapsed) / float64(p.done) * float64(p.total-p.done))
		s += ", about " + roundDuration(left) + " left at most"
	}
	return s
}

func (p *Progress) write(now time.Time) {
	l := p.line(now)
	if !p.Terminal {
		fmt.Fprintln(p.W, l)
		return
	}
	pad := max(p.drawn-len(l), 0)
	fmt.Fprintf(p.W, "\r%s%s", l, strings.Repeat(" ", pad))
	p.drawn = len(l)
}

// roundDuration writes d to the second (to the tenth below ten seconds).
func roundDuration(d time.Duration) string {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// ProgressBar returns a Scanner.Progress function that draws a one-line
// bar on w (a terminal): "[#########...........]  45/120 probes". It ends
// the line when the scan is done.
func ProgressBar(w io.Writer) func(done, total int) {
	const width = 30
	return func(done, total int) {
		if total <= 0 {
			return
		}
		filled := width * done / total
		fmt.Fprintf(w, "\r[%s%s] %d/%d probes", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}

//go:build !linux

package flow

import (
	"runtime"
	"time"
)

// fineSleep waits until end by yielding in a loop: where tacit has no
// precise sleep it spends at most paceMargin of CPU per request instead.
func fineSleep(end time.Time) {
	for time.Now().Before(end) {
		runtime.Gosched()
	}
}

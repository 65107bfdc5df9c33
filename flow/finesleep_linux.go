package flow

import (
	"syscall"
	"time"
)

// fineSleep sleeps until end with nanosleep, which the kernel times to
// within its timer slack (50 µs by default), whatever the process did
// before. It blocks its thread for at most paceMargin; the runtime lends
// the thread's processor to other goroutines meanwhile.
func fineSleep(end time.Time) {
	for {
		d := time.Until(end)
		if d <= 0 {
			return
		}
		ts := syscall.NsecToTimespec(int64(d))
		syscall.Nanosleep(&ts, nil) // on EINTR, loop for the rest
	}
}

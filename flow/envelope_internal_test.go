package flow

import (
	"context"
	"slices"
	"testing"
	"time"
)

// Issue 17 (11): the envelope must end at the same moment whatever else
// the process did before it. A sleeping Go program waits for timers in
// epoll, whose timeout is in whole milliseconds, so a plain sleep ended
// up to a millisecond late, by an amount set by when the process last
// went idle: when the mail worker, woken by a real mail, rendered it and
// went idle later than for a row that sends nothing, the answer left that
// much later, modulo a millisecond. The envelope hid the work before it,
// not when it ended. This test runs pace beside a goroutine that works
// 0 or 800 µs after the request starts (interleaved), and wants the
// median overshoot of the two to differ by far less than 800 µs.
func TestPaceEndsAloneFromWorkBesideIt(t *testing.T) {
	const envelope = 15 * time.Millisecond
	s := &Service{cfg: Config{Envelope: envelope}}
	work := []time.Duration{0, 800 * time.Microsecond}
	late := make([][]time.Duration, len(work))
	for i := range 150 {
		for j, w := range work {
			start := time.Now()
			done := make(chan struct{})
			go func() {
				for time.Since(start) < w {
				}
				close(done)
			}()
			s.pace(context.Background(), start)
			late[j] = append(late[j], time.Since(start)-envelope)
			<-done
			// Vary when the next round starts against the clock.
			time.Sleep(time.Duration(i%5) * 170 * time.Microsecond)
		}
	}
	median := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	m0, m1 := median(late[0]), median(late[1])
	t.Logf("median overshoot: %v alone, %v with 800µs of work beside", m0, m1)
	if diff := (m1 - m0).Abs(); diff > 100*time.Microsecond {
		t.Errorf("the envelope ends %v later with 800µs of work beside it (%v vs %v)", m1-m0, m1, m0)
	}
}

package lab

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// timed are the response-time fixtures.
func timed() []Fixture {
	slow := SlowKnown(300 * time.Microsecond)
	slow.Name = "slow-known"
	return []Fixture{slow,
		{Name: "clean-jitter", Needs: NeedsTiming,
			About: "sign-in whose latency wanders (a few hundred microseconds, now and then a millisecond more) alike for every address",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				if !validEmail(readCredentials(r).Email) {
					writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "invalid_email"})
					return
				}
				wander()
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
			}), target: jsonLoginTarget},
	}
}

// SlowKnown returns a sign-in fixture that spends extra more time on
// known addresses, and is otherwise uniform: the timing check's benchmark
// runs it with 0, 25, 50 and 100µs.
func SlowKnown(extra time.Duration) Fixture {
	f := Fixture{Name: fmt.Sprintf("slow-known-%dus", extra.Microseconds()), Needs: NeedsTiming,
		About: fmt.Sprintf("sign-in spends %v more on real accounts (as if it hashed the password only for them)", extra),
		New: handle(func(w http.ResponseWriter, r *http.Request) {
			email := readCredentials(r).Email
			if !validEmail(email) {
				writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": "invalid_email"})
				return
			}
			if exists(email) {
				spin(extra)
			}
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_credentials"})
		}), target: jsonLoginTarget}
	if extra > 0 {
		f.Want = "USER_ENUM_TIMING"
	}
	return f
}

// spin busy-waits for d. time.Sleep cannot plant a difference this small:
// below a millisecond it oversleeps by a varying amount (the runtime's
// timers often wake a whole millisecond late), so a 300µs sleep is not a
// 300µs difference.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// wander adds the latency of a busy server, the same for every request:
// mostly an exponential wait of 100µs on average, and one request in 50
// a millisecond more (a pause, a slow disk).
func wander() {
	spin(min(time.Duration(rand.ExpFloat64()*float64(100*time.Microsecond)), time.Millisecond))
	if rand.IntN(50) == 0 {
		time.Sleep(time.Millisecond)
	}
}

package scan

import (
	"fmt"
	"time"
)

// EndpointScan is the scan of one endpoint under way, as Scanner.Scan
// hands it to each Check in turn: what the scan learnt of the endpoint
// before the check ran, and where the check records what it measured.
// The built-in checks share nothing else, so a Check written outside
// this package can do what they do.
type EndpointScan struct {
	// Result is the endpoint's result. A check adds to it what it
	// measured and noticed: Notes, Unstable channels, Timing samples,
	// and, through Inconclusive, why the scan cannot vouch for the
	// endpoint.
	Result *EndpointResult
	// Findings are the endpoint's findings before the running check:
	// the channel comparison's and earlier checks'.
	Findings []Finding
	// Requests is how many requests each identifier has been sent on
	// the endpoint so far: the channel comparison's rounds, the
	// registration matrix's and earlier checks'. A check that sends
	// every identifier the same requests adds how many it sent each, so
	// that a later one knows the history its probes carry (a lockout
	// counted per account shows from some request on).
	Requests int

	// lock is a lock or throttle every identifier met in the channel
	// comparison, if any.
	lock *lockInfo
	// right are the answers to the known identifiers' right passwords,
	// sent before any endpoint was scanned (passwordProbes); rightErr
	// what stopped them.
	right    map[int]*Response
	rightErr error
}

// Inconclusive records why the scan cannot call the endpoint clean; a
// reason already given is not repeated.
func (e *EndpointScan) Inconclusive(format string, args ...any) {
	e.Result.Inconclusive = appendNew(e.Result.Inconclusive, fmt.Sprintf(format, args...))
}

// Locked reports whether, in the channel comparison, every identifier was
// answered differently from some request on and alike from then on: a
// lock or throttle for every address, which the known identifiers are
// past, so that what a check measures from then on is that answer, not
// the account logic. after is how many requests each identifier was
// answered normally, status the answer's status from then on.
func (e *EndpointScan) Locked() (after, status int, ok bool) {
	if e.lock == nil {
		return 0, 0, false
	}
	return e.lock.after, e.lock.answer, true
}

// pacing is what Probe has waited on the endpoint being scanned
// (Scanner.pace).
type pacing struct {
	// longestWait is the longest Retry-After not waited out; paced
	// counts the probes sent again after a wait.
	longestWait time.Duration
	waited      time.Duration
	paced       int
	// paceless is set once a wait did not help: no more waiting on
	// this endpoint.
	paceless bool
}

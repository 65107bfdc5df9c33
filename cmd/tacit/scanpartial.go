package main

import (
	"fmt"
	"strings"

	"github.com/tacitauth/tacit/scan"
)

// partialScan says why rep is not a complete scan, if it was interrupted
// (SIGINT, SIGTERM): the report then still stands for what it decided,
// the endpoints left undecided or never reached are inconclusive, and the
// exit status is 2. A scan that ran to its end but left endpoints
// inconclusive (a timing measurement cut short by --timing-budget, say)
// is told by verdict's one path for inconclusive endpoints.
func partialScan(rep *scan.Report) string {
	if rep.Stopped == "" {
		return ""
	}
	var undecided []string
	for _, e := range rep.InconclusiveEndpoints() {
		undecided = append(undecided, scan.Sanitize(e.Name))
	}
	return fmt.Sprintf("scan %s: %d of %d endpoints without a verdict (%s); the report keeps what was decided",
		rep.Stopped, len(undecided), len(rep.Endpoints), strings.Join(undecided, ", "))
}

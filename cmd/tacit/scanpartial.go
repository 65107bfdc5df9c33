package main

import (
	"fmt"
	"strings"

	"github.com/tacitauth/tacit/scan"
)

// partialScan says why rep is not a complete scan, if it is not: the scan
// was interrupted, or endpoints were left without a verdict (a timing
// measurement cut short by --timing-budget). The report then still
// stands for what it decided; the exit status is 2.
func partialScan(rep *scan.Report) string {
	var undecided []string
	for _, e := range rep.Endpoints {
		if len(e.Inconclusive) > 0 && e.Error == "" {
			undecided = append(undecided, e.Name)
		}
	}
	switch {
	case rep.Stopped != "":
		return fmt.Sprintf("scan %s: %d of %d endpoints without a verdict (%s); the report keeps what was decided",
			rep.Stopped, len(undecided), len(rep.Endpoints), strings.Join(undecided, ", "))
	case len(undecided) > 0:
		return fmt.Sprintf("%d of %d endpoints inconclusive (%s): see the report", len(undecided), len(rep.Endpoints), strings.Join(undecided, ", "))
	}
	return ""
}

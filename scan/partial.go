package scan

import (
	"context"
	"errors"
)

// ScanStopped is why Report.Stopped is set when the scan's context was
// cancelled (SIGINT, SIGTERM).
const ScanStopped = "interrupted"

// interrupted records on res that ctx's cancellation cut its scan short
// (err is what the cancellation made of the probe under way): the
// endpoint keeps what it measured and is inconclusive rather than "not
// scanned", since nothing was wrong with it.
func interrupted(res *EndpointResult, err error) {
	res.Inconclusive = appendNew(res.Inconclusive, "interrupted before a verdict: "+err.Error())
	res.Verdict = VerdictInconclusive
}

// finishPartial completes the report of a scan whose context was
// cancelled: every endpoint of t it never started is listed as not
// reached, so that the report accounts for the whole target file. It
// returns the context's error, or nil if the scan was not cut short.
func finishPartial(ctx context.Context, t *Target, rep *Report) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	rep.Stopped = ScanStopped
	for _, ep := range t.Endpoints[len(rep.Endpoints):] {
		rep.Endpoints = append(rep.Endpoints, EndpointResult{Name: ep.Name, Kind: ep.Kind, Method: ep.Method, Path: ep.Path,
			NotReached: true, Verdict: VerdictInconclusive, Inconclusive: []string{"not reached: the scan was interrupted"}})
	}
	return errors.Join(errors.New("scan interrupted"), err)
}

package scan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Report is the result of a scan.
type Report struct {
	Target    string           `json:"target"` // the base URL
	Started   time.Time        `json:"started"`
	Duration  time.Duration    `json:"-"`
	Requests  int              `json:"requests"` // probes sent, before steps not counted
	Endpoints []EndpointResult `json:"endpoints"`
	Findings  []Finding        `json:"findings"`
	// Framework is what the target seems built with, if the scan
	// recognised it (see DetectFramework); findings then carry its advice.
	Framework *FrameworkMatch `json:"framework,omitempty"`
	// Stopped says why the scan ended before every endpoint was scanned
	// ("interrupted"); the endpoints it did not reach are listed with
	// NotReached set.
	Stopped string `json:"stopped,omitempty"`
}

// EndpointResult says how one endpoint was scanned.
type EndpointResult struct {
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Probes int    `json:"probes"` // probes sent to this endpoint
	// Unstable lists what differed between two unknown identifiers even
	// after masking (e.g. "status code", "header X-Cache"). It varies by
	// itself, so it was not compared: the scan cannot vouch for it.
	Unstable []string `json:"unstable,omitempty"`
	// Notes are hints about the scan of this endpoint, such as every
	// answer being a 404.
	Notes []string `json:"notes,omitempty"`
	// Error is why the endpoint could not be scanned, if it could not.
	Error string `json:"error,omitempty"`
	// Verdict is the endpoint's one verdict: VerdictLeak, VerdictClean
	// or VerdictInconclusive.
	Verdict string `json:"verdict"`
	// Inconclusive says why the scan cannot vouch for the endpoint, when
	// it cannot (the verdict is then inconclusive unless there is a
	// finding anyway).
	Inconclusive []string `json:"inconclusive,omitempty"`
	// NotReached is set on the endpoints an interrupted scan never
	// started.
	NotReached bool `json:"not_reached,omitempty"`
	// Timing holds the response-time samples of the timing check, when it
	// ran on this endpoint (the HTML report plots them).
	Timing *TimingResult `json:"timing,omitempty"`
}

// TimingResult is what the timing check measured on one endpoint: paired,
// interleaved samples for a known and an unknown identifier, and for two
// unknown identifiers as the control.
type TimingResult struct {
	Known   []time.Duration `json:"known_ns"`
	Unknown []time.Duration `json:"unknown_ns"`
	// ControlA and ControlB are the two unknown identifiers' samples.
	ControlA []time.Duration `json:"control_a_ns"`
	ControlB []time.Duration `json:"control_b_ns"`
	// Effect is the estimated known-minus-unknown difference, with its
	// confidence interval, and P the test's p-value.
	Effect     time.Duration `json:"effect_ns"`
	EffectLow  time.Duration `json:"effect_low_ns"`
	EffectHigh time.Duration `json:"effect_high_ns"`
	P          float64       `json:"p"`
	// Resolution is the smallest effect the sample size was chosen to
	// detect.
	Resolution time.Duration `json:"resolution_ns"`
	// Level is the significance level of the look that ended the
	// measurement, Looks how many interim looks it made, and Stopped
	// why it ended: StoppedDecided, StoppedPlanned, StoppedBudget or
	// StoppedInterrupted.
	Level   float64 `json:"level,omitempty"`
	Looks   int     `json:"looks,omitempty"`
	Stopped string  `json:"stopped,omitempty"`
}

// Finding is one channel through which an endpoint tells known from
// unknown identifiers.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Endpoint string   `json:"endpoint"` // the endpoint's name
	Kind     Kind     `json:"kind"`
	Method   string   `json:"method"`
	Path     string   `json:"path"`
	Message  string   `json:"message"`
	Evidence Evidence `json:"evidence"`
	// Advice is how to fix the finding in the recognised framework
	// (Report.Framework), beside the rule's generic remediation.
	Advice string `json:"advice,omitempty"`
}

// Fingerprint identifies the finding across scans, for SARIF's
// partialFingerprints and for suppression lists: the same rule on the same
// endpoint (name, method and path) has the same fingerprint, whatever the
// random identifiers, timings and evidence of the scan. A password reset
// endpoint has one USER_ENUM_PASSWORD_RESET finding per channel, and a
// sign-up one USER_ENUM_REGISTER finding per channel, and a passkey
// options endpoint one USER_ENUM_PASSKEY finding per channel (the
// allowCredentials count, the ids' length, …), so there the evidence
// channel is part of the fingerprint too.
func (f Finding) Fingerprint() string {
	parts := []string{f.Rule, f.Endpoint, f.Method, f.Path}
	switch {
	case f.Rule == RulePasswordReset || f.Rule == RulePasskey:
		parts = append(parts, f.Evidence.Channel)
	case f.Rule == RuleRegister && f.Evidence.Input == "":
		// A sign-up reports one finding per channel, and one for a
		// second request; the matrix's finding is the one with an
		// input class, and keeps its old fingerprint.
		parts = append(parts, f.Evidence.Channel, strconv.Itoa(min(f.Evidence.Attempt, 2)))
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// MarshalJSON writes the finding with its fingerprint.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding // without this method
	return json.Marshal(struct {
		plain
		Fingerprint string `json:"fingerprint"`
	}{plain(f), f.Fingerprint()})
}

// Evidence is what a finding rests on: one pair of requests that differ
// only in the identifier, and what differed in their answers.
type Evidence struct {
	// Channel names what differed: "status code", "redirect target",
	// "headers", "cookies", "body", "page title", "body length", "page
	// after redirect" (the page a POST's same-origin redirect led to;
	// "page after redirect (length)" when only its white space differs)
	// or "response time". The registration matrix and onsets, which take
	// every channel that differed, list them: "status code, body".
	Channel string `json:"channel"`
	// Input names the registration matrix's input class, e.g. "too short
	// password"; empty for plain probes.
	Input   string `json:"input,omitempty"`
	Known   Sample `json:"known"`
	Unknown Sample `json:"unknown"`
	// Diff is a short diff of the compared text, "-" lines from the
	// known identifier's answer, "+" lines from the unknown one's, after
	// masking (reflected input shows as {{identifier}}, values that vary by
	// themselves as {{varies}}).
	Diff string `json:"diff,omitempty"`
	// Pairs is how many known/unknown pairs were compared on this
	// channel; Differing how many of them differed.
	Pairs     int `json:"pairs"`
	Differing int `json:"differing"`
	// Attempt is, for lockout, rate-limit and repeated sign-up findings,
	// the request (counted per identifier on this endpoint, from 1) at
	// which the known identifier's answers began to differ.
	Attempt int `json:"attempt,omitempty"`
}

// Sample is one side of the evidence.
type Sample struct {
	Identifier string  `json:"identifier"`
	Request    Request `json:"request"`
	Status     int     `json:"status"`
	// Observed is this answer's value on the channel, e.g. "404" or
	// "Set-Cookie: flash=…; Path=/".
	Observed string `json:"observed,omitempty"`
	// Headers and Body are the answer as it came, unmasked (the body's
	// first 64 KiB; BodyTruncated says whether there was more).
	Headers       []Field `json:"response_headers,omitempty"`
	Body          string  `json:"response_body,omitempty"`
	BodyTruncated bool    `json:"response_body_truncated,omitempty"`
	// Curl is a shell command that sends Request again (Request.Curl).
	Curl string `json:"curl,omitempty"`
}

// Failed reports whether any finding is at least as serious as min.
func (r *Report) Failed(min Severity) bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity.Rank() >= min.Rank() })
}

// sortFindings orders findings by severity, then endpoint order, then
// rule order, so reports are stable.
func (r *Report) sortFindings() {
	epIndex := map[string]int{}
	for i, e := range r.Endpoints {
		epIndex[e.Name] = i
	}
	ruleIndex := map[string]int{}
	for i, rule := range Rules {
		ruleIndex[rule.ID] = i
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		if d := b.Severity.Rank() - a.Severity.Rank(); d != 0 {
			return d
		}
		if d := epIndex[a.Endpoint] - epIndex[b.Endpoint]; d != 0 {
			return d
		}
		return ruleIndex[a.Rule] - ruleIndex[b.Rule]
	})
}

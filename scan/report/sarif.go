package report

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/tacitauth/tacit/scan"
)

// SARIF constants: the format version WriteSARIF writes, the schema it
// conforms to, and where to read about the tool.
const (
	SARIFVersion   = "2.1.0"
	SARIFSchema    = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	InformationURI = "https://github.com/tacitauth/tacit"
)

// FingerprintKey names Finding.Fingerprint in a SARIF result's
// partialFingerprints. The version suffix changes if the fingerprint's
// recipe ever does, so old and new fingerprints are never compared.
const FingerprintKey = "tacitFinding/v1"

// The SARIF log, as much of SARIF 2.1.0 as a scan fills. Field names are
// the specification's; omitempty keeps optional members out when empty,
// because the schema forbids null where it wants an object or a string.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool        sarifTool         `json:"tool"`
		Invocations []sarifInvocation `json:"invocations"`
		Results     []sarifResult     `json:"results"`
		ColumnKind  string            `json:"columnKind,omitempty"`
		Properties  map[string]any    `json:"properties,omitempty"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name            string      `json:"name"`
		FullName        string      `json:"fullName,omitempty"`
		Version         string      `json:"version,omitempty"`
		SemanticVersion string      `json:"semanticVersion,omitempty"`
		InformationURI  string      `json:"informationUri"`
		Rules           []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string            `json:"id"`
		Name                 string            `json:"name"`
		ShortDescription     sarifText         `json:"shortDescription"`
		FullDescription      sarifText         `json:"fullDescription"`
		Help                 sarifText         `json:"help"`
		DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
		Properties           sarifRuleProperty `json:"properties"`
	}
	sarifRuleConfig struct {
		Level string `json:"level"`
	}
	sarifRuleProperty struct {
		Tags []string `json:"tags"`
		// SecuritySeverity is the CVSS-like score code-scanning services
		// (GitHub's among them) read to rank security results.
		SecuritySeverity string `json:"security-severity"`
		Precision        string `json:"precision"`
	}
	sarifText struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown,omitempty"`
	}
	sarifInvocation struct {
		ExecutionSuccessful        bool                `json:"executionSuccessful"`
		StartTimeUTC               string              `json:"startTimeUtc,omitempty"`
		EndTimeUTC                 string              `json:"endTimeUtc,omitempty"`
		ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
	}
	sarifNotification struct {
		Level     string          `json:"level"`
		Message   sarifText       `json:"message"`
		Locations []sarifLocation `json:"locations,omitempty"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Kind                string            `json:"kind"`
		Level               string            `json:"level"`
		Message             sarifText         `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		WebRequest          *sarifWebRequest  `json:"webRequest,omitempty"`
		WebResponse         *sarifWebResponse `json:"webResponse,omitempty"`
		Properties          map[string]any    `json:"properties,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
		LogicalLocations []sarifLogicalLocation `json:"logicalLocations,omitempty"`
	}
	sarifPhysicalLocation struct {
		ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	}
	sarifArtifactLocation struct {
		URI string `json:"uri"`
	}
	sarifLogicalLocation struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
	sarifWebRequest struct {
		Protocol string            `json:"protocol"`
		Target   string            `json:"target"`
		Method   string            `json:"method"`
		Headers  map[string]string `json:"headers,omitempty"`
		Body     *sarifBody        `json:"body,omitempty"`
	}
	sarifWebResponse struct {
		Protocol     string            `json:"protocol"`
		StatusCode   int               `json:"statusCode"`
		ReasonPhrase string            `json:"reasonPhrase,omitempty"`
		Headers      map[string]string `json:"headers,omitempty"`
		Body         *sarifBody        `json:"body,omitempty"`
	}
	sarifBody struct {
		Text string `json:"text"`
	}
)

// WriteSARIF writes the report as a SARIF 2.1.0 log with one run, for
// code-scanning services and SARIF viewers. Every rule the scanner knows
// is listed, so a result's ruleIndex means the same in every log; each
// finding is a result located at its endpoint (the URL it was probed at,
// and the endpoint's name as a logical location) with its fingerprint as
// a partial fingerprint, so services track it across scans. Endpoints
// that could not be scanned are error notifications of the invocation,
// which then did not succeed.
func WriteSARIF(w io.Writer, r *scan.Report) error {
	return encodeJSON(w, sarifOf(r), "SARIF")
}

func sarifOf(r *scan.Report) sarifLog {
	run := sarifRun{
		Tool:        sarifTool{Driver: sarifDriverOf()},
		Invocations: []sarifInvocation{sarifInvocationOf(r)},
		Results:     []sarifResult{},
		ColumnKind:  "unicodeCodePoints",
		Properties:  map[string]any{"target": r.Target, "requests": r.Requests},
	}
	if r.Framework != nil {
		run.Properties["framework"] = r.Framework
	}
	for _, f := range r.Findings {
		run.Results = append(run.Results, sarifResultOf(r, f))
	}
	return sarifLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []sarifRun{run}}
}

func sarifDriverOf() sarifDriver {
	d := sarifDriver{Name: "tacit", FullName: "tacit scan (account enumeration scanner)", InformationURI: InformationURI}
	if bi, ok := debug.ReadBuildInfo(); ok && strings.HasPrefix(bi.Main.Version, "v") {
		d.Version = bi.Main.Version
		d.SemanticVersion = strings.TrimPrefix(bi.Main.Version, "v")
	}
	for _, rule := range scan.Rules {
		d.Rules = append(d.Rules, sarifRuleOf(rule))
	}
	return d
}

func sarifRuleOf(rule scan.Rule) sarifRule {
	return sarifRule{
		ID:                   rule.ID,
		Name:                 ruleName(rule.ID),
		ShortDescription:     sarifText{Text: rule.Title + "."},
		FullDescription:      sarifText{Text: rule.Remediation},
		Help:                 sarifText{Text: rule.Remediation, Markdown: "**" + rule.Title + ".** " + rule.Remediation},
		DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(rule.Severity)},
		Properties: sarifRuleProperty{
			Tags:             []string{"security", "account-enumeration", cweTag(rule.ID)},
			SecuritySeverity: securitySeverity(rule.Severity),
			// Every finding rests on answers that differed for the
			// same request with a known and an unknown identifier.
			Precision: "high",
		},
	}
}

// ruleName turns USER_ENUM_STATUS_CODE into UserEnumStatusCode, the
// camel-case name SARIF viewers show beside the ID.
func ruleName(id string) string {
	var b strings.Builder
	for _, word := range strings.Split(strings.ToLower(id), "_") {
		if word != "" {
			b.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return b.String()
}

// cweTag is the weakness a rule detects, in the tag form code-scanning
// services link: CWE-208 (observable timing discrepancy) for timing, and
// CWE-204 (observable response discrepancy) for every other channel.
func cweTag(id string) string {
	if id == scan.RuleTiming {
		return "external/cwe/cwe-208"
	}
	return "external/cwe/cwe-204"
}

// sarifLevel maps a severity to a SARIF level: high is an error, medium a
// warning, low a note.
func sarifLevel(s scan.Severity) string {
	switch s {
	case scan.SeverityHigh:
		return "error"
	case scan.SeverityMedium:
		return "warning"
	}
	return "note"
}

// securitySeverity scores a severity on the CVSS scale services use to
// bucket security results (7.0 and up is high, 4.0 to 6.9 medium).
func securitySeverity(s scan.Severity) string {
	switch s {
	case scan.SeverityHigh:
		return "7.5"
	case scan.SeverityMedium:
		return "5.3"
	}
	return "3.1"
}

func sarifInvocationOf(r *scan.Report) sarifInvocation {
	inv := sarifInvocation{ExecutionSuccessful: true}
	if !r.Started.IsZero() {
		inv.StartTimeUTC = r.Started.UTC().Format(time.RFC3339Nano)
		inv.EndTimeUTC = r.Started.Add(r.Duration).UTC().Format(time.RFC3339Nano)
	}
	for _, e := range r.Endpoints {
		var text string
		switch {
		case e.Error != "":
			text = fmt.Sprintf("The endpoint %s (%s %s) could not be scanned: %s", e.Name, e.Method, e.Path, e.Error)
		case e.Verdict == scan.VerdictInconclusive:
			text = fmt.Sprintf("The endpoint %s (%s %s) is inconclusive: %s", e.Name, e.Method, e.Path, strings.Join(e.Inconclusive, "; "))
		default:
			continue
		}
		// An endpoint the scan cannot vouch for is not a pass: the run
		// did not do what it was asked.
		inv.ExecutionSuccessful = false
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level:     "error",
			Message:   sarifText{Text: text},
			Locations: []sarifLocation{endpointLocation(r.Target, e.Name, e.Method, e.Path)},
		})
	}
	return inv
}

func sarifResultOf(r *scan.Report, f scan.Finding) sarifResult {
	index := -1
	for i, rule := range scan.Rules {
		if rule.ID == f.Rule {
			index = i
		}
	}
	ev := f.Evidence
	res := sarifResult{
		RuleID:              f.Rule,
		RuleIndex:           index,
		Kind:                "fail",
		Level:               sarifLevel(f.Severity),
		Message:             sarifText{Text: f.Message},
		Locations:           []sarifLocation{endpointLocation(r.Target, f.Endpoint, f.Method, f.Path)},
		PartialFingerprints: map[string]string{FingerprintKey: f.Fingerprint()},
		Properties: map[string]any{
			"endpointKind": string(f.Kind),
			"channel":      ev.Channel,
			"pairs":        ev.Pairs,
			"differing":    ev.Differing,
		},
	}
	if ev.Known.Request.URL != "" {
		res.WebRequest = webRequestOf(ev.Known.Request)
		res.WebResponse = webResponseOf(ev.Known)
		res.Properties["replay"] = sarifReplay(ev)
	}
	if ev.Input != "" {
		res.Properties["input"] = ev.Input
	}
	if ev.Diff != "" {
		res.Properties["diff"] = ev.Diff
	}
	if f.Advice != "" && r.Framework != nil {
		res.Properties["framework"] = r.Framework.Name
		res.Properties["frameworkAdvice"] = f.Advice
	}
	return res
}

// webRequestOf describes the known identifier's request with every
// header and cookie sent, so that it can be replayed, but for the values
// of Authorization headers: a target file may carry credentials there (a
// staging password), and SARIF logs are uploaded to third parties.
func webRequestOf(req scan.Request) *sarifWebRequest {
	req = redacted(req)
	wr := &sarifWebRequest{Protocol: "HTTP", Target: req.URL, Method: req.Method, Headers: map[string]string{"User-Agent": scan.UserAgent}}
	if req.ContentType != "" {
		wr.Headers["Content-Type"] = req.ContentType
	}
	for _, h := range req.Header {
		wr.Headers[h.Name] = h.Value
	}
	if len(req.Cookies) > 0 {
		var pairs []string
		for _, c := range req.Cookies {
			pairs = append(pairs, c.Name+"="+c.Value)
		}
		wr.Headers["Cookie"] = strings.Join(pairs, "; ")
	}
	if req.Body != "" {
		wr.Body = &sarifBody{Text: req.Body}
	}
	return wr
}

// webResponseOf describes the answer of one side of the evidence, with
// its headers and body (the first 64 KiB).
func webResponseOf(s scan.Sample) *sarifWebResponse {
	wr := &sarifWebResponse{Protocol: "HTTP", StatusCode: s.Status, ReasonPhrase: http.StatusText(s.Status)}
	if len(s.Headers) > 0 {
		wr.Headers = map[string]string{}
		for _, h := range s.Headers {
			if v, ok := wr.Headers[h.Name]; ok {
				wr.Headers[h.Name] = v + ", " + h.Value
			} else {
				wr.Headers[h.Name] = h.Value
			}
		}
	}
	if s.Body != "" {
		wr.Body = &sarifBody{Text: s.Body}
	}
	return wr
}

// sarifReplay is the finding's two requests, known and unknown, as curl
// commands (with Authorization values redacted), and the unknown one's
// answer, which webResponse, holding the known one's, cannot.
func sarifReplay(ev scan.Evidence) map[string]any {
	out := map[string]any{
		"curlKnown":   redacted(ev.Known.Request).Curl(),
		"curlUnknown": redacted(ev.Unknown.Request).Curl(),
	}
	if ev.Unknown.Request.URL != "" {
		out["unknownRequest"] = webRequestOf(ev.Unknown.Request)
		out["unknownResponse"] = webResponseOf(ev.Unknown)
	}
	return out
}

// redacted is req with the values of its Authorization and
// Proxy-Authorization headers replaced.
func redacted(req scan.Request) scan.Request {
	req.Header = slices.Clone(req.Header)
	for i, h := range req.Header {
		if strings.EqualFold(h.Name, "Authorization") || strings.EqualFold(h.Name, "Proxy-Authorization") {
			req.Header[i].Value = "REDACTED"
		}
	}
	return req
}

// endpointLocation locates an endpoint twice over: physically at the URL
// it was probed at (base URL, path and query, escaped: they may hold
// placeholders such as {{flow}}), and logically by its name, with
// "METHOD path" as the fully qualified name. The query stays: many
// applications route by it (wp-login.php?action=lostpassword).
func endpointLocation(base, name, method, path string) sarifLocation {
	p, q, hasQuery := strings.Cut(path, "?")
	uri := base + (&url.URL{Path: p}).EscapedPath()
	if hasQuery {
		uri += "?" + escapeQuery(q)
	}
	return sarifLocation{
		PhysicalLocation: &sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: uri}},
		LogicalLocations: []sarifLogicalLocation{{Name: name, FullyQualifiedName: method + " " + path, Kind: "resource"}},
	}
}

// escapeQuery escapes a query template for a URI: each name and value is
// unescaped as a URL would be and escaped again, so that what is already
// valid stays as it is and placeholders' braces are escaped.
func escapeQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, part := range parts {
		name, value, hasValue := strings.Cut(part, "=")
		part = reescape(name)
		if hasValue {
			part += "=" + reescape(value)
		}
		parts[i] = part
	}
	return strings.Join(parts, "&")
}

func reescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		s = u
	}
	return url.QueryEscape(s)
}

package scan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxBody bounds how much of an answer is read; account pages are small,
// and a scan must not be made to buffer an endless stream.
const maxBody = 4 << 20

// UserAgent names the scanner in the target's logs: every request it
// sends carries it, and reports show it in the requests they list.
const UserAgent = "tacit-scan/1"

// Input is what one probe sends: the values of the built-in placeholders.
type Input struct {
	Identifier string
	// Password fills {{password}}.
	Password string
	// Confirm, when set, fills the second and later {{password}} of a
	// request instead of Password: a confirmation that does not match.
	Confirm *string
	// Random fills {{random}}; Probe picks one when it is empty.
	Random string
}

// Request is a request as it was sent, for evidence.
type Request struct {
	Method string  `json:"method"`
	URL    string  `json:"url"`
	Header []Field `json:"headers,omitempty"` // the target's and endpoint's headers, not cookies
	Body   string  `json:"body,omitempty"`
	// ContentType is the Content-Type the body was sent with, and
	// Cookies the cookies sent with the request: those the before steps
	// got, such as the one a CSRF token is bound to.
	ContentType string  `json:"content_type,omitempty"`
	Cookies     []Field `json:"cookies,omitempty"`
}

func (r Request) String() string {
	s := r.Method + " " + r.URL
	if r.Body != "" {
		s += " " + r.Body
	}
	return s
}

// Response is the answer to a probe's endpoint request (the answers to its
// before steps only fill variables).
type Response struct {
	Input   Input
	Request Request
	Status  int
	Header  http.Header
	Body    []byte
	// Duration runs from sending the endpoint request to the end of its
	// body, for timing analyses.
	Duration time.Duration
	// After is the page a redirect of the answer led to (see Landing);
	// nil when the answer was no same-origin redirect of a POST.
	After *Landing
}

// Landing is the page a probe lands on when it follows the redirects that
// answer its POST. Many applications (Laravel, Django, Rails) answer every
// form alike, with a redirect, and put their message in the session for
// the next page to show (a flash message): the difference is only on the
// page after the redirect.
type Landing struct {
	URL    string // the page's address
	Hops   int    // redirects followed to reach it
	Status int
	Header http.Header
	Body   []byte
}

// maxHops bounds the redirects a probe follows after its POST.
const maxHops = 3

// Probe sends one probe: a fresh cookie jar, the endpoint's before steps,
// then the endpoint request itself. Where an answer points is one of the
// things compared; an answer to a POST (or any method but GET and HEAD)
// that redirects to the same origin is then followed, with GET in the
// probe's cookie jar (a flash message lives in the session), for at most
// maxHops redirects, and the page it lands on is compared too
// (Response.After). A redirect to another origin is never followed.
//
// A throttled answer (429, 503 or any answer with Retry-After) whose wait
// is at most the scanner's MaxWait is waited out and the probe sent again,
// up to maxPaceRetries times: a target that limits its clients' pace can
// then be scanned to the end instead of answering half the probes with
// 429. A longer wait is recorded (see paced) and left as it is.
func (s *Scanner) Probe(ctx context.Context, t *Target, ep *Endpoint, in Input) (*Response, error) {
	for retry := 0; ; retry++ {
		p, err := s.prepare(ctx, t, ep, in)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		resp, body, err := do(p.client, p.req)
		if err != nil {
			return nil, err
		}
		d := time.Since(start)
		r := &Response{Input: p.in, Request: p.sent, Status: resp.StatusCode, Header: resp.Header, Body: body, Duration: d}
		wait, throttled := throttleOf(r)
		if throttled && retry > 0 && s.pacing != nil && !s.pacing.paceless {
			// Waiting as asked did not help: the target's clock or
			// its Retry-After is not to be trusted. Waiting more
			// would only slow the scan down.
			s.pacing.paceless = true
			if s.Log != nil {
				s.Log(fmt.Sprintf("pacing: %s (%s %s) still answered %d after the wait it asked for; not waiting again on this endpoint",
					Sanitize(ep.Name), ep.Method, Sanitize(ep.Path), r.Status))
			}
		}
		if throttled && retry < maxPaceRetries {
			if paced, err := s.pace(ctx, ep, r, wait); err != nil {
				return nil, err
			} else if paced {
				in = p.in
				continue
			}
		}
		if err := s.follow(ctx, t, p, r); err != nil {
			return nil, err
		}
		s.tick()
		return r, nil
	}
}

// follow fetches the page r's redirect leads to, if r answers a request
// other than GET and HEAD with a redirect to the request's own origin, and
// follows that page's redirects on the same terms, up to maxHops in all.
// Only the target's headers go with it: an endpoint's own headers (a JSON
// content type, an API key for the POST) describe its request, not a page
// load.
func (s *Scanner) follow(ctx context.Context, t *Target, p *prepared, r *Response) error {
	if p.req.Method == http.MethodGet || p.req.Method == http.MethodHead {
		return nil
	}
	origin := p.req.URL
	cur, status, header := p.req.URL, r.Status, r.Header
	for hop := 1; hop <= maxHops; hop++ {
		loc := header.Get("Location")
		if !isRedirect(status) || loc == "" {
			return nil
		}
		u, err := cur.Parse(loc)
		if err != nil || u.Scheme != origin.Scheme || u.Host != origin.Host {
			return nil
		}
		u.Fragment = ""
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil
		}
		req.Header.Set("User-Agent", UserAgent)
		for _, h := range t.Headers {
			if v := expand(h.Value, p.in.lookup(p.vars)); strings.EqualFold(h.Name, "Host") {
				req.Host = v
			} else {
				req.Header.Set(h.Name, v)
			}
		}
		resp, body, err := do(p.client, req)
		if err != nil {
			return fmt.Errorf("after the redirect: %w", err)
		}
		r.After = &Landing{URL: u.String(), Hops: hop, Status: resp.StatusCode, Header: resp.Header, Body: body}
		cur, status, header = u, resp.StatusCode, resp.Header
	}
	return nil
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// prepared is a probe ready to send: its before steps done, its endpoint
// request built.
type prepared struct {
	in     Input        // with Random filled in
	client *http.Client // the probe's, with the cookies its before steps got
	req    *http.Request
	sent   Request
	vars   map[string]string // the placeholders' values, before steps' included
}

// prepare runs a probe's before steps in a fresh cookie jar and builds its
// endpoint request.
func (s *Scanner) prepare(ctx context.Context, t *Target, ep *Endpoint, in Input) (*prepared, error) {
	if in.Random == "" {
		in.Random = s.randomString(16)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("cookie jar: %w", err)
	}
	c := *s.client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.observe(&c)

	vars := map[string]string{VarIdentifier: in.Identifier, VarPassword: in.Password, VarRandom: in.Random}
	for i, st := range ep.Before {
		if err := runStep(ctx, &c, t, st, in, vars); err != nil {
			return nil, fmt.Errorf("before step %d (%s %s): %w", i+1, st.Method, st.Path, err)
		}
	}
	req, sent, err := t.newRequest(ctx, &ep.RequestTemplate, in.lookup(vars))
	if err != nil {
		return nil, err
	}
	for _, ck := range jar.Cookies(req.URL) {
		sent.Cookies = append(sent.Cookies, Field{Name: ck.Name, Value: ck.Value})
	}
	return &prepared{in: in, client: &c, req: req, sent: sent, vars: vars}, nil
}

func runStep(ctx context.Context, c *http.Client, t *Target, st *Step, in Input, vars map[string]string) error {
	req, _, err := t.newRequest(ctx, &st.RequestTemplate, in.lookup(vars))
	if err != nil {
		return err
	}
	resp, body, err := do(c, req)
	if err != nil {
		return err
	}
	for _, x := range st.Extract {
		v, err := x.extract(resp, body, c.Jar.Cookies(req.URL))
		if err != nil {
			return fmt.Errorf("{{%s}} from %s %q: %w (the answer was %d)", x.Var, x.From, x.Arg, err, resp.StatusCode)
		}
		vars[x.Var] = v
	}
	return nil
}

func do(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Redacted(), err)
	}
	return resp, body, nil
}

// lookup returns the placeholder values of one request. The second and
// later {{password}} get Confirm when it is set, so a template that sends
// the password twice (password and confirmation) can be made to mismatch.
func (in Input) lookup(vars map[string]string) func(string) string {
	n := 0
	return func(name string) string {
		if name == VarPassword {
			n++
			if n > 1 && in.Confirm != nil {
				return *in.Confirm
			}
		}
		return vars[name]
	}
}

// newRequest builds the request rt describes. Placeholders in the path
// and query are escaped for where they stand; in headers and bodies they
// are sent as they are (forms and JSON escape them by their own rules).
func (t *Target) newRequest(ctx context.Context, rt *RequestTemplate, lookup func(string) string) (*http.Request, Request, error) {
	path, query, hasQuery := strings.Cut(rt.Path, "?")
	u := t.BaseURL.String() + expand(path, func(n string) string { return url.PathEscape(lookup(n)) })
	if hasQuery {
		u += "?" + expand(query, func(n string) string { return url.QueryEscape(lookup(n)) })
	}
	sent := Request{Method: rt.Method, URL: u}
	for _, h := range append(slices.Clone(t.Headers), rt.Headers...) {
		sent.Header = append(sent.Header, Field{Name: h.Name, Value: expand(h.Value, lookup)})
	}
	var body []byte
	var contentType string
	switch {
	case rt.JSON != nil:
		body, contentType = rt.JSON.render(lookup), "application/json"
	case rt.Form != nil:
		body, contentType = encodeForm(rt.Form, lookup), "application/x-www-form-urlencoded"
	}
	sent.Body = string(body)
	req, err := http.NewRequestWithContext(ctx, rt.Method, u, bytes.NewReader(body))
	if err != nil {
		return nil, sent, fmt.Errorf("build %s %s: %w", rt.Method, u, err)
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("User-Agent", UserAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
		sent.ContentType = contentType
	}
	for _, h := range sent.Header {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Set(h.Name, h.Value)
	}
	return req, sent, nil
}

// encodeForm encodes fields in the order written (url.Values would sort
// them).
func encodeForm(fs []Field, lookup func(string) string) []byte {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(f.Name) + "=" + url.QueryEscape(expand(f.Value, lookup)))
	}
	return []byte(b.String())
}

package scan

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// SignInCheck is the answer of a sign-in endpoint to a known account's
// real password and to a wrong one: a positive control that the target
// reaches the application's logic with the identifier and password in the
// right fields.
type SignInCheck struct {
	Endpoint string
	// Right and Wrong describe the two answers: status, redirect target
	// and the names of the cookies set.
	Right, Wrong string
	// SignsIn says the answers differ: the real password did something a
	// wrong one does not.
	SignsIn bool
}

// CheckSignIn sends the first sign-in endpoint of t the identifier with
// a wrong password, then with its password, each in a fresh cookie jar
// after the endpoint's before steps, and compares the answers' status,
// redirect target and cookie names. It errs when t has no sign-in endpoint
// or a request fails. The right password goes last because many apps
// (MediaWiki, for one) clear an account's failed-attempt count when it
// signs in: the check then leaves no failure behind for the scan that
// follows to meet as a lock one round early.
func CheckSignIn(ctx context.Context, client *http.Client, t *Target, identifier, password string) (*SignInCheck, error) {
	i := slices.IndexFunc(t.Endpoints, func(ep *Endpoint) bool { return ep.Kind == KindLogin })
	if i < 0 {
		return nil, fmt.Errorf("no sign-in endpoint to check the password on")
	}
	ep := t.Endpoints[i]
	s := &Scanner{Client: client}
	wrong, err := s.Probe(ctx, t, ep, s.Input(identifier))
	if err != nil {
		return nil, err
	}
	right, err := s.Probe(ctx, t, ep, Input{Identifier: identifier, Password: password})
	if err != nil {
		return nil, err
	}
	c := &SignInCheck{Endpoint: ep.Name, Right: answerSummary(right), Wrong: answerSummary(wrong)}
	c.SignsIn = c.Right != c.Wrong
	return c, nil
}

// answerSummary is what a sign-in changes: status, redirect target and
// the cookies set.
func answerSummary(r *Response) string {
	s := fmt.Sprint(r.Status)
	if loc := r.Header.Get("Location"); loc != "" {
		s += " → " + loc
	}
	var names []string
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.MaxAge >= 0 && c.Value != "" && c.Value != "deleted" {
			names = append(names, c.Name)
		}
	}
	slices.Sort(names)
	if len(names) > 0 {
		s += ", sets " + strings.Join(slices.Compact(names), ", ")
	}
	return s
}

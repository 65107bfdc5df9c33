// Package tacit holds the domain of an authentication server whose account
// flows say nothing about who has an account: accounts, pending sign-ups,
// sessions, reset tokens, email changes, throttle counters, queued mail,
// the password policy, the public outcomes of every flow, and the small
// interfaces that storage and hashing implement.
//
// The enumeration-proof flows live in package flow; storage in sqlite and
// postgres; mail delivery in mail; the HTTP surface in web; the scanner in
// scan; the binary in cmd/tacit.
package tacit

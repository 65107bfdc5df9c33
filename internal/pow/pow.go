// Package pow is tacit's proof of work: challenges a browser solves before
// a request that a bot would make by the thousand, in the scheme ALTCHA
// uses (https://altcha.org), so its widget and libraries interoperate.
//
// A challenge is the SHA-256 hex of salt + number for a random number in
// [0, maxnumber]; its signature is the HMAC-SHA-256 hex of the challenge
// under a server key, so the server keeps no state until a solution comes
// back. The salt carries its expiry as a query ("…?expires=1767225600"),
// and its cost ("…?expires=1767225600&maxnumber=100000&"), which the
// challenge, and so the signature, covers; it ends in "&", so no digit
// of the number can be read as part of it (see Expires). A solution is
// the
// base64 of the JSON {algorithm, challenge, number, salt, signature}.
//
// Written here rather than taken from altcha-lib-go: that module is not
// served by the module proxy this project builds from, and the scheme is
// some forty lines of standard library. Replay (a solution spent twice) is
// the caller's to refuse: see flow.
package pow

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the one hash tacit issues and accepts.
const Algorithm = "SHA-256"

// MaxPayload bounds the length of a solution as sent: a real one is about
// 250 bytes; anything longer is refused before it is decoded.
const MaxPayload = 1024

// Challenge is what a client is given to solve, as ALTCHA's widget reads
// it.
type Challenge struct {
	Algorithm string `json:"algorithm"`
	Challenge string `json:"challenge"`
	MaxNumber int64  `json:"maxnumber"`
	Salt      string `json:"salt"`
	Signature string `json:"signature"`
}

// Payload is a solution: the challenge as it was given, and the number
// found.
type Payload struct {
	Algorithm string `json:"algorithm"`
	Challenge string `json:"challenge"`
	Number    int64  `json:"number"`
	Salt      string `json:"salt"`
	Signature string `json:"signature"`
}

// The reasons Parse and Verify refuse a solution. Callers answer them all
// alike; they are told apart for tests and logs.
var (
	ErrMalformed = errors.New("pow: malformed solution")
	ErrExpired   = errors.New("pow: challenge expired")
	ErrSignature = errors.New("pow: bad signature")
	ErrWrong     = errors.New("pow: wrong number")
)

// New makes a challenge of cost maxNumber (the client tries maxNumber/2
// hashes on average, maxNumber+1 at most) that expires at expires, signed
// with key. Salt and number come from crypto/rand.
func New(key []byte, maxNumber int64, expires time.Time) (Challenge, error) {
	if maxNumber < 1 {
		maxNumber = 1
	}
	var raw [12]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Challenge{}, err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(maxNumber+1))
	if err != nil {
		return Challenge{}, err
	}
	salt := hex.EncodeToString(raw[:]) + "?expires=" + strconv.FormatInt(expires.Unix(), 10) +
		"&maxnumber=" + strconv.FormatInt(maxNumber, 10) + "&"
	ch := hashHex(salt, n.Int64())
	return Challenge{Algorithm: Algorithm, Challenge: ch, MaxNumber: maxNumber, Salt: salt, Signature: sign(key, ch)}, nil
}

// Solve finds the number of c by trying every one from 0, as a browser
// does; ok is false if none up to c.MaxNumber fits. Tests and benchmarks
// use it; the server never does.
func Solve(c Challenge) (number int64, ok bool) {
	want, err := hex.DecodeString(c.Challenge)
	if err != nil {
		return 0, false
	}
	buf := make([]byte, 0, len(c.Salt)+20)
	for n := int64(0); n <= c.MaxNumber; n++ {
		buf = strconv.AppendInt(append(buf[:0], c.Salt...), n, 10)
		if sum := sha256.Sum256(buf); hmac.Equal(sum[:], want) {
			return n, true
		}
	}
	return 0, false
}

// Encode is the solution to c with number, as a client sends it.
func Encode(c Challenge, number int64) string {
	b, _ := json.Marshal(Payload{Algorithm: c.Algorithm, Challenge: c.Challenge, Number: number, Salt: c.Salt, Signature: c.Signature})
	return base64.StdEncoding.EncodeToString(b)
}

// Parse reads a solution as a client sends it: base64 (standard, padded
// or not) of a JSON object with exactly the five members, each of the
// right type. It checks form only; Verify checks the rest.
func Parse(s string) (Payload, error) {
	if s == "" || len(s) > MaxPayload {
		return Payload{}, ErrMalformed
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return Payload{}, ErrMalformed
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var p Payload
	if err := dec.Decode(&p); err != nil || dec.More() {
		return Payload{}, ErrMalformed
	}
	if p.Algorithm != Algorithm || p.Number < 0 || len(p.Challenge) != 2*sha256.Size || len(p.Signature) != 2*sha256.Size || p.Salt == "" {
		return Payload{}, ErrMalformed
	}
	return p, nil
}

// Expires is when the challenge of p stops being accepted: the salt's
// expires parameter. A salt without one is malformed: tacit never issues
// a challenge that lives for ever. So is one that does not end in "&":
// the string hashed is salt then number, so without that end a client
// could move the number's leading digits onto the salt's expires, keep
// the hash and signature, and have the solution live for centuries (and
// serve again once its spent record is purged at the real expiry).
func (p Payload) Expires() (time.Time, error) {
	secs, err := p.param("expires")
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(secs, 0), nil
}

// Cost is the maxnumber the challenge of p was issued with, as its salt
// says. The client's work was drawn from that range, not from the
// Payload's own say, so a caller that asks a higher cost now refuses a
// lower one: challenges cost nothing to fetch and could be hoarded.
func (p Payload) Cost() (int64, error) { return p.param("maxnumber") }

// param reads a positive integer parameter of the salt's query; the
// query must end in "&" (see Expires).
func (p Payload) param(name string) (int64, error) {
	_, query, ok := strings.Cut(p.Salt, "?")
	if !ok || !strings.HasSuffix(query, "&") {
		return 0, ErrMalformed
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return 0, ErrMalformed
	}
	n, err := strconv.ParseInt(q.Get(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, ErrMalformed
	}
	return n, nil
}

// Verify checks a parsed solution at now: signed with key, not expired,
// and the number hashes with the salt to the challenge. It does not know
// whether the solution was spent before.
func Verify(key []byte, p Payload, now time.Time) error {
	exp, err := p.Expires()
	if err != nil {
		return err
	}
	if _, err := p.Cost(); err != nil {
		return err
	}
	got, err1 := hex.DecodeString(p.Signature)
	ch, err2 := hex.DecodeString(p.Challenge)
	if err1 != nil || err2 != nil {
		return ErrMalformed
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(p.Challenge))
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrSignature
	}
	if !now.Before(exp) {
		return ErrExpired
	}
	sum := sha256.Sum256([]byte(p.Salt + strconv.FormatInt(p.Number, 10)))
	if !hmac.Equal(sum[:], ch) {
		return ErrWrong
	}
	return nil
}

// SpentKey is what a store keeps to refuse a solution a second time: the
// challenge's own bytes, which the signature ties to one salt and number.
func (p Payload) SpentKey() []byte {
	b, _ := hex.DecodeString(p.Challenge)
	return b
}

func hashHex(salt string, n int64) string {
	sum := sha256.Sum256([]byte(salt + strconv.FormatInt(n, 10)))
	return hex.EncodeToString(sum[:])
}

func sign(key []byte, challenge string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(challenge))
	return hex.EncodeToString(m.Sum(nil))
}

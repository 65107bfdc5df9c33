package pow_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/internal/pow"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func solved(t testing.TB, cost int64, expires time.Time) (pow.Challenge, string) {
	t.Helper()
	c, err := pow.New(key, cost, expires)
	if err != nil {
		t.Fatal(err)
	}
	n, ok := pow.Solve(c)
	if !ok {
		t.Fatal("challenge has no solution")
	}
	return c, pow.Encode(c, n)
}

func TestVerifyAcceptsSolution(t *testing.T) {
	now := time.Now()
	c, s := solved(t, 1000, now.Add(time.Minute))
	if c.Algorithm != "SHA-256" || c.MaxNumber != 1000 || !strings.Contains(c.Salt, "?expires=") {
		t.Fatalf("challenge = %+v", c)
	}
	p, err := pow.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := pow.Verify(key, p, now); err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if cost, err := p.Cost(); cost != 1000 || err != nil {
		t.Fatalf("Cost = %d, %v", cost, err)
	}
	// Unpadded base64, as some clients send it, is the same solution.
	p2, err := pow.Parse(strings.TrimRight(s, "="))
	if err != nil || pow.Verify(key, p2, now) != nil {
		t.Fatalf("unpadded: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Now()
	c, s := solved(t, 1000, now.Add(time.Minute))
	good, err := pow.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	other := []byte("another key, another server......")
	tests := []struct {
		name string
		key  []byte
		edit func(p *pow.Payload)
		at   time.Time
		want error
	}{
		{"expired", key, nil, now.Add(time.Minute), pow.ErrExpired},
		{"long expired", key, nil, now.Add(time.Hour), pow.ErrExpired},
		{"other key", other, nil, now, pow.ErrSignature},
		{"wrong number", key, func(p *pow.Payload) { p.Number++ }, now, pow.ErrWrong},
		{"forged signature", key, func(p *pow.Payload) { p.Signature = strings.Repeat("0", 64) }, now, pow.ErrSignature},
		{"later expiry", key, func(p *pow.Payload) {
			p.Salt = strings.Replace(p.Salt, "?expires=", "?expires=9", 1)
		}, now, pow.ErrWrong},
		{"challenge of another salt", key, func(p *pow.Payload) { p.Challenge = strings.Repeat("ab", 32) }, now, pow.ErrSignature},
		{"no expiry", key, func(p *pow.Payload) { p.Salt, _, _ = strings.Cut(p.Salt, "?") }, now, pow.ErrMalformed},
		{"no cost", key, func(p *pow.Payload) { p.Salt = strings.Replace(p.Salt, "maxnumber=1000&", "", 1) }, now, pow.ErrMalformed},
		{"no final &", key, func(p *pow.Payload) { p.Salt = strings.TrimSuffix(p.Salt, "&") }, now, pow.ErrMalformed},
		{"upper-case signature", key, func(p *pow.Payload) { p.Signature = strings.ToUpper(p.Signature) }, now, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			if tt.edit != nil {
				tt.edit(&p)
			}
			if err := pow.Verify(tt.key, p, tt.at); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	_ = c
}

func TestParseRefusesMalformed(t *testing.T) {
	now := time.Now()
	c, _ := solved(t, 10, now.Add(time.Minute))
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.StdEncoding.EncodeToString(b)
	}
	good := map[string]any{"algorithm": c.Algorithm, "challenge": c.Challenge, "number": 1, "salt": c.Salt, "signature": c.Signature}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for name, s := range map[string]string{
		"empty":           "",
		"not base64":      "!!!",
		"not json":        base64.StdEncoding.EncodeToString([]byte("hello")),
		"array":           enc([]int{1}),
		"SHA-1":           enc(with("algorithm", "SHA-1")),
		"negative":        enc(with("number", -1)),
		"fraction":        enc(with("number", 1.5)),
		"number string":   enc(with("number", "1")),
		"extra member":    enc(with("took", 12)),
		"no salt":         enc(with("salt", nil)),
		"short challenge": enc(with("challenge", "abcd")),
		"too long":        strings.Repeat("A", pow.MaxPayload+4),
		"two objects":     base64.StdEncoding.EncodeToString([]byte(`{"algorithm":"SHA-256"} {}`)),
	} {
		if _, err := pow.Parse(s); !errors.Is(err, pow.ErrMalformed) {
			t.Errorf("%s: Parse = %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzParse feeds Parse arbitrary input: it must never panic, and what it
// accepts must be a solution Verify can judge without panicking, which
// encodes back to something Parse accepts alike.
func FuzzParse(f *testing.F) {
	c, s := solved(f, 100, time.Now().Add(time.Minute))
	f.Add(s)
	f.Add(strings.TrimRight(s, "="))
	f.Add("")
	f.Add("e30=")
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"algorithm":"SHA-256","challenge":"` + c.Challenge + `","number":1e3,"salt":"x?expires=1","signature":"` + c.Signature + `"}`)))
	f.Fuzz(func(t *testing.T, in string) {
		p, err := pow.Parse(in)
		if err != nil {
			if !errors.Is(err, pow.ErrMalformed) {
				t.Fatalf("Parse error %v is not ErrMalformed", err)
			}
			return
		}
		_ = pow.Verify(key, p, time.Now())
		b, _ := json.Marshal(p)
		again, err := pow.Parse(base64.StdEncoding.EncodeToString(b))
		if err != nil || again != p {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, p)
		}
	})
}

// BenchmarkSolve is a client's work at the default cost (flow's
// DefaultProofCost, 100000): on average half the numbers are tried.
func BenchmarkSolve(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		c, err := pow.New(key, 100000, time.Now().Add(time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, ok := pow.Solve(c); !ok {
			b.Fatal("unsolved")
		}
	}
}

// BenchmarkVerify is the server's work per solution: parse and verify.
func BenchmarkVerify(b *testing.B) {
	_, s := solved(b, 100000, time.Now().Add(time.Hour))
	now := time.Now()
	for b.Loop() {
		p, err := pow.Parse(s)
		if err != nil {
			b.Fatal(err)
		}
		if err := pow.Verify(key, p, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNew is the server's work per challenge issued.
func BenchmarkNew(b *testing.B) {
	exp := time.Now().Add(time.Hour)
	for b.Loop() {
		if _, err := pow.New(key, 100000, exp); err != nil {
			b.Fatal(err)
		}
	}
}

// spliced moves the leading digits of p's number onto the end of its
// salt: the string hashed is the same, so the challenge and signature
// still fit, but the salt's expires now reads a time far in the future.
// ok is false when the number has a single digit (nothing to move).
func spliced(p pow.Payload) (pow.Payload, bool) {
	digits := strconv.FormatInt(p.Number, 10)
	if len(digits) < 2 {
		return p, false
	}
	p.Salt += digits[:len(digits)-1]
	p.Number, _ = strconv.ParseInt(digits[len(digits)-1:], 10, 64)
	return p, true
}

// TestVerifyRefusesSplicedNumber: digits of the number moved into the
// salt's expires hash to the same challenge; a solution so edited must
// not be accepted, or it would live for ever (and, once its spent record
// is purged at the real expiry, serve again).
func TestVerifyRefusesSplicedNumber(t *testing.T) {
	now := time.Now()
	for {
		c, s := solved(t, 100_000, now.Add(time.Minute))
		p, err := pow.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		q, ok := spliced(p)
		if !ok {
			continue
		}
		later := now.Add(time.Hour)
		if err := pow.Verify(key, q, later); err == nil {
			t.Fatalf("spliced solution of %+v accepted an hour after its challenge expired", c)
		}
		if err := pow.Verify(key, p, now); err != nil {
			t.Fatalf("the solution as solved: %v", err)
		}
		return
	}
}

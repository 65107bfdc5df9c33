package argon2id

import (
	"strings"
	"testing"
)

func fast(t testing.TB) *Hasher {
	h, err := New(Params{Memory: 64, Time: 1, Threads: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashVerify(t *testing.T) {
	h := fast(t)
	enc, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("encoding = %q", enc)
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct horsf": false, "": false} {
		ok, err := h.Verify(pw, enc)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	again, _ := h.Hash("correct horse")
	if again == enc {
		t.Error("two hashes of one password are equal: salt is not random")
	}
}

// A known vector from another implementation (the reference argon2 CLI:
// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -l 32 -e) shows the
// encoding interoperates.
func TestVerifyReferenceVector(t *testing.T) {
	h := fast(t)
	const enc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	ok, err := h.Verify("password", enc)
	if err != nil || !ok {
		t.Fatalf("Verify(reference) = %v, %v", ok, err)
	}
	if !h.NeedsRehash(enc) {
		t.Error("NeedsRehash = false for other parameters")
	}
}

func TestMalformed(t *testing.T) {
	h := fast(t)
	for _, enc := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=18$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=99999999,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=64,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=64,t=1,p=1$!!$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		if ok, err := h.Verify("password", enc); ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want error", enc, ok, err)
		}
	}
}

func TestInvalidParams(t *testing.T) {
	if _, err := New(Params{Memory: 4, Time: 1, Threads: 1}, 0); err == nil {
		t.Error("New accepted 4 KiB")
	}
	if _, err := New(Params{Memory: 64, Time: 0, Threads: 1}, 0); err == nil {
		t.Error("New accepted t=0")
	}
}

func FuzzVerify(f *testing.F) {
	h := fast(f)
	enc, _ := h.Hash("x")
	f.Add(enc)
	f.Add("$argon2id$v=19$m=64,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "m=") && !strings.Contains(s, "m=64,") {
			return // other costs only slow the fuzzer down
		}
		h.Verify("x", s)
	})
}

func BenchmarkHashDefault(b *testing.B) {
	h, _ := New(DefaultParams(), 0)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Hash("benchmark password")
		}
	})
}

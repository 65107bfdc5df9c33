package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// hashSampler is a store that names the hash parameters in use; every
// engine is one.
type hashSampler interface {
	HashSamples(ctx context.Context) ([]string, error)
}

// HashSamples gives one stored hash per parameter set, so the server can
// size its envelope to the costliest stored hash.
func testHashSamples(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	hs, ok := s.(hashSampler)
	if !ok {
		t.Fatalf("%T has no HashSamples", s)
	}
	if got, err := hs.HashSamples(ctx); err != nil || len(got) != 0 {
		t.Fatalf("HashSamples of an empty store = %q, %v", got, err)
	}
	live1 := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5"
	live2 := "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$b3RoZXJrZXlvdGhlcmtleQ"
	old := "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5"
	for i, h := range []string{live1, old, live2} {
		a := tacit.Account{Email: string(rune('a'+i)) + "@example.com", PasswordHash: h, CreatedAt: time.Now()}
		update(t, s, func(tx tacit.Tx) error { return tx.CreateAccount(ctx, &a) })
	}
	got, err := hs.HashSamples(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] == got[1] {
		t.Fatalf("HashSamples = %q, want one live hash and %q", got, old)
	}
	var sawOld bool
	for _, h := range got {
		sawOld = sawOld || h == old
		if h != old && h != live1 && h != live2 {
			t.Fatalf("HashSamples = %q: %q is no stored hash", got, h)
		}
	}
	if !sawOld {
		t.Fatalf("HashSamples = %q, want %q among them", got, old)
	}
}

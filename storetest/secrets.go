package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/tacitauth/tacit"
)

// secret calls Secret and fails the test on error.
func secret(t *testing.T, s tacit.Store, name string) []byte {
	t.Helper()
	v, err := s.Secret(context.Background(), name)
	if err != nil {
		t.Fatalf("Secret(%q): %v", name, err)
	}
	return v
}

func testSecret(t *testing.T, s tacit.Store) {
	first := secret(t, s, "throttle")
	equal(t, "secret length", len(first), 32)
	if bytes.Equal(first, make([]byte, 32)) {
		t.Fatal("secret is all zero")
	}
	equal(t, "secret on a second call", secret(t, s, "throttle"), first)
	other := secret(t, s, "csrf")
	equal(t, "other secret's length", len(other), 32)
	if bytes.Equal(other, first) {
		t.Fatal("two named secrets are equal")
	}
	equal(t, "first secret after creating another", secret(t, s, "throttle"), first)
}

// Instances starting together on one database all get the one secret
// that was stored.
func testSecretConcurrent(t *testing.T, e engine) {
	const callers = 16
	first, second := e.pair(t)
	got := make([][]byte, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		s := []tacit.Store{first, second}[i%2]
		wg.Go(func() {
			<-start // all at once, so several find no secret yet
			v, err := s.Secret(context.Background(), "throttle")
			if err != nil {
				t.Errorf("Secret: %v", err)
			}
			got[i] = v
		})
	}
	close(start)
	wg.Wait()
	equal(t, "secret length", len(got[0]), 32)
	for i := range got {
		equal(t, "secret from a concurrent first call", got[i], got[0])
	}
	equal(t, "secret after concurrent first calls", secret(t, first, "throttle"), got[0])
	equal(t, "secret on the other instance", secret(t, second, "throttle"), got[0])
}

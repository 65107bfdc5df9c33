package flow_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit/flow"
)

// TestClientAuthParallelGuessesCounted: parallel attempts at a client's
// secret are counted before any is checked, so no more than the limit
// get through; an attempt that authenticated takes its count back
// without touching the others'.
func TestClientAuthParallelGuessesCounted(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, flow.EmailFirst, func(c *flow.Config) {
		l := flow.DefaultLimits()
		l.ClientSecret = flow.Limit{Free: 5, Delay: time.Minute, Window: time.Hour}
		l.ClientSecretIP = flow.Limit{Free: 1000, Delay: time.Second, Window: time.Hour}
		c.Limits = &l
	})
	client := flow.Client{IP: "192.0.2.1"}

	// The client's own requests, authenticated, never add up.
	for range 20 {
		a, wait, err := e.svc.AdmitClientAuth(ctx, "app", client)
		if err != nil || wait != 0 {
			t.Fatalf("authenticated request held back: %v %v", wait, err)
		}
		if err := e.svc.ClientAuthPassed(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	admitted, held := 0, 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, wait, err := e.svc.AdmitClientAuth(ctx, "app", client)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if wait > 0 {
				held++
			} else {
				admitted++
			}
		})
	}
	wg.Wait()
	if admitted != 5 || held != 15 {
		t.Fatalf("%d admitted and %d held back of 20 parallel guesses, want 5 and 15", admitted, held)
	}
	// Another client id is not held back by this one's failures.
	if _, wait, err := e.svc.AdmitClientAuth(ctx, "other", client); err != nil || wait != 0 {
		t.Errorf("another client id: %v %v", wait, err)
	}
	e.clock.Advance(time.Minute)
	// One more attempt is let through after the wait; if it
	// authenticates, taking its count back leaves the five failures.
	a, wait, err := e.svc.AdmitClientAuth(ctx, "app", client)
	if err != nil || wait != 0 {
		t.Fatalf("after the wait: %v %v", wait, err)
	}
	if err := e.svc.ClientAuthPassed(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, wait, _ := e.svc.AdmitClientAuth(ctx, "app", client); wait != 0 {
		t.Fatalf("held back right after a taken-back attempt: %v", wait)
	}
	// That last one failed: now six failures hold the key back.
	if _, wait, _ := e.svc.AdmitClientAuth(ctx, "app", client); wait == 0 {
		t.Error("a failed attempt after the wait did not count")
	}
}

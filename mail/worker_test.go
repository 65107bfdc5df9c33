package mail

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a settable time source for the worker.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// flakySender fails its first fails sends with err, then records each
// message and signals it on sent (if set).
type flakySender struct {
	mu    sync.Mutex
	fails int
	err   error
	calls int
	msgs  []Message
	sent  chan Message
}

func (s *flakySender) Send(_ context.Context, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fails != 0 {
		s.fails--
		return s.err
	}
	s.msgs = append(s.msgs, m)
	if s.sent != nil {
		s.sent <- m
	}
	return nil
}

func (s *flakySender) count() (calls, sent int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, len(s.msgs)
}

func newTestWorker(t *testing.T, box *memOutbox, s Sender, log *slog.Logger) (*Worker, *clock) {
	t.Helper()
	c := &clock{now: t0}
	w := NewWorker(box, testRenderer(t), s, log)
	w.Now = c.Now
	return w, c
}

func queue(t *testing.T, box *memOutbox, kind tacit.MailKind) int64 {
	t.Helper()
	m := testMail(t, kind)
	m.CreatedAt = t0
	return box.enqueue(m)
}

func runOnce(t *testing.T, w *Worker, want int) {
	t.Helper()
	n, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("RunOnce handled %d mails, want %d", n, want)
	}
}

func TestWorkerDelivers(t *testing.T) {
	box := &memOutbox{}
	dev := DevSender{Box: box, Now: func() time.Time { return t0.Add(time.Second) }}
	w, _ := newTestWorker(t, box, dev, nil)
	kinds := []tacit.MailKind{tacit.MailFinishSignup, tacit.MailVerify, tacit.MailAlreadyRegistered}
	for _, k := range kinds {
		queue(t, box, k)
	}

	runOnce(t, w, 3)
	runOnce(t, w, 0)

	devs, err := box.DevMails(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantSubjects := []string{ // newest first
		"You already have an account with Acme Health",
		"Confirm your address for Acme Health",
		"Finish signing up for Acme Health",
	}
	if len(devs) != 3 {
		t.Fatalf("dev mailbox has %d mails, want 3", len(devs))
	}
	for i, d := range devs {
		if d.Subject != wantSubjects[i] || d.To != "alice@example.com" || !d.SentAt.Equal(t0.Add(time.Second)) ||
			!strings.Contains(d.Text, testToken) || !strings.Contains(d.HTML, testToken) {
			t.Errorf("dev mail %d = %+v", i, d)
		}
	}
	for id := int64(1); id <= 3; id++ {
		m := box.get(id)
		if !m.sent || !m.sentAt.Equal(t0) || m.Data != nil || m.Attempts != 1 || len(m.reasons) != 0 {
			t.Errorf("mail %d: sent=%v at %v data=%v attempts=%d reasons=%q", id, m.sent, m.sentAt, m.Data, m.Attempts, m.reasons)
		}
	}
}

func TestWorkerRetriesWithBackoff(t *testing.T) {
	box := &memOutbox{}
	s := &flakySender{fails: 2, err: errors.New("451 try later")}
	w, c := newTestWorker(t, box, s, nil)
	id := queue(t, box, tacit.MailVerify)

	runOnce(t, w, 1)
	m := box.get(id)
	assertDue(t, m, t0, 10*time.Second)
	if m.sent || m.abandoned || len(m.reasons) != 1 || m.reasons[0] != "send: 451 try later" {
		t.Fatalf("after 1st try: sent=%v abandoned=%v reasons=%q", m.sent, m.abandoned, m.reasons)
	}

	runOnce(t, w, 0) // not due yet
	c.Advance(10 * time.Second)
	runOnce(t, w, 1)
	assertDue(t, box.get(id), c.Now(), 20*time.Second)

	c.Advance(20 * time.Second)
	runOnce(t, w, 1)
	m = box.get(id)
	if !m.sent || m.Attempts != 3 || len(m.reasons) != 2 {
		t.Fatalf("after 3rd try: sent=%v attempts=%d reasons=%q", m.sent, m.Attempts, m.reasons)
	}
	if calls, sent := s.count(); calls != 3 || sent != 1 {
		t.Errorf("sender: %d calls, %d sent; want 3, 1", calls, sent)
	}
}

// assertDue checks that m is due again backoff after from, less at most a
// quarter of jitter.
func assertDue(t *testing.T, m memMail, from time.Time, backoff time.Duration) {
	t.Helper()
	lo, hi := from.Add(backoff-backoff/4), from.Add(backoff)
	if m.due.Before(lo) || m.due.After(hi) {
		t.Fatalf("mail due at +%v, want between +%v and +%v", m.due.Sub(from), lo.Sub(from), hi.Sub(from))
	}
}

func TestWorkerGivesUp(t *testing.T) {
	box := &memOutbox{}
	s := &flakySender{fails: -1, err: errors.New("connection refused")}
	w, c := newTestWorker(t, box, s, nil)
	w.MaxAttempts = 3
	id := queue(t, box, tacit.MailFinishSignup)

	for range 3 {
		runOnce(t, w, 1)
		c.Advance(2 * time.Hour)
	}
	runOnce(t, w, 0)

	m := box.get(id)
	if !m.abandoned || m.sent || m.Attempts != 3 || len(m.reasons) != 3 {
		t.Fatalf("abandoned=%v sent=%v attempts=%d reasons=%q", m.abandoned, m.sent, m.Attempts, m.reasons)
	}
	if calls, _ := s.count(); calls != 3 {
		t.Errorf("sender called %d times, want 3", calls)
	}
}

func TestWorkerRenderErrorIsPermanent(t *testing.T) {
	box := &memOutbox{}
	s := &flakySender{}
	w, _ := newTestWorker(t, box, s, nil)
	unknown := box.enqueue(tacit.Mail{Kind: "password_reset", To: "a@example.com", CreatedAt: t0})
	noLink := box.enqueue(tacit.Mail{Kind: tacit.MailVerify, To: "b@example.com", Data: map[string]string{}, CreatedAt: t0})

	runOnce(t, w, 2)
	runOnce(t, w, 0)

	for id, want := range map[int64]string{
		unknown: `render: render "password_reset": unknown mail kind`,
		noLink:  `map has no entry for key "link"`,
	} {
		m := box.get(id)
		if !m.abandoned || m.Attempts != 1 || len(m.reasons) != 1 || !strings.Contains(m.reasons[0], want) {
			t.Errorf("mail %d: abandoned=%v attempts=%d reasons=%q, want %q", id, m.abandoned, m.Attempts, m.reasons, want)
		}
	}
	if calls, _ := s.count(); calls != 0 {
		t.Errorf("sender called %d times for unrenderable mail", calls)
	}
}

func TestWorkerMailNone(t *testing.T) {
	box := &memOutbox{}
	s := &flakySender{}
	w, _ := newTestWorker(t, box, s, nil)
	id := box.enqueue(tacit.Mail{Kind: tacit.MailNone, To: "alice@example.com", CreatedAt: t0})

	runOnce(t, w, 1)
	runOnce(t, w, 0)

	// Deleted, not kept as sent: every uniform request writes such a
	// row, and kept for days they would grow the outbox without bound.
	if m := box.get(id); !m.deleted || m.sent || m.abandoned {
		t.Errorf("MailNone: deleted=%v sent=%v abandoned=%v, want deleted", m.deleted, m.sent, m.abandoned)
	}
	if calls, _ := s.count(); calls != 0 {
		t.Errorf("sender called %d times for MailNone", calls)
	}
}

// startWorker runs w until the test ends.
func startWorker(t *testing.T, w *Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		w.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

func TestWorkerKick(t *testing.T) {
	box := &memOutbox{}
	claimed := make(chan struct{}, 10)
	box.onClaim = func() { claimed <- struct{}{} }
	s := &flakySender{sent: make(chan Message, 1)}
	w, _ := newTestWorker(t, box, s, nil)
	w.Poll = time.Hour // only a kick can wake it in time

	startWorker(t, w)
	<-claimed // the first pass at start found nothing
	queue(t, box, tacit.MailVerify)
	w.Kick()
	w.Kick() // a second kick must not block

	select {
	case m := <-s.sent:
		if m.Subject != "Confirm your address for Acme Health" {
			t.Errorf("sent %q", m.Subject)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Kick did not wake the worker")
	}
}

func TestWorkerRunDrainsFullBatches(t *testing.T) {
	box := &memOutbox{}
	s := &flakySender{sent: make(chan Message, 5)}
	w, _ := newTestWorker(t, box, s, nil)
	w.Poll = time.Hour
	w.Batch = 2
	for range 5 {
		queue(t, box, tacit.MailFinishSignup)
	}

	startWorker(t, w)
	for i := range 5 {
		select {
		case <-s.sent:
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of 5 mails sent: the worker waited for its poll after a full batch", i)
		}
	}
}

// blockingSender waits until its context ends.
type blockingSender struct{ calls chan struct{} }

func (s blockingSender) Send(ctx context.Context, _ Message) error {
	s.calls <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

func TestWorkerSendEndsWithLease(t *testing.T) {
	box := &memOutbox{}
	s := blockingSender{calls: make(chan struct{}, 2)}
	w, _ := newTestWorker(t, box, s, nil)
	w.Lease = 200 * time.Millisecond
	first := queue(t, box, tacit.MailVerify)
	second := queue(t, box, tacit.MailVerify)

	start := time.Now()
	runOnce(t, w, 2)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("RunOnce took %v with a 200ms lease", elapsed)
	}
	if len(s.calls) != 1 {
		t.Errorf("%d sends started, want 1: the second mail's lease was over", len(s.calls))
	}
	// Interrupted, not failed: both stay claimed until the lease ends.
	for _, id := range []int64{first, second} {
		if m := box.get(id); m.sent || m.abandoned || len(m.reasons) != 0 {
			t.Errorf("mail %d: sent=%v abandoned=%v reasons=%q", id, m.sent, m.abandoned, m.reasons)
		}
	}
}

func TestWorkerNeverLogsData(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	box := &memOutbox{}
	link := testRenderer(t).Links.Verify(testToken)
	// A server that quotes the recipient and, worse, the message back.
	s := &flakySender{fails: 1, err: errors.New("550 <ALICE@example.com>: rejected: " + link + " token " + testToken)}
	w, c := newTestWorker(t, box, s, log)
	failing := queue(t, box, tacit.MailVerify)
	box.enqueue(tacit.Mail{Kind: "bogus", To: "alice@example.com", Data: map[string]string{"link": link}, CreatedAt: t0})

	runOnce(t, w, 2)
	c.Advance(time.Hour)
	runOnce(t, w, 1) // the retry succeeds

	out := buf.String()
	for _, secret := range []string{testToken, "alice@example.com", "ALICE@example.com"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{
		"mail delivery failed", "id=1", "kind=verify", "to=a***@example.com",
		"mail delivery abandoned", "id=2", "kind=bogus", "mail sent",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	reason := box.get(failing).reasons[0]
	const wantReason = "send: 550 <a***@example.com>: rejected: <link> token <link token>"
	if reason != wantReason {
		t.Errorf("stored reason = %q, want %q", reason, wantReason)
	}
}

func TestBackoff(t *testing.T) {
	w := NewWorker(&memOutbox{}, Renderer{}, &flakySender{}, nil)
	for attempt, want := range map[int]time.Duration{
		0: 10 * time.Second, 1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second,
		9: 2560 * time.Second, 10: time.Hour, 12: time.Hour, 1000: time.Hour,
	} {
		if got := w.backoff(attempt); got != want {
			t.Errorf("backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
	c := &clock{now: t0}
	w.Now = c.Now
	seen := map[time.Time]bool{}
	for range 200 {
		at := w.retryAt(3)
		if at.Before(t0.Add(30*time.Second)) || at.After(t0.Add(40*time.Second)) {
			t.Fatalf("retryAt(3) = +%v, want within [30s, 40s]", at.Sub(t0))
		}
		seen[at] = true
	}
	if len(seen) < 50 {
		t.Errorf("retryAt gave %d distinct times in 200 tries: no jitter", len(seen))
	}
}

func TestMaskAddress(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com": "a***@example.com",
		"élodie@exemple.fr": "é***@exemple.fr",
		"@example.com":      "***",
		"nobody":            "***",
		"":                  "***",
	} {
		if got := MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactCapsLength(t *testing.T) {
	got := redact(strings.Repeat("é", 400), tacit.Mail{})
	if len(got) > maxReason+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("redact kept %d bytes", len(got))
	}
}

// TestWorkerRetriesBookkeeping: when recording a delivery fails a few
// times (connections that died in a database outage), the worker keeps
// trying, so the mail is marked sent at once and never goes out twice.
func TestWorkerRetriesBookkeeping(t *testing.T) {
	box := &memOutbox{failWrites: 3}
	dev := DevSender{Box: box, Now: func() time.Time { return t0 }}
	w, _ := newTestWorker(t, box, dev, nil)
	queue(t, box, tacit.MailFinishSignup)
	runOnce(t, w, 1)
	if m := box.get(1); !m.sent || m.Attempts != 1 {
		t.Fatalf("mail after flaky bookkeeping: sent=%v attempts=%d", m.sent, m.Attempts)
	}
	runOnce(t, w, 0)
	devs, _ := box.DevMails(context.Background())
	if len(devs) != 1 {
		t.Fatalf("delivered %d times, want once", len(devs))
	}
}

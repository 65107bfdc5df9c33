package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// enqueue adds mails to the outbox in one transaction, sets their IDs and
// returns them.
func enqueue(t *testing.T, s tacit.Store, mails ...tacit.Mail) []tacit.Mail {
	t.Helper()
	update(t, s, func(tx tacit.Tx) error {
		for i := range mails {
			if err := tx.EnqueueMail(context.Background(), &mails[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for i := 1; i < len(mails); i++ {
		if mails[i].ID <= mails[i-1].ID {
			t.Fatalf("mail IDs not increasing: %d then %d", mails[i-1].ID, mails[i].ID)
		}
	}
	return mails
}

// someMails returns n distinct mails.
func someMails(n int) []tacit.Mail {
	mails := make([]tacit.Mail, n)
	for i := range mails {
		mails[i] = tacit.Mail{Kind: tacit.MailFinishSignup, To: fmt.Sprintf("user%d@example.com", i),
			Data:      map[string]string{"link": fmt.Sprintf("https://auth.example.com/signup/finish?token=%d", i)},
			CreatedAt: base}
	}
	return mails
}

// claim calls ClaimMail and fails the test on error.
func claim(t *testing.T, s tacit.Store, now time.Time, lease time.Duration, limit int) []tacit.Mail {
	t.Helper()
	mails, err := s.ClaimMail(context.Background(), now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimMail: %v", err)
	}
	for i := range mails {
		mails[i] = utcMail(mails[i])
	}
	return mails
}

// withAttempts returns copies of mails as a claim returns them.
func withAttempts(attempts int, mails ...tacit.Mail) []tacit.Mail {
	out := make([]tacit.Mail, len(mails))
	for i, m := range mails {
		m.Attempts = attempts
		out[i] = utcMail(m)
	}
	return out
}

func wantNoClaim(t *testing.T, s tacit.Store, now time.Time, why string) {
	t.Helper()
	if got := claim(t, s, now, time.Minute, 100); len(got) != 0 {
		t.Fatalf("%s: claimed %+v", why, got)
	}
}

func testClaimMail(t *testing.T, s tacit.Store) {
	mails := enqueue(t, s,
		tacit.Mail{Kind: tacit.MailVerify, To: "ada@example.com",
			Data: map[string]string{"link": "https://auth.example.com/verify?token=abc", "name": "Ada"}, CreatedAt: base},
		tacit.Mail{Kind: tacit.MailNone, To: "bob@example.com", CreatedAt: base.Add(time.Second)},
		tacit.Mail{Kind: tacit.MailAlreadyRegistered, To: "carol@example.com",
			Data: map[string]string{"reset": "https://auth.example.com/reset"}, CreatedAt: base.Add(2 * time.Second)},
	)
	got := claim(t, s, base.Add(time.Minute), 5*time.Minute, 10)
	equal(t, "claimed mails", got, withAttempts(1, mails...))
	wantNoClaim(t, s, base.Add(time.Minute), "second claim while the first holds the lease")
}

func testClaimMailLimit(t *testing.T, s tacit.Store) {
	mails := enqueue(t, s, someMails(5)...)
	for _, want := range [][]tacit.Mail{mails[0:2], mails[2:4], mails[4:5]} {
		got := claim(t, s, base, time.Minute, 2)
		equal(t, "claim with limit 2", got, withAttempts(1, want...))
	}
	wantNoClaim(t, s, base, "claim after all were claimed")
}

// A worker that dies loses its claim when the lease runs out, and the next
// claim counts as another attempt.
func testClaimMailLeaseExpiry(t *testing.T, s tacit.Store) {
	mails := enqueue(t, s, someMails(1)...)
	lease := 5 * time.Minute
	equal(t, "first claim", claim(t, s, base, lease, 10), withAttempts(1, mails...))
	wantNoClaim(t, s, base.Add(lease-time.Microsecond), "claim just before the lease ends")
	equal(t, "claim when the lease ends", claim(t, s, base.Add(lease), lease, 10), withAttempts(2, mails...))
	equal(t, "claim after the second lease", claim(t, s, base.Add(3*lease), lease, 10), withAttempts(3, mails...))
}

func testMailSent(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	mails := enqueue(t, s, someMails(2)...)
	claim(t, s, base, time.Minute, 10)
	if err := s.MailSent(ctx, mails[0].ID, base.Add(time.Second)); err != nil {
		t.Fatalf("MailSent: %v", err)
	}
	// Only the unsent one comes back once the lease is over.
	got := claim(t, s, base.Add(time.Hour), time.Minute, 10)
	equal(t, "claim after MailSent", got, withAttempts(2, mails[1]))
}

func testMailFailedRetry(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	mails := enqueue(t, s, someMails(1)...)
	claim(t, s, base, time.Hour, 10)
	next := base.Add(time.Minute)
	if err := s.MailFailed(ctx, mails[0].ID, next, "421 4.7.0 try again later"); err != nil {
		t.Fatalf("MailFailed: %v", err)
	}
	wantNoClaim(t, s, next.Add(-time.Microsecond), "claim before the retry is due")
	// Due at next even though the hour-long lease has not run out: a
	// failure releases the claim.
	got := claim(t, s, next, time.Hour, 10)
	equal(t, "claim when the retry is due", got, withAttempts(2, mails...))
}

func testMailFailedGiveUp(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	mails := enqueue(t, s, someMails(2)...)
	claim(t, s, base, time.Minute, 1)
	if err := s.MailFailed(ctx, mails[0].ID, time.Time{}, "550 5.1.1 no such user"); err != nil {
		t.Fatalf("MailFailed: %v", err)
	}
	got := claim(t, s, base.Add(100*24*time.Hour), time.Minute, 10)
	equal(t, "claim after giving up on the first mail", got, withAttempts(1, mails[1]))
	if err := s.MailSent(ctx, mails[1].ID, base.Add(100*24*time.Hour)); err != nil {
		t.Fatalf("MailSent: %v", err)
	}
	wantNoClaim(t, s, base.Add(200*24*time.Hour), "claim long after giving up")
}

func testMailUnknownID(t *testing.T, s tacit.Store) {
	ctx := context.Background()
	mails := enqueue(t, s, someMails(1)...)
	missing := mails[0].ID + 1000
	wantErr(t, "MailSent(unknown)", s.MailSent(ctx, missing, base), tacit.ErrNotFound)
	wantErr(t, "MailFailed(unknown, retry)", s.MailFailed(ctx, missing, base, "x"), tacit.ErrNotFound)
	wantErr(t, "MailFailed(unknown, give up)", s.MailFailed(ctx, missing, time.Time{}, "x"), tacit.ErrNotFound)
}

// Several workers of two instances on one database, claiming at once,
// deliver every mail exactly once, each with one attempt.
func testConcurrentClaimers(t *testing.T, e engine) {
	const workers, total = 8, 1000
	ctx := context.Background()
	first, second := e.pair(t)
	var want []tacit.Mail
	for range total / 50 {
		want = append(want, enqueue(t, first, someMails(50)...)...)
	}
	var mu sync.Mutex
	delivered := map[int64]int{}
	perInstance := map[tacit.Store]int{}
	var wg sync.WaitGroup
	for i := range workers {
		s := []tacit.Store{first, second}[i%2]
		wg.Go(func() {
			for {
				mails, err := s.ClaimMail(ctx, base, time.Hour, 7)
				if err != nil {
					t.Errorf("ClaimMail: %v", err)
					return
				}
				if len(mails) == 0 {
					return // The lease outlasts the test: nothing is released.
				}
				for _, m := range mails {
					if m.Attempts != 1 {
						t.Errorf("mail %d claimed with %d attempts", m.ID, m.Attempts)
					}
					if err := s.MailSent(ctx, m.ID, base); err != nil {
						t.Errorf("MailSent: %v", err)
						return
					}
					mu.Lock()
					delivered[m.ID]++
					perInstance[s]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(delivered) != total {
		t.Fatalf("%d distinct mails delivered, want %d", len(delivered), total)
	}
	for _, m := range want {
		if n := delivered[m.ID]; n != 1 {
			t.Errorf("mail %d delivered %d times", m.ID, n)
		}
	}
	var left int
	e.row(t, first, `SELECT count(*) FROM outbox WHERE sent_at IS NULL OR attempts <> 1`, &left)
	equal(t, "outbox rows unsent or claimed more than once", left, 0)
	wantNoClaim(t, second, base.Add(2*time.Hour), "claim after all were sent")
	t.Logf("instance shares: %d and %d", perInstance[first], perInstance[second])
}

// outboxRow reads the columns of mail id that a worker never sees.
func outboxRow(t *testing.T, e engine, s tacit.Store, id int64) (data string, sent, failed *int64, lastError string) {
	t.Helper()
	e.row(t, s, fmt.Sprintf(`SELECT data, sent_at, failed_at, last_error FROM outbox WHERE id = %d`, id),
		&data, &sent, &failed, &lastError)
	return data, sent, failed, lastError
}

// Delivered and abandoned mail keeps no tokens.
func testOutboxClearsData(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.fresh(t)
	mails := enqueue(t, s,
		tacit.Mail{Kind: tacit.MailVerify, To: "a@example.com", Data: map[string]string{"link": "secret-1"}, CreatedAt: base},
		tacit.Mail{Kind: tacit.MailVerify, To: "b@example.com", Data: map[string]string{"link": "secret-2"}, CreatedAt: base},
		tacit.Mail{Kind: tacit.MailVerify, To: "c@example.com", Data: map[string]string{"link": "secret-3"}, CreatedAt: base},
	)
	if data, _, _, _ := outboxRow(t, e, s, mails[0].ID); data != `{"link":"secret-1"}` {
		t.Fatalf("queued data = %s", data)
	}
	if err := s.MailSent(ctx, mails[0].ID, base.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.MailFailed(ctx, mails[1].ID, time.Time{}, "550 no such user"); err != nil {
		t.Fatal(err)
	}
	if err := s.MailFailed(ctx, mails[2].ID, base.Add(time.Minute), "421 later"); err != nil {
		t.Fatal(err)
	}

	data, sent, failed, _ := outboxRow(t, e, s, mails[0].ID)
	if data != "{}" || sent == nil || *sent != base.Add(time.Second).UnixMicro() || failed != nil {
		t.Errorf("sent mail: data %s, sent_at %v, failed_at %v", data, sent, failed)
	}
	data, sent, failed, lastError := outboxRow(t, e, s, mails[1].ID)
	if data != "{}" || sent != nil || failed == nil || lastError != "550 no such user" {
		t.Errorf("abandoned mail: data %s, sent_at %v, failed_at %v, last_error %q", data, sent, failed, lastError)
	}
	data, sent, failed, lastError = outboxRow(t, e, s, mails[2].ID)
	if data != `{"link":"secret-3"}` || sent != nil || failed != nil || lastError != "421 later" {
		t.Errorf("retried mail: data %s, sent_at %v, failed_at %v, last_error %q", data, sent, failed, lastError)
	}
}

// outboxCount counts the outbox rows.
func outboxCount(t *testing.T, e engine, s tacit.Store) int {
	t.Helper()
	var n int
	e.row(t, s, `SELECT count(*) FROM outbox`, &n)
	return n
}

// A row that sends nothing is deleted once the worker has handled it:
// every uniform request writes one, and kept for days they would grow the
// outbox with every request anyone makes. Deleting twice is no error.
func testDeleteMail(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.fresh(t)
	mails := enqueue(t, s,
		tacit.Mail{Kind: tacit.MailNone, To: "a@example.com", CreatedAt: base},
		tacit.Mail{Kind: tacit.MailVerify, To: "b@example.com", Data: map[string]string{"link": "x"}, CreatedAt: base},
	)
	claim(t, s, base, time.Minute, 10)
	if err := s.DeleteMail(ctx, mails[0].ID); err != nil {
		t.Fatalf("DeleteMail: %v", err)
	}
	if err := s.DeleteMail(ctx, mails[0].ID); err != nil {
		t.Fatalf("DeleteMail again: %v", err)
	}
	equal(t, "rows left", outboxCount(t, e, s), 1)
	// The other mail is untouched: it comes back after its lease.
	equal(t, "claim after the lease", claim(t, s, base.Add(time.Hour), time.Minute, 10), withAttempts(2, mails[1]))
}

// TrimOutbox keeps the outbox to a cap: first it deletes rows that send
// nothing and handled mail (sent or abandoned), oldest first; only if
// pending mail alone is over the cap does it drop pending mail, oldest
// first, and never an owner's security notice nor a mail a worker holds.
func testTrimOutbox(t *testing.T, e engine) {
	ctx := context.Background()
	s := e.fresh(t)
	m := func(k tacit.MailKind, to string) tacit.Mail {
		return tacit.Mail{Kind: k, To: to, Data: map[string]string{"link": to}, CreatedAt: base}
	}
	ms := enqueue(t, s,
		m(tacit.MailResetPassword, "sent@example.com"),         // 0: sent below
		m(tacit.MailNone, "none@example.com"),                  // 1: sends nothing
		m(tacit.MailVerify, "abandoned@example.com"),           // 2: abandoned below
		m(tacit.MailPasswordChanged, "notice1@example.com"),    // 3: owner notice
		m(tacit.MailFinishSignup, "pending1@example.com"),      // 4: pending, outsider-triggerable
		m(tacit.MailAccountLocked, "notice2@example.com"),      // 5: owner notice
		m(tacit.MailAlreadyRegistered, "pending2@example.com"), // 6: pending
		m(tacit.MailResetPassword, "claimed@example.com"),      // 7: claimed below
		m(tacit.MailVerify, "pending3@example.com"),            // 8: pending
	)
	if err := s.MailSent(ctx, ms[0].ID, base); err != nil {
		t.Fatal(err)
	}
	if err := s.MailFailed(ctx, ms[2].ID, time.Time{}, "550"); err != nil {
		t.Fatal(err)
	}
	// Claim the pending mail up to 7 for a long lease, then hand back all
	// but 7 (a failure with a retry due at once releases the claim).
	claim(t, s, base, 24*time.Hour, 6)
	for _, i := range []int{1, 3, 4, 5, 6} {
		if err := s.MailFailed(ctx, ms[i].ID, base, "421"); err != nil {
			t.Fatal(err)
		}
	}
	ids := func() []int64 {
		t.Helper()
		var out []int64
		for i, x := range ms {
			var n int
			e.row(t, s, fmt.Sprintf(`SELECT count(*) FROM outbox WHERE id = %d`, x.ID), &n)
			if n == 1 {
				out = append(out, int64(i))
			}
		}
		return out
	}
	trim := func(max int) tacit.OutboxTrim {
		t.Helper()
		r, err := s.TrimOutbox(ctx, base.Add(time.Minute), max)
		if err != nil {
			t.Fatalf("TrimOutbox(%d): %v", max, err)
		}
		return r
	}
	equal(t, "trim under the cap", trim(9), tacit.OutboxTrim{Left: 9})
	equal(t, "rows after trimming under the cap", ids(), []int64{0, 1, 2, 3, 4, 5, 6, 7, 8})
	// Two over: the oldest handled or empty rows go.
	equal(t, "trim to 7", trim(7), tacit.OutboxTrim{Left: 7})
	equal(t, "rows after trim to 7", ids(), []int64{2, 3, 4, 5, 6, 7, 8})
	// Then the last handled row, then the oldest pending mail an outsider
	// can cause; notices and the claimed mail stay.
	equal(t, "trim to 5", trim(5), tacit.OutboxTrim{Left: 5, Dropped: 1})
	equal(t, "rows after trim to 5", ids(), []int64{3, 5, 6, 7, 8})
	equal(t, "trim to 0", trim(0), tacit.OutboxTrim{Left: 3, Dropped: 2})
	equal(t, "rows after trim to 0", ids(), []int64{3, 5, 7})
}

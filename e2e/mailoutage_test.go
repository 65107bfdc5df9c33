package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tacitauth/tacit/mail"
)

// TestMailServerDown stops the SMTP server for three seconds while
// sign-ups and email changes queue mail, then starts it again: every mail
// goes out once, in the order queued for each address; the worker waits
// out its backoff rather than trying the closed door once per queued mail.
func TestMailServerDown(t *testing.T) {
	const accounts, changes, outage = 4, 4, 3 * time.Second
	sink := startSMTPSink(t)
	s := newProc(t, crashEnv(sink, "TACIT_DATA_DIR="+t.TempDir())...)
	logProcOnFailure(t, s)
	b := newCrashBurst(t, sink, s.URL) // one account per burst client; this test uses the first few
	before := len(sink.Mails())

	sink.down()
	downAt := time.Now()
	c := &http.Client{Timeout: 10 * time.Second}
	for j := range changes {
		for i := range accounts {
			a := b.accounts[i]
			if code := post(a.client, s.URL+"/api/email/change", map[string]string{
				"email": fmt.Sprintf("moved-%d-%d@example.com", i, j), "password": a.password}); code != http.StatusAccepted {
				t.Fatalf("email change: %d, want 202", code)
			}
		}
		if code := post(c, s.URL+"/api/register", map[string]string{"email": fmt.Sprintf("later-%d@example.com", j)}); code != http.StatusAccepted {
			t.Fatalf("sign-up: %d, want 202", code)
		}
	}
	queued := time.Since(downAt)
	time.Sleep(outage - queued)
	sink.up()
	upAt := time.Now()
	_, refused := sink.Conns()

	want := accounts*changes*2 + changes // a link to the new address and a notice to the old, per change; a sign-up link each
	waitFor(t, mail.DefaultBackoffMin+20*time.Second, "every queued mail delivered", func() bool {
		return len(sink.Mails())-before >= want
	})
	time.Sleep(time.Second) // a duplicate would show by now
	mails := sink.Mails()[before:]
	conns, _ := sink.Conns()
	var after int
	for _, at := range conns {
		if at.After(upAt) {
			after++
		}
	}
	t.Logf("%d mails queued in %v while the server was down for %v; %d connections tried while down; first mail %v after the server went down (%v after it came back); %d connections after, for %d mails",
		want, queued.Round(time.Millisecond), outage, refused, mails[0].At.Sub(downAt).Round(time.Millisecond), mails[0].At.Sub(upAt).Round(time.Millisecond), after, len(mails))

	if len(mails) != want {
		t.Errorf("%d mails delivered, want %d, each once", len(mails), want)
	}
	tokens := map[string]int{}
	notices := map[string][]string{} // old address → new addresses named, in the order delivered
	for _, m := range mails {
		if m.Token != "" {
			tokens[m.Token]++
			continue
		}
		for f := range strings.FieldsSeq(m.Text) {
			if strings.HasPrefix(f, "moved-") {
				notices[m.To] = append(notices[m.To], strings.TrimRight(f, "."))
			}
		}
	}
	for tok, n := range tokens {
		if n != 1 {
			t.Errorf("link %s… delivered %d times, want once", tok[:8], n)
		}
	}
	for i := range accounts {
		var wantOrder []string
		for j := range changes {
			wantOrder = append(wantOrder, fmt.Sprintf("moved-%d-%d@example.com", i, j))
		}
		if got := notices[b.accounts[i].email]; !slices.Equal(got, wantOrder) {
			t.Errorf("%s was told of changes to %v, want %v: each once, in the order asked", b.accounts[i].email, got, wantOrder)
		}
	}

	// Not hammering: one try finds the server down and pauses delivery
	// for at least three quarters of the backoff, longer than the outage;
	// then one connection per mail.
	if refused < 1 || refused > 2 {
		t.Errorf("%d connections tried while the server was down, want 1 (2 at most)", refused)
	}
	if wait := mails[0].At.Sub(downAt); wait < mail.DefaultBackoffMin*3/4-time.Second {
		t.Errorf("first mail after the outage went %v after it began, want the worker's backoff of at least %v", wait, mail.DefaultBackoffMin*3/4)
	}
	if after > len(mails)+1 {
		t.Errorf("%d connections for %d mails after the server came back, want one each", after, len(mails))
	}
	for _, line := range []string{"mail server unavailable: delivery paused", "mail server available again"} {
		if !strings.Contains(s.log.String(), line) {
			t.Errorf("log lacks %q", line)
		}
	}
}

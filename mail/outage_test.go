package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/tacitauth/tacit"
)

// TestWorkerPausesForUnavailableServer queues mail to two addresses while
// the server is unavailable: the worker tries one mail, pauses, tries one
// again after a doubled pause, and once the server is back sends every
// mail once, in the order queued.
func TestWorkerPausesForUnavailableServer(t *testing.T) {
	box := &memOutbox{}
	down := fmt.Errorf("smtp: %w: dial failed: connection refused", ErrUnavailable)
	s := &flakySender{fails: 2, err: down}
	var logs bytes.Buffer
	w, c := newTestWorker(t, box, s, slog.New(slog.NewTextHandler(&logs, nil)))
	for i := range 6 {
		m := testMail(t, tacit.MailAlreadyRegistered)
		m.To = []string{"alice@example.com", "bob@example.com"}[i%2]
		m.CreatedAt = t0
		box.enqueue(m)
	}

	runOnce(t, w, 6) // the first fails; the other five are not tried
	if calls, _ := s.count(); calls != 1 {
		t.Fatalf("sender called %d times for a batch against an unavailable server, want 1", calls)
	}
	first := box.get(1).due
	assertDue(t, box.get(1), t0, DefaultBackoffMin)
	for id := int64(2); id <= 6; id++ {
		if m := box.get(id); !m.due.Equal(first) || m.sent || m.abandoned {
			t.Errorf("mail %d: due %v sent=%v abandoned=%v; want due with mail 1 at %v", id, m.due, m.sent, m.abandoned, first)
		}
	}

	w.Kick()
	runOnce(t, w, 0) // paused: nothing claimed, however often woken
	c.Advance(first.Sub(c.Now()))
	runOnce(t, w, 1) // one mail to see whether the server is back: it is not
	if calls, _ := s.count(); calls != 2 {
		t.Fatalf("sender called %d times, want 2", calls)
	}
	assertDue(t, box.get(1), c.Now(), 2*DefaultBackoffMin)

	c.Advance(2 * DefaultBackoffMin)
	runOnce(t, w, 1) // the server is back
	runOnce(t, w, 5)
	runOnce(t, w, 0)
	calls, sent := s.count()
	if calls != 8 || sent != 6 {
		t.Errorf("sender: %d calls, %d sent; want 8, 6", calls, sent)
	}
	var order []string
	for _, m := range s.msgs {
		order = append(order, m.To)
	}
	want := "alice@example.com bob@example.com alice@example.com bob@example.com alice@example.com bob@example.com"
	if strings.Join(order, " ") != want {
		t.Errorf("sent to %v, want the order queued", order)
	}
	for id := int64(1); id <= 6; id++ {
		if m := box.get(id); !m.sent {
			t.Errorf("mail %d not sent", id)
		}
	}
	for _, line := range []string{"mail server unavailable: delivery paused", "mail server available again"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, logs.String())
		}
	}
}

// TestWorkerRefusalIsPerMail checks that a server refusing one message
// (not ErrUnavailable) pauses nothing: the rest of the batch goes out.
func TestWorkerRefusalIsPerMail(t *testing.T) {
	box := &memOutbox{}
	s := &flakySender{fails: 1, err: errors.New("550 no such user")}
	w, _ := newTestWorker(t, box, s, nil)
	for range 3 {
		queue(t, box, tacit.MailAlreadyRegistered)
	}
	runOnce(t, w, 3)
	if calls, sent := s.count(); calls != 3 || sent != 2 {
		t.Errorf("sender: %d calls, %d sent; want 3, 2", calls, sent)
	}
}

// TestWorkerDropsExpiredLink checks that a reset mail whose link expired
// while it waited in the outbox is dropped and logged, not sent, and that
// one still live is sent.
func TestWorkerDropsExpiredLink(t *testing.T) {
	box := &memOutbox{}
	s := &flakySender{}
	var logs bytes.Buffer
	w, c := newTestWorker(t, box, s, slog.New(slog.NewTextHandler(&logs, nil)))
	reset := func(created time.Time) int64 {
		m := testMail(t, tacit.MailResetPassword)
		m.Data["expires"] = "30 minutes"
		m.CreatedAt = created
		return box.enqueue(m)
	}
	dead := reset(t0)
	live := reset(t0.Add(2 * time.Minute))
	c.Advance(31 * time.Minute)

	runOnce(t, w, 2)
	if _, sent := s.count(); sent != 1 {
		t.Fatalf("%d mails sent, want 1", sent)
	}
	if m := box.get(dead); m.sent || !m.abandoned || len(m.reasons) != 1 || !strings.Contains(m.reasons[0], "link expired") {
		t.Errorf("expired mail: sent=%v abandoned=%v reasons=%q; want dropped, the reason given", m.sent, m.abandoned, m.reasons)
	}
	if m := box.get(live); !m.sent {
		t.Errorf("live mail not sent")
	}
	if !strings.Contains(logs.String(), "mail dropped: its link expired before it could be delivered") {
		t.Errorf("log lacks the drop:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), testToken) {
		t.Errorf("log shows the token:\n%s", logs.String())
	}
}

// TestParseExpires pins the "expires" values the flows write.
func TestParseExpires(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1 minute": time.Minute, "30 minutes": 30 * time.Minute, "1 hour": time.Hour,
		"24 hours": 24 * time.Hour, "3 days": 72 * time.Hour,
	} {
		if got, ok := parseExpires(in); !ok || got != want {
			t.Errorf("parseExpires(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "soon", "0 minutes", "-1 hours", "2 weeks", "1h"} {
		if _, ok := parseExpires(in); ok {
			t.Errorf("parseExpires(%q) ok, want not", in)
		}
	}
}

// TestSMTPUnavailable checks which failures the SMTP sender reports as
// the server being unavailable: a closed port and a server that closes
// the connection are; a refused message is not.
func TestSMTPUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?starttls=none", closed))
	if err := s.Send(context.Background(), renderedSignup(t)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("closed port: err = %v, want ErrUnavailable", err)
	}

	hangUp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hangUp.Close()
	go func() {
		for {
			c, err := hangUp.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	s = newSender(t, fmt.Sprintf("smtp://%s?starttls=none", hangUp.Addr()))
	if err := s.Send(context.Background(), renderedSignup(t)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("server hanging up: err = %v, want ErrUnavailable", err)
	}

	be := &smtpBackend{dataErr: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message rejected"}}
	port := startSMTP(t, be, serverOpts{})
	s = newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?starttls=none", port))
	if err := s.Send(context.Background(), renderedSignup(t)); err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("refused message: err = %v, want an error that is not ErrUnavailable", err)
	}
}

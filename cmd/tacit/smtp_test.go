package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// smtpInbox is an in-process SMTP server's backend that keeps every
// message it accepts.
type smtpInbox struct {
	mu   sync.Mutex
	msgs []smtpMessage
}

type smtpMessage struct {
	from string
	to   []string
	data string
}

func (b *smtpInbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{box: b}, nil }

func (b *smtpInbox) messages() []smtpMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]smtpMessage(nil), b.msgs...)
}

type smtpSession struct {
	box *smtpInbox
	cur smtpMessage
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *smtpSession) Reset()        { s.cur = smtpMessage{} }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(data)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.cur)
	s.box.mu.Unlock()
	return nil
}

// startSMTP runs an SMTP server on a free loopback port and returns its
// address.
func startSMTP(t *testing.T, box *smtpInbox) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestServeSMTP runs the server with the SMTP mail driver and full-form
// sign-up: the mail reaches the SMTP server, and the dev mailbox does not
// exist.
func TestServeSMTP(t *testing.T) {
	box := &smtpInbox{}
	smtpAddr := startSMTP(t, box)
	addr := freeAddr(t)
	var stderr lockedBuffer
	stop := startServe(t, addr, fastEnv(t.TempDir(),
		"TACIT_MAIL", "smtp",
		"TACIT_SMTP_URL", "smtp://"+smtpAddr+"?starttls=none",
		"TACIT_MAIL_FROM", "Acme <auth@example.com>",
		"TACIT_REGISTRATION_MODE", "full_form",
	), &stderr)
	base := "http://" + addr

	body := `{"email":"new@example.com","password":"a long pass phrase","password_confirm":"a long pass phrase"}`
	resp, err := http.Post(base+"/api/register", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/register: status %d, want 202", resp.StatusCode)
	}

	deadline := time.Now().Add(5 * time.Second)
	for len(box.messages()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no mail reached the SMTP server after 5s\nstderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	m := box.messages()[0]
	if m.from != "auth@example.com" || len(m.to) != 1 || m.to[0] != "new@example.com" {
		t.Errorf("envelope from %q to %q, want auth@example.com to [new@example.com]", m.from, m.to)
	}
	if !strings.Contains(m.data, base+"/verify?token=") {
		t.Errorf("message lacks a verify link under %s:\n%s", base, m.data)
	}

	resp, err = http.Get(base + "/_dev/mailbox")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /_dev/mailbox with SMTP mail: status %d, want 404", resp.StatusCode)
	}

	if err := stop(); err != nil {
		t.Fatalf("serve returned %v after cancellation, want nil", err)
	}
	log := stderr.String()
	if !strings.Contains(log, "(base URL "+base+", mail smtp, registration full_form, database sqlite ") {
		t.Errorf("listening line wrong:\n%s", log)
	}
	if strings.Contains(log, "mail is captured") {
		t.Errorf("dev mail warning printed with the SMTP driver:\n%s", log)
	}
}

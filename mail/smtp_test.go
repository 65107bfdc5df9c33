package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"

	"github.com/tacitauth/tacit"
)

// received is one message accepted by the test SMTP server.
type received struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
	pass string
}

// smtpBackend is a go-smtp backend that records what it accepts. With
// user set it requires AUTH PLAIN with user and pass; dataErr, if set,
// refuses every message at DATA.
type smtpBackend struct {
	user, pass string
	dataErr    error

	mu   sync.Mutex
	msgs []received
}

func (b *smtpBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{b: b, c: c}, nil
}

func (b *smtpBackend) received() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type smtpSession struct {
	b   *smtpBackend
	c   *smtp.Conn
	cur received
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return smtp.ErrAuthFailed
		}
		s.cur.user, s.cur.pass = user, pass
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.user != "" && s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.dataErr != nil {
		return s.b.dataErr
	}
	msg := s.cur
	msg.data = data
	_, msg.tls = s.c.TLSConnectionState()
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, msg)
	s.b.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.cur.from, s.cur.to = "", nil }
func (s *smtpSession) Logout() error { return nil }

// serverOpts shape a test SMTP server.
type serverOpts struct {
	tls      *tls.Config // offered with STARTTLS, or from the start if implicit
	implicit bool
}

// startSMTP runs a go-smtp server on a free loopback port and returns its
// port.
func startSMTP(t *testing.T, be *smtpBackend, o serverOpts) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // loopback without TLS in most tests
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	logger := &testLogger{t: t}
	srv.ErrorLog = logger
	if o.implicit {
		l = tls.NewListener(l, o.tls)
	} else {
		srv.TLSConfig = o.tls
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Close()
		logger.stop()
	})
	return l.Addr().(*net.TCPAddr).Port
}

// testLogger sends the SMTP server's errors to the test log until stop.
// Server.Close does not wait for its connection goroutines, so one may
// still log after the test has ended, when using t is a data race.
type testLogger struct {
	t       *testing.T
	mu      sync.Mutex
	stopped bool
}

func (l *testLogger) Printf(format string, v ...any) {
	l.log(func() { l.t.Logf("smtp server: "+format, v...) })
}

func (l *testLogger) Println(v ...any) {
	l.log(func() { l.t.Log(append([]any{"smtp server:"}, v...)...) })
}

func (l *testLogger) log(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		f()
	}
}

func (l *testLogger) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}

// selfSigned makes a certificate for 127.0.0.1 that no one trusts.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func newSender(t *testing.T, rawURL string) *SMTPSender {
	t.Helper()
	s, err := NewSMTPSender(rawURL, "Acme Health <no-reply@acme.example>")
	if err != nil {
		t.Fatal(err)
	}
	s.Timeout = 5 * time.Second
	return s
}

func renderedSignup(t *testing.T) Message {
	t.Helper()
	m := testMail(t, tacit.MailFinishSignup)
	m.To = "new.user@example.com"
	msg, err := testRenderer(t).Render(m)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// parsed is a received message taken apart.
type parsed struct {
	header netmail.Header
	parts  map[string]string // content type → decoded body
}

func parseMessage(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %s, want multipart/alternative", mt)
	}
	p := parsed{header: msg.Header, parts: map[string]string{}}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable itself
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		p.parts[ct] = strings.ReplaceAll(string(body), "\r\n", "\n")
	}
	return p
}

func TestSMTPSendEndToEnd(t *testing.T) {
	be := &smtpBackend{}
	port := startSMTP(t, be, serverOpts{})
	s := newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?starttls=none", port))
	msg := renderedSignup(t)

	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}

	got := be.received()
	if len(got) != 1 {
		t.Fatalf("server got %d messages, want 1", len(got))
	}
	if got[0].from != "no-reply@acme.example" {
		t.Errorf("MAIL FROM = %q", got[0].from)
	}
	if len(got[0].to) != 1 || got[0].to[0] != "new.user@example.com" {
		t.Errorf("RCPT TO = %q", got[0].to)
	}
	p := parseMessage(t, got[0].data)
	subject, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	link := "https://auth.example.com/app/register/complete?token=" + testToken
	checks := []struct{ name, got, want string }{
		{"Subject", subject, "Finish signing up for Acme Health"},
		{"To", p.header.Get("To"), "<new.user@example.com>"},
		{"From", p.header.Get("From"), `"Acme Health" <no-reply@acme.example>`},
		{"Auto-Submitted", p.header.Get("Auto-Submitted"), "auto-generated"},
		{"User-Agent", p.header.Get("User-Agent"), ""},
		{"text part", p.parts["text/plain"], msg.Text},
		{"html part", p.parts["text/html"], msg.HTML},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(p.parts["text/plain"], link) || !strings.Contains(p.parts["text/html"], link) {
		t.Error("a part lacks the link")
	}
	if id := p.header.Get("Message-Id"); !strings.HasSuffix(id, "@acme.example>") {
		t.Errorf("Message-ID = %q, want one at the sender's domain", id)
	}
	if len(p.parts) != 2 {
		t.Errorf("got parts %v, want text/plain and text/html", p.parts)
	}
}

func TestSMTPAuth(t *testing.T) {
	be := &smtpBackend{user: "mailer", pass: "p@ss word"}
	port := startSMTP(t, be, serverOpts{})

	s := newSender(t, fmt.Sprintf("smtp://mailer:p%%40ss%%20word@127.0.0.1:%d?starttls=none", port))
	if err := s.Send(context.Background(), renderedSignup(t)); err != nil {
		t.Fatal(err)
	}
	got := be.received()
	if len(got) != 1 || got[0].user != "mailer" || got[0].pass != "p@ss word" {
		t.Fatalf("server got %+v, want one message after AUTH as mailer", got)
	}

	bad := newSender(t, fmt.Sprintf("smtp://mailer:wrong@127.0.0.1:%d?starttls=none", port))
	err := bad.Send(context.Background(), renderedSignup(t))
	if err == nil || !strings.Contains(err.Error(), "535") {
		t.Fatalf("err = %v, want an authentication failure (535)", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestSMTPStartTLSOpportunistic(t *testing.T) {
	be := &smtpBackend{}
	port := startSMTP(t, be, serverOpts{tls: selfSigned(t)})
	s := newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?insecure_skip_verify=1", port))
	if err := s.Send(context.Background(), renderedSignup(t)); err != nil {
		t.Fatal(err)
	}
	got := be.received()
	if len(got) != 1 || !got[0].tls {
		t.Fatalf("server got %+v, want one message over STARTTLS", got)
	}
}

func TestSMTPStartTLSVerifiesCertificate(t *testing.T) {
	port := startSMTP(t, &smtpBackend{}, serverOpts{tls: selfSigned(t)})
	s := newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?starttls=required", port))
	err := s.Send(context.Background(), renderedSignup(t))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
}

func TestSMTPStartTLSRequiredButMissing(t *testing.T) {
	be := &smtpBackend{}
	port := startSMTP(t, be, serverOpts{})
	s := newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?starttls=required", port))
	err := s.Send(context.Background(), renderedSignup(t))
	if err == nil || !strings.Contains(err.Error(), "does not support STARTTLS") {
		t.Fatalf("err = %v, want STARTTLS refusal", err)
	}
	if n := len(be.received()); n != 0 {
		t.Errorf("server got %d messages in the clear", n)
	}
}

func TestSMTPSImplicitTLS(t *testing.T) {
	be := &smtpBackend{user: "mailer", pass: "secret"}
	port := startSMTP(t, be, serverOpts{tls: selfSigned(t), implicit: true})

	s := newSender(t, fmt.Sprintf("smtps://mailer:secret@127.0.0.1:%d?insecure_skip_verify=1", port))
	if err := s.Send(context.Background(), renderedSignup(t)); err != nil {
		t.Fatal(err)
	}
	got := be.received()
	if len(got) != 1 || !got[0].tls || got[0].user != "mailer" {
		t.Fatalf("server got %+v, want one authenticated message over TLS", got)
	}

	strict := newSender(t, fmt.Sprintf("smtps://mailer:secret@127.0.0.1:%d", port))
	err := strict.Send(context.Background(), renderedSignup(t))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
}

func TestSMTPServerRefusesData(t *testing.T) {
	be := &smtpBackend{dataErr: &smtp.SMTPError{
		Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message rejected",
	}}
	port := startSMTP(t, be, serverOpts{})
	s := newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?starttls=none", port))
	err := s.Send(context.Background(), renderedSignup(t))
	if err == nil || !strings.Contains(err.Error(), "554") || !strings.Contains(err.Error(), "Message rejected") {
		t.Fatalf("err = %v, want the server's 554", err)
	}
}

// rawListener accepts TCP connections on a free loopback port and hands
// each to handle; it stands in for broken servers.
func rawListener(t *testing.T, handle func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { handle(c) })
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

func TestSMTPServerClosesConnection(t *testing.T) {
	port := rawListener(t, func(c net.Conn) { c.Close() })
	s := newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?starttls=none", port))
	if err := s.Send(context.Background(), renderedSignup(t)); err == nil {
		t.Fatal("Send succeeded against a server that hangs up")
	}
}

func TestSMTPServerHangsUpAfterGreeting(t *testing.T) {
	port := rawListener(t, func(c net.Conn) {
		io.WriteString(c, "220 localhost ESMTP\r\n")
		buf := make([]byte, 512)
		c.Read(buf) // EHLO
		c.Close()
	})
	s := newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?starttls=none", port))
	if err := s.Send(context.Background(), renderedSignup(t)); err == nil {
		t.Fatal("Send succeeded against a server that hangs up")
	}
}

// hangingServer accepts connections and never says a word, until the test
// ends.
func hangingServer(t *testing.T) int {
	done := make(chan struct{})
	port := rawListener(t, func(c net.Conn) {
		<-done
		c.Close()
	})
	t.Cleanup(func() { close(done) }) // runs before the listener's cleanup
	return port
}

func TestSMTPTimeout(t *testing.T) {
	port := hangingServer(t)
	s := newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?starttls=none", port))
	s.Timeout = 300 * time.Millisecond

	start := time.Now()
	err := s.Send(context.Background(), renderedSignup(t))
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Send succeeded against a silent server")
	}
	if elapsed < 300*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("Send gave up after %v, want about the 300ms timeout", elapsed)
	}
}

func TestSMTPSendHonoursContext(t *testing.T) {
	port := hangingServer(t)
	s := newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?starttls=none", port))
	s.Timeout = time.Minute

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, renderedSignup(t))
	if err == nil {
		t.Fatal("Send succeeded against a silent server")
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Send took %v after its context ended", elapsed)
	}
}

func TestNewSMTPSender(t *testing.T) {
	tests := []struct {
		url        string
		port       int
		implicit   bool
		policy     gomail.TLSPolicy
		skipVerify bool
		user, pass string
		display    string
	}{
		{"smtp://mail.example.com", 587, false, gomail.TLSOpportunistic, false, "", "", "smtp://mail.example.com"},
		{"smtp://mail.example.com:25?starttls=required", 25, false, gomail.TLSMandatory, false, "", "", "smtp://mail.example.com:25?starttls=required"},
		{"smtp://mail.example.com?starttls=none", 587, false, gomail.NoTLS, false, "", "", "smtp://mail.example.com?starttls=none"},
		{"smtp://u%40x:s3cr%2Ft@mail.example.com/?starttls=opportunistic", 587, false, gomail.TLSOpportunistic, false, "u@x", "s3cr/t", "smtp://u%40x:xxxxx@mail.example.com/?starttls=opportunistic"},
		{"smtps://apikey:hunter2@mail.example.com", 465, true, gomail.TLSOpportunistic, false, "apikey", "hunter2", "smtps://apikey:xxxxx@mail.example.com"},
		{"smtps://[::1]:2465?insecure_skip_verify=1", 2465, true, gomail.TLSOpportunistic, true, "", "", "smtps://[::1]:2465?insecure_skip_verify=1"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			s, err := NewSMTPSender(tt.url, "no-reply@acme.example")
			if err != nil {
				t.Fatal(err)
			}
			if s.port != tt.port || s.implicit != tt.implicit || s.policy != tt.policy ||
				s.skipVerify != tt.skipVerify || s.user != tt.user || s.pass != tt.pass ||
				s.hasUser != (tt.user != "") || s.Timeout != DefaultSMTPTimeout {
				t.Errorf("got %+v", s)
			}
			if s.String() != tt.display {
				t.Errorf("String() = %q, want %q", s.String(), tt.display)
			}
			if tt.pass != "" && strings.Contains(s.String(), tt.pass) {
				t.Errorf("String() shows the password: %s", s)
			}
		})
	}
}

func TestNewSMTPSenderErrors(t *testing.T) {
	tests := []struct {
		url, from, want string
	}{
		{"", "a@b.example", "scheme must be smtp or smtps"},
		{"mail.example.com:587", "a@b.example", "scheme must be smtp or smtps"},
		{"http://mail.example.com", "a@b.example", "scheme must be smtp or smtps"},
		{"smtp://", "a@b.example", "no host"},
		{"smtp:mail.example.com", "a@b.example", "no host"},
		{"smtp://u:hunter2@mail.example.com:x", "a@b.example", `SMTP URL is not valid: invalid port ":x" after host`},
		{"smtp://u:hunter2@mail.example.com:0", "a@b.example", `port "0" is not in 1-65535`},
		{"smtp://mail.example.com:70000", "a@b.example", `port "70000" is not in 1-65535`},
		{"smtp://mail.example.com/relay", "a@b.example", `unexpected path "/relay"`},
		{"smtp://mail.example.com?starttls=yes", "a@b.example", `starttls="yes", want opportunistic, required or none`},
		{"smtp://mail.example.com?startls=required", "a@b.example", `unknown option "startls"`},
		{"smtps://mail.example.com?starttls=required", "a@b.example", "starttls does not apply to smtps"},
		{"smtp://mail.example.com?insecure_skip_verify=please", "a@b.example", `insecure_skip_verify="please"`},
		{"smtp://u:hunter2@bad host", "a@b.example", "SMTP URL is not valid"},
		{"smtp://mail.example.com", "", `mail from address "" is not valid`},
		{"smtp://mail.example.com", "not an address", `mail from address "not an address" is not valid`},
		{"smtp://mail.example.com", "a@b.example, c@d.example", `mail from address "a@b.example, c@d.example" is not valid`},
	}
	for _, tt := range tests {
		t.Run(tt.url+" "+tt.from, func(t *testing.T) {
			s, err := NewSMTPSender(tt.url, tt.from)
			if err == nil {
				t.Fatalf("no error; got %v", s)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %q", err)
			}
		})
	}
}

func TestWorkerDeliversOverSMTP(t *testing.T) {
	be := &smtpBackend{}
	port := startSMTP(t, be, serverOpts{})
	box := &memOutbox{}
	w, _ := newTestWorker(t, box, newSender(t, fmt.Sprintf("smtp://127.0.0.1:%d?starttls=none", port)), nil)
	id := queue(t, box, tacit.MailAlreadyRegistered)

	runOnce(t, w, 1)

	if m := box.get(id); !m.sent {
		t.Fatalf("mail not marked sent: %q", m.reasons)
	}
	got := be.received()
	if len(got) != 1 || len(got[0].to) != 1 || got[0].to[0] != "alice@example.com" {
		t.Fatalf("server got %+v", got)
	}
	p := parseMessage(t, got[0].data)
	if !strings.Contains(p.parts["text/plain"], "https://auth.example.com/app/login") {
		t.Errorf("text part lacks the sign-in link:\n%s", p.parts["text/plain"])
	}
}

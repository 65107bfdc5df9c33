package e2e

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// sinkMail is one message an smtpSink accepted.
type sinkMail struct {
	To      string
	Subject string
	Text    string // the text/plain part, decoded
	Path    string // path of the first link with a token, e.g. /password/reset
	Token   string // that link's token
	At      time.Time
}

// smtpSink is an in-process SMTP server (go-smtp) that keeps every
// message it accepts, counts the connections made to it, and can be
// stopped and started again on the same address to play a mail server
// that is down.
type smtpSink struct {
	t    testing.TB
	Addr string

	mu      sync.Mutex
	srv     *smtp.Server
	mails   []sinkMail
	conns   []time.Time // every connection accepted while up
	refused int         // connections tried while down (see down)
	downLn  net.Listener
	latest  map[string]sinkMail // by To and Path: see Latest
}

// startSMTPSink runs a sink on a free loopback port until the test ends.
func startSMTPSink(t testing.TB) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{t: t, Addr: ln.Addr().String()}
	s.serve(ln)
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.srv != nil {
			s.srv.Close()
		}
		if s.downLn != nil {
			s.downLn.Close()
		}
	})
	return s
}

// URL is the sink as TACIT_SMTP_URL.
func (s *smtpSink) URL() string { return "smtp://" + s.Addr + "?starttls=none" }

func (s *smtpSink) serve(ln net.Listener) {
	srv := smtp.NewServer(smtpBackend{s})
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv = srv
	go srv.Serve(countingListener{ln, s})
}

// down stops the server. Until up, the address accepts connections and
// closes them at once, counting each: a mail server whose port answers
// but which serves nothing, as when it restarts. (Leaving the port
// closed would let another process take it.)
func (s *smtpSink) down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.srv.Close()
	s.srv = nil
	var ln net.Listener
	var err error
	for range 50 { // the closed listener may take a moment to free the port
		if ln, err = net.Listen("tcp", s.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Errorf("smtp sink: listen again on %s: %v", s.Addr, err)
		return
	}
	s.downLn = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			s.mu.Lock()
			s.refused++
			s.mu.Unlock()
		}
	}()
}

// up serves again after down.
func (s *smtpSink) up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.downLn.Close()
	s.downLn = nil
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", s.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Errorf("smtp sink: listen again on %s: %v", s.Addr, err)
		return
	}
	s.serve(ln)
}

// Mails returns the messages accepted so far, in the order accepted.
func (s *smtpSink) Mails() []sinkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkMail(nil), s.mails...)
}

// Latest returns the newest message to to with a link to path, without
// copying every message: a long test looks up thousands.
func (s *smtpSink) Latest(to, path string) (sinkMail, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.latest[to+" "+path]
	return m, ok
}

// Conns returns when each connection to the running server was accepted,
// and how many were tried while it was down.
func (s *smtpSink) Conns() ([]time.Time, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.conns...), s.refused
}

type countingListener struct {
	net.Listener
	s *smtpSink
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns = append(l.s.conns, time.Now())
		l.s.mu.Unlock()
	}
	return c, err
}

type smtpBackend struct{ s *smtpSink }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &sinkSession{s: b.s}, nil
}

type sinkSession struct {
	s  *smtpSink
	to []string
}

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}
func (ss *sinkSession) Reset()        { ss.to = nil }
func (ss *sinkSession) Logout() error { return nil }

func (ss *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parseSinkMail(raw)
	if err != nil {
		ss.s.t.Errorf("smtp sink: %v", err)
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	for _, to := range ss.to {
		m.To = to
		ss.s.mails = append(ss.s.mails, m)
		if ss.s.latest == nil {
			ss.s.latest = map[string]sinkMail{}
		}
		ss.s.latest[to+" "+m.Path] = m
	}
	return nil
}

// parseSinkMail reads the subject, the text part and its first token
// link from a multipart/alternative message.
func parseSinkMail(raw []byte) (sinkMail, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return sinkMail{}, err
	}
	m := sinkMail{At: time.Now()}
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return sinkMail{}, err
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return sinkMail{}, err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return sinkMail{}, err
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, err := io.ReadAll(p)
			if err != nil {
				return sinkMail{}, err
			}
			m.Text = string(b)
		}
	}
	for _, f := range strings.Fields(m.Text) {
		if u, err := url.Parse(f); err == nil && u.Query().Get("token") != "" {
			m.Path, m.Token = u.Path, u.Query().Get("token")
			break
		}
	}
	return m, nil
}

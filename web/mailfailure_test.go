package web

import (
	"context"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	netmail "net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tacitauth/tacit/internal/accountstate"
	"github.com/tacitauth/tacit/mail"
)

// smtpMode is how the test SMTP server treats a delivery.
type smtpMode int32

const (
	accepting smtpMode = iota
	refusing           // every message is refused at DATA with a 451
	silent             // connections are accepted and never answered
)

// switchSMTP is an in-process SMTP server whose behaviour a test can
// switch while tacit is delivering to it.
type switchSMTP struct {
	addr string
	mode atomic.Int32

	mu       sync.Mutex
	received []delivered
	refused  []delivered // every refused attempt
	held     []net.Conn  // silent connections
}

// delivered is one accepted message: its recipient and decoded subject.
type delivered struct{ To, Subject string }

func startSwitchSMTP(t *testing.T) *switchSMTP {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &switchSMTP{addr: l.Addr().String()}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &switchSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0) // clients that time out are expected here
	go srv.Serve(holdingListener{Listener: l, s: s})
	t.Cleanup(func() {
		srv.Close()
		s.release()
	})
	return s
}

func (s *switchSMTP) set(m smtpMode) { s.mode.Store(int32(m)) }

// release closes the connections held in silent mode, as a server that
// finally gives up would.
func (s *switchSMTP) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.held {
		c.Close()
	}
	s.held = nil
}

func (s *switchSMTP) heldCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

func (s *switchSMTP) messages() []delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// refusedAll reports whether every mail in want has been refused at least
// once (as a multiset: two like mails need two refusals).
func (s *switchSMTP) refusedAll(want []delivered) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	count := map[delivered]int{}
	for _, d := range s.refused {
		count[d]++
	}
	for _, d := range want {
		if count[d] == 0 {
			return false
		}
		count[d]--
	}
	return true
}

// holdingListener hands connections to the SMTP server, except in silent
// mode, where it keeps them open and says nothing: not even the greeting.
type holdingListener struct {
	net.Listener
	s *switchSMTP
}

func (l holdingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || smtpMode(l.s.mode.Load()) != silent {
			return c, err
		}
		l.s.mu.Lock()
		l.s.held = append(l.s.held, c)
		l.s.mu.Unlock()
	}
}

type switchSession struct {
	s  *switchSMTP
	to string
}

func (ss *switchSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *switchSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = to
	return nil
}
func (ss *switchSession) Reset()        { ss.to = "" }
func (ss *switchSession) Logout() error { return nil }

func (ss *switchSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := netmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		return err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return err
	}
	d := delivered{To: ss.to, Subject: subject}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if smtpMode(ss.s.mode.Load()) == refusing {
		ss.s.refused = append(ss.s.refused, d)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	ss.s.received = append(ss.s.received, d)
	return nil
}

// mailFlows makes the requests whose answers must not depend on mail
// delivery: sign-up, reset and resend, by the JSON API and by the forms,
// for an address with an account and one without. It returns the answers
// in a fixed order, each with the address it was about, and fails the
// test if any takes as long as a delivery may (the mail is not on the
// request path, so none should come near it).
func mailFlows(t *testing.T, h *harness, bound time.Duration) (answers []reply, about []string, mails []delivered) {
	t.Helper()
	jsonE, jsonU := h.arranged(accountstate.Verified), h.arranged(accountstate.None)
	formE, formU := h.arranged(accountstate.Verified), h.arranged(accountstate.None)
	for _, e := range []string{jsonE, jsonU} {
		for _, path := range []string{"/api/register", "/api/password/forgot", "/api/verify/resend"} {
			start := time.Now()
			answers = append(answers, h.browser().postJSON(path, jsonBody(map[string]string{"email": e})))
			about = append(about, e)
			if d := time.Since(start); d >= bound {
				t.Errorf("POST %s took %v", path, d)
			}
		}
	}
	for _, e := range []string{formE, formU} {
		for _, path := range []string{"/register", "/password/forgot", "/verify/resend"} {
			b := h.browser()
			b.get(path)
			start := time.Now()
			answers = append(answers, b.postForm(path, url.Values{"email": {e}}))
			about = append(about, e)
			if d := time.Since(start); d >= bound {
				t.Errorf("POST %s (form) took %v", path, d)
			}
		}
	}
	for _, e := range []string{jsonE, formE} {
		mails = append(mails,
			delivered{e, "You already have an account with tacit"},
			delivered{e, "Reset your tacit password"},
			delivered{e, "You already have an account with tacit"})
	}
	for _, e := range []string{jsonU, formU} {
		mails = append(mails, delivered{e, "Finish signing up for tacit"}, delivered{e, "Finish signing up for tacit"})
	}
	return answers, about, mails
}

// sortedMails is ms in a fixed order, for comparing multisets.
func sortedMails(ms []delivered) []delivered {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b delivered) int { return strings.Compare(a.To+"\x00"+a.Subject, b.To+"\x00"+b.Subject) })
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMailFailureInvisible: with a real SMTP sender and a server that
// refuses every message, or accepts connections and never answers, every
// answer is the same as with a healthy server, and comes back without
// waiting for the mail. Once the server accepts again, the worker's
// retries deliver what was queued.
func TestMailFailureInvisible(t *testing.T) {
	const timeout = time.Second // the sender's bound on one delivery
	for _, variant := range []struct {
		name string
		mode smtpMode
	}{{"refusing", refusing}, {"silent", silent}} {
		t.Run(variant.name, func(t *testing.T) {
			srv := startSwitchSMTP(t)
			sender, err := mail.NewSMTPSender("smtp://"+srv.addr+"?starttls=none", "tacit@example.com")
			if err != nil {
				t.Fatal(err)
			}
			sender.Timeout = timeout
			h := newHarness(t, options{sender: sender})
			h.worker.Poll, h.worker.BackoffMin, h.worker.BackoffMax = 20*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			go func() { h.worker.Run(ctx); close(stopped) }()
			defer func() { cancel(); <-stopped }()

			healthy, healthyAbout, healthyMails := mailFlows(t, h, timeout)
			waitFor(t, "the healthy server's mail", 10*time.Second, func() bool { return len(srv.messages()) == len(healthyMails) })
			if got := sortedMails(srv.messages()); fmt.Sprint(got) != fmt.Sprint(sortedMails(healthyMails)) {
				t.Fatalf("healthy server got\n%v\nwant\n%v", got, sortedMails(healthyMails))
			}

			srv.set(variant.mode)
			failing, failingAbout, failingMails := mailFlows(t, h, timeout)
			for i := range healthy {
				sameResponse(t, fmt.Sprintf("answer %d, healthy vs %s server", i, variant.name), healthy[i], failing[i], healthyAbout[i], failingAbout[i])
			}
			// And within the failing phase, an address with an account
			// against one without (JSON: 0-2 vs 3-5; forms: 6-8 vs 9-11).
			for i := range 3 {
				for _, base := range []int{0, 6} {
					a, b := base+i, base+3+i
					sameResponse(t, fmt.Sprintf("answer %d vs %d, %s server", a, b, variant.name), failing[a], failing[b], failingAbout[a], failingAbout[b])
				}
			}

			// The worker has met the failure, and nothing new got through.
			waitFor(t, "a failed delivery", 10*time.Second, func() bool {
				if variant.mode == refusing {
					return srv.refusedAll(failingMails)
				}
				return srv.heldCount() > 0
			})
			if n := len(srv.messages()); n != len(healthyMails) {
				t.Fatalf("%d messages delivered while the server was failing", n-len(healthyMails))
			}

			srv.set(accepting)
			srv.release()
			want := sortedMails(append(healthyMails, failingMails...))
			waitFor(t, "the queued mail after recovery", 15*time.Second, func() bool { return len(srv.messages()) >= len(want) })
			if got := sortedMails(srv.messages()); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("after recovery the server got\n%v\nwant\n%v", got, want)
			}
		})
	}
}

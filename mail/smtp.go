package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultSMTPTimeout bounds one delivery, from dialling to QUIT.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPSender delivers messages through an SMTP server (submission with
// STARTTLS, or implicit TLS). Each Send opens its own connection, so one
// SMTPSender is safe for concurrent use. Create it with NewSMTPSender.
type SMTPSender struct {
	// Timeout bounds a whole delivery: connect, greeting, TLS, auth and
	// data. A server that accepts the connection and then says nothing
	// cannot hold the worker longer than this. Default DefaultSMTPTimeout.
	Timeout time.Duration

	host       string
	port       int
	implicit   bool // smtps: TLS from the first byte
	policy     gomail.TLSPolicy
	skipVerify bool
	user, pass string
	hasUser    bool
	from       string
	fromDomain string
	display    string // the URL with its password masked
}

// NewSMTPSender parses a server URL and a From address.
//
// URL forms:
//
//	smtp://[user:pass@]host[:port]   submission, default port 587
//	smtps://[user:pass@]host[:port]  implicit TLS, default port 465
//
// Query parameters: starttls=opportunistic (default for smtp), required or
// none; insecure_skip_verify=1 turns off certificate checks (tests only).
// A user in the URL turns on SMTP AUTH. Opportunistic STARTTLS sends in
// the clear when the server (or someone in between) does not offer TLS;
// use starttls=required or smtps in production.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	s := &SMTPSender{Timeout: DefaultSMTPTimeout}
	if err := s.parseURL(rawURL); err != nil {
		return nil, err
	}
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail from address %q is not valid: %w", from, err)
	}
	s.from = addr.String()
	s.fromDomain = addr.Address[strings.LastIndexByte(addr.Address, '@')+1:]
	return s, nil
}

// parseURL fills s from rawURL. Its errors never quote the URL itself,
// which may hold a password.
func (s *SMTPSender) parseURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // drop the quoted URL and its password
		}
		return fmt.Errorf("SMTP URL is not valid: %w", err)
	}
	s.display = u.Redacted()
	defaultPort := gomail.DefaultPortTLS
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.implicit = true
		defaultPort = gomail.DefaultPortSSL
	default:
		return fmt.Errorf("SMTP URL %q: scheme must be smtp or smtps", s.display)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return fmt.Errorf("SMTP URL %q: no host (want smtp://host:port)", s.display)
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("SMTP URL %q: unexpected path %q", s.display, u.Path)
	}
	s.host = u.Hostname()
	s.port = defaultPort
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("SMTP URL %q: port %q is not in 1-65535", s.display, p)
		}
		s.port = n
	}
	if u.User != nil {
		s.hasUser = true
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	return s.parseQuery(u.Query())
}

// parseQuery reads the URL's options. Unknown options are errors: a typo
// such as "startls=required" must not silently leave TLS optional.
func (s *SMTPSender) parseQuery(q url.Values) error {
	s.policy = gomail.TLSOpportunistic
	for key, vals := range q {
		val := vals[len(vals)-1]
		switch key {
		case "starttls":
			if s.implicit {
				return fmt.Errorf("SMTP URL %q: starttls does not apply to smtps, which is TLS from the start", s.display)
			}
			p, ok := map[string]gomail.TLSPolicy{
				"opportunistic": gomail.TLSOpportunistic,
				"required":      gomail.TLSMandatory,
				"none":          gomail.NoTLS,
			}[val]
			if !ok {
				return fmt.Errorf("SMTP URL %q: starttls=%q, want opportunistic, required or none", s.display, val)
			}
			s.policy = p
		case "insecure_skip_verify":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return fmt.Errorf("SMTP URL %q: insecure_skip_verify=%q, want 1 or 0", s.display, val)
			}
			s.skipVerify = b
		default:
			return fmt.Errorf("SMTP URL %q: unknown option %q", s.display, key)
		}
	}
	return nil
}

// String describes the server with the password masked, for logs and
// `tacit config`.
func (s *SMTPSender) String() string {
	return s.display
}

// Send delivers m as a multipart/alternative message (plain text and
// HTML). It returns once the server has accepted the message, or with an
// error when ctx ends, the Timeout passes or the server refuses.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	client, err := gomail.NewClient(s.host, s.options(ctx)...)
	if err != nil {
		return fmt.Errorf("smtp client for %s: %w", s.display, err)
	}
	// Connecting covers the greeting, EHLO, STARTTLS and AUTH: a failure
	// there is the server's, not this message's.
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("smtp %s:%d: %w: dial failed: %w", s.host, s.port, ErrUnavailable, err)
	}
	err = client.SendWithSMTPClient(conn, msg)
	// Once the server has taken the message, a failed QUIT changes
	// nothing: reporting it would have the message sent again.
	closeErr := client.CloseWithSMTPClient(conn)
	if err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && (se.Reason == gomail.ErrConnCheck || se.Reason == gomail.ErrSMTPMailFrom) {
			// The connection died, or the server refuses our sender
			// address: no message would fare better.
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return fmt.Errorf("smtp %s:%d: send failed: %w", s.host, s.port, errors.Join(err, closeErr))
	}
	return nil
}

func (s *SMTPSender) timeout() time.Duration {
	if s.Timeout <= 0 {
		return DefaultSMTPTimeout
	}
	return s.Timeout
}

func (s *SMTPSender) message(m Message) (*gomail.Msg, error) {
	// No User-Agent: there is no reason to tell every recipient's mail
	// provider which library and version sent the mail.
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return nil, fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient address: %w", err)
	}
	msg.Subject(m.Subject)
	// The default Message-ID carries this machine's hostname; use the
	// sender's domain instead.
	msg.SetMessageIDWithValue(rand.Text() + "@" + s.fromDomain)
	// RFC 3834: no vacation or out-of-office replies to a robot.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

func (s *SMTPSender) options(ctx context.Context) []gomail.Option {
	tlsConf := &tls.Config{
		ServerName:         s.host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: s.skipVerify, // only when the URL asks, for test servers
	}
	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout()),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithTLSPolicy(s.policy),
		gomail.WithDialContextFunc(s.dial(ctx, tlsConf)),
	}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	}
	if s.hasUser {
		// PLAIN first, then LOGIN, then whatever go-mail finds. go-mail
		// refuses to send PLAIN or LOGIN credentials over a connection
		// that is neither TLS nor loopback.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.user),
			gomail.WithPassword(s.pass))
	}
	return opts
}

// dial opens the connection and ties its life to sendCtx. go-mail only
// sets per-command deadlines, each as long as the whole Timeout; closing
// the connection when sendCtx ends caps the whole delivery and lets a
// shutdown interrupt a slow server at once.
func (s *SMTPSender) dial(sendCtx context.Context, tlsConf *tls.Config) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if s.implicit {
			// Return the *tls.Conn itself: the SMTP client checks for it
			// to know the connection is encrypted.
			conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, network, addr)
		} else {
			conn, err = d.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		context.AfterFunc(sendCtx, func() { conn.Close() })
		return conn, nil
	}
}

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/mail"
	"github.com/tacitauth/tacit/metrics"
	"github.com/tacitauth/tacit/openid"
	"github.com/tacitauth/tacit/web"
)

// Server timeouts. Slow clients must not hold connections open for ever
// (ReadHeaderTimeout stops Slowloris). A handler may run for the envelope
// plus request_timeout (which covers a queue of hashes under load); the
// write budget gives it writeMargin more to send its answer, the 500 of a
// request that ran out of time included.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeMargin       = 5 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 32 << 10
)

// shutdownTimeout is how long in-flight requests get to finish at
// shutdown; then the instance delivers one batch of queued mail (say, from
// the last sign-ups).
const shutdownTimeout = 10 * time.Second

// serve runs the server until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, c Config, stderr io.Writer) (err error) {
	if err := c.checkLocalOnly(); err != nil {
		return err
	}
	log := c.Logger(stderr)
	// One serve per SQLite file, for the whole life of the process.
	lock, err := lockStore(c, "serve")
	if err != nil {
		return err
	}
	defer lock.release()
	db, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer closeStore(db, &err)
	// Migrating on start keeps a single-binary deployment at zero setup;
	// both engines make it safe with several instances at once.
	if err := db.Migrate(ctx); err != nil {
		return c.Database.redact(err)
	}
	// Before anything reads a secret: a wrong key stops the start here,
	// not a sign-in later.
	if n, err := sealStore(ctx, db, c); err != nil {
		return err
	} else if n.Clear > 0 || n.Old > 0 {
		log.Info("sealed the database's secrets under the current key", "were_clear", n.Clear, "were_under_old_key", n.Old)
	}
	if err := warnAddresses(ctx, db, c.Database, log); err != nil {
		return err
	}
	inst, envelope, err := assemble(c, db, log)
	if err != nil {
		return err
	}
	// Listen before announcing anything, so a port in use is reported as
	// the error it is.
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("%s: %w", c.name("addr"), err)
	}
	// A host name that checkLocalOnly took for loopback must have
	// resolved to a loopback address too.
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		if err := c.checkListen(tcp.String()); err != nil {
			ln.Close()
			return err
		}
	}
	stopMetrics, err := serveMetrics(c, inst, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	stopAdmin, err := serveAdmin(c, inst, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopAdmin()
	srv := &http.Server{
		Handler:           inst,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      envelope + c.RequestTimeout + writeMargin,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return runServer(ctx, srv, ln, inst, log, c)
}

// assemble builds the tacit instance over an open database: the hasher,
// the mail sender, the flows and the HTTP surface. It returns the longest
// envelope a request may wait for: the one in force, or, measured if the
// configuration says auto, the most its recalibration may raise it to.
func assemble(c Config, db store, log *slog.Logger) (*web.Instance, time.Duration, error) {
	policy, err := c.PasswordPolicy()
	if err != nil {
		return nil, 0, err
	}
	hasher, err := argon2id.New(c.HashParams(), 0)
	if err != nil {
		return nil, 0, fmt.Errorf("%s, %s: %w", c.name("hash_memory_kib"), c.name("hash_time"), err)
	}
	envelope, other, err := sizeEnvelope(c, db, hasher, log)
	if err != nil {
		return nil, 0, err
	}
	fc := c.flowConfig(policy, tacit.Links{Base: c.BaseURL}, envelope, nil)
	longest := envelope
	if c.Envelope == AutoEnvelope {
		fc.RecalibrateEnvelope, fc.EnvelopeSamples = true, other
		longest = flow.EnvelopeCeiling(envelope)
	}
	sender, devBox, err := newSender(c, db, log)
	if err != nil {
		return nil, 0, err
	}
	hc := c.httpConfig(db, devBox, longest)
	// On an address of its own, the administration API is served there
	// only (serveAdmin), never on the main address too.
	hc.AdminAPI = c.AdminAPI && c.AdminAddr == ""
	if c.Metrics != "off" {
		idle := cmp.Or(fc.SessionIdle, flow.DefaultConfig().SessionIdle)
		hc.Metrics = metrics.New(metrics.Gauges{
			OutboxPending: db.OutboxPending,
			LiveSessions: func(ctx context.Context) (int64, error) {
				now := time.Now()
				return db.LiveSessions(ctx, now, now.Add(-idle))
			},
		})
		hc.MetricsRoute = c.Metrics == "on"
	}
	if c.OIDC {
		hc.OpenID, err = openid.New(context.Background(), db, openid.Config{
			Issuer: c.BaseURL.String(), Clients: c.OIDCClients, Insecure: c.BaseURL.Scheme != "https", Logger: log,
			KeyRotation: c.OIDCKeyRotation})
		if err != nil {
			return nil, 0, err
		}
		log.Info("serving OpenID Connect", "issuer", c.BaseURL.String(), "configured_clients", len(c.OIDCClients))
	}
	inst, err := web.NewInstance(web.Options{
		Store:     db,
		Hasher:    hasher,
		Sender:    sender,
		Flow:      fc,
		Config:    hc,
		Upkeep:    c.Upkeep,
		MailLease: c.MailLease,
		Logger:    log,
	})
	if err != nil {
		return nil, 0, err
	}
	return inst, longest, nil
}

// flowConfig returns the settings of the flows.
func (c *Config) flowConfig(policy tacit.PasswordPolicy, links tacit.Links, envelope time.Duration, mailQueued func()) flow.Config {
	fc := c.flowSettings
	limits := c.Limits // flow keeps the pointer: give it its own copy
	fc.Mode, fc.Policy, fc.Links, fc.Envelope, fc.Limits, fc.MailQueued = c.RegistrationMode, policy, links, envelope, &limits, mailQueued
	return fc
}

// httpConfig returns the settings of the HTTP surface over db.
func (c *Config) httpConfig(db store, devBox tacit.DevMailbox, envelope time.Duration) web.Config {
	hc := c.httpSettings
	hc.SecureCookies = c.SecureCookies()
	hc.DevMailbox = devBox
	hc.Ready = func(ctx context.Context) error { return ready(ctx, db) }
	// The envelope is time every sensitive request spends anyway; the
	// timeout counts beyond it.
	hc.RequestTimeout = envelope + c.RequestTimeout
	return hc
}

// newSender returns the mail driver. The dev driver also returns the
// mailbox that the web server shows; SMTP returns none, so the dev pages
// do not exist.
func newSender(c Config, db tacit.Store, log *slog.Logger) (mail.Sender, tacit.DevMailbox, error) {
	if c.Mail == MailDev {
		return mail.DevSender{Box: db}, db, nil
	}
	s, err := mail.NewSMTPSender(c.SMTPURL.String(), c.MailFrom)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", c.name("smtp_url"), err)
	}
	log.Info("mail is sent by SMTP", "server", s.String(), "from", c.MailFrom)
	return s, nil, nil
}

// runServer serves on ln until ctx is done or the server fails, with the
// instance's mail worker and storage housekeeping alongside, then stops
// them all.
func runServer(ctx context.Context, srv *http.Server, ln net.Listener, inst *web.Instance, log *slog.Logger, c Config) error {
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	ran := make(chan struct{})
	go func() {
		inst.Run(bg)
		close(ran)
	}()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if c.Mail == MailDev {
		log.Warn("mail is captured at /_dev/mail, not sent")
	}
	warnThrottling(c, log)
	// The database line names the engine and where it is, never the
	// password.
	log.Info(fmt.Sprintf("tacit listening on http://%s (base URL %s, mail %s, registration %s, database %s)",
		ln.Addr(), c.BaseURL, c.Mail, c.RegistrationMode, c.Database.Label()))

	var serveErr error
	select {
	case serveErr = <-served:
		serveErr = fmt.Errorf("serve: %w", serveErr)
	case <-ctx.Done():
		log.Info("shutting down")
		serveErr = shutdown(srv)
	}

	// Requests have finished, so whatever mail they queued is committed:
	// the instance delivers one more batch before it returns, instead of
	// leaving it for the next start.
	stopBackground()
	<-ran
	return serveErr
}

// shutdown stops accepting connections and waits for in-flight requests.
func shutdown(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// warnThrottling logs the throttle settings that weaken protection
// against guessing: rules switched off, and a trusted proxy range that
// lets any client choose its own address.
func warnThrottling(c Config, log *slog.Logger) {
	if off := c.LimitsOff(); len(off) > 0 {
		log.Warn("throttle rules are off: " + strings.Join(off, ", "))
	}
	if c.trustsEveryone() {
		log.Warn("trusted_proxies covers every address, so any client can set its own X-Forwarded-For and evade per-client-address limits",
			"trusted_proxies", getTrustedProxies(&c))
	}
}

// checkDevMail refuses to serve the dev mailbox beyond this machine: it
// shows every mailed link, sign-up and reset tokens included, to anyone who
// can reach /_dev/mail.
func (c *Config) checkDevMail() error {
	if c.Mail != MailDev || isLoopback(c.BaseURL.Hostname()) {
		return nil
	}
	return fmt.Errorf("%s: dev shows every mailed link at /_dev/mail, so it serves only a loopback base URL, but the base URL host is %q; use smtp",
		c.name("mail"), c.BaseURL.Hostname())
}

// checkLocalOnly refuses to serve what is for local development only to
// anyone beyond this machine: the dev mailbox, and session cookies sent
// over plain HTTP. Both the base URL and the listen address must be
// loopback: the base URL is only what links say, and a server listening on
// every interface answers whoever connects, whatever its links say.
func (c *Config) checkLocalOnly() error {
	if err := c.checkDevMail(); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err == nil && isLoopback(host) {
		return nil
	}
	return c.checkListen(c.Addr)
}

// checkListen returns the error for listening on addr, a non-loopback
// address, or nil if nothing local-only is configured.
func (c *Config) checkListen(addr string) error {
	const loopback = "so the server listens only on a loopback address (127.0.0.1, ::1 or localhost)"
	if c.Mail == MailDev {
		return fmt.Errorf("%s: mail is dev (%s), which shows every mailed link at /_dev/mail to anyone who reaches it, %s, got %q; listen on one, or use smtp",
			c.name("addr"), c.name("mail"), loopback, addr)
	}
	if !c.SecureCookies() {
		return fmt.Errorf("%s: cookies without the Secure attribute (%s %s with base URL %s) are for local development only, %s, got %q; listen on one, or serve an https base URL",
			c.name("addr"), c.name("cookie_secure"), c.CookieSecure, c.BaseURL, loopback, addr)
	}
	return nil
}

// ready reports whether db is reachable and fully migrated, for /readyz.
// An instance started before a newer one migrated the schema stays up but
// is taken out of rotation until it is replaced.
func ready(ctx context.Context, db store) error {
	current, err := db.MigrationsCurrent(ctx)
	if err != nil {
		return err
	}
	if !current {
		return errors.New("database schema is not the one this binary expects")
	}
	return nil
}

// serveMetrics serves the metrics on an address of their own when the
// metrics setting is one, and returns what stops it.
func serveMetrics(c Config, inst *web.Instance, log *slog.Logger) (stop func(), err error) {
	m := inst.Config().Metrics
	if m == nil || c.Metrics == "on" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", c.Metrics)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name("metrics"), err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go srv.Serve(ln)
	log.Info(fmt.Sprintf("metrics at http://%s/metrics", ln.Addr()))
	return func() { srv.Close() }, nil
}

// serveAdmin serves the administration API on an address of its own when
// admin_addr is set, and returns what stops it. It says where the API is
// either way, and warns when it listens beyond this machine: the API
// answers plain HTTP, so its bearer tokens need TLS or a private network
// in front.
func serveAdmin(c Config, inst *web.Instance, log *slog.Logger) (stop func(), err error) {
	if !c.AdminAPI {
		return func() {}, nil
	}
	if c.AdminAddr == "" {
		log.Info("administration API at /admin/api/ on the main address")
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", c.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name("admin_addr"), err)
	}
	srv := &http.Server{
		Handler:           inst.AdminHandler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      inst.Config().RequestTimeout + writeMargin,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go srv.Serve(ln)
	log.Info(fmt.Sprintf("administration API at http://%s/admin/api/ (not on the main address)", ln.Addr()))
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		log.Warn("the administration API listens beyond this machine over plain HTTP: put TLS or a private network in front of it", "admin_addr", c.AdminAddr)
	}
	return func() { srv.Close() }, nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/argon2id"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/mail"
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

// Shutdown budgets: in-flight requests get shutdownTimeout to finish; then
// one batch of queued mail (say, from the last sign-ups) gets drainTimeout.
const (
	shutdownTimeout = 10 * time.Second
	drainTimeout    = 10 * time.Second
)

// Storage housekeeping: expired sign-ups and sessions go at once, handled
// mail after mailKeep. Throttle counters are trimmed far more often than
// the rest is purged, because a flood of made-up addresses can add
// thousands of them a minute.
const (
	purgeEvery = time.Hour
	mailKeep   = 7 * 24 * time.Hour
	trimEvery  = time.Minute
)

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
	if err := warnAddresses(ctx, db, c.Database, log); err != nil {
		return err
	}
	handler, worker, svc, envelope, err := assemble(c, db, log)
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
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      envelope + c.RequestTimeout + writeMargin,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return runServer(ctx, srv, ln, worker, db, log, c, svc.SetCounterTableFull)
}

// assemble builds the parts of the server over an open database: the
// hasher, the mail worker, the flows and the HTTP handler. It returns the
// envelope in force, measured if the configuration says auto.
func assemble(c Config, db store, log *slog.Logger) (http.Handler, *mail.Worker, *flow.Service, time.Duration, error) {
	policy, err := c.PasswordPolicy()
	if err != nil {
		return nil, nil, nil, 0, err
	}
	hasher, err := argon2id.New(c.HashParams(), 0)
	if err != nil {
		return nil, nil, nil, 0, fmt.Errorf("%s, %s: %w", c.name("hash_memory_kib"), c.name("hash_time"), err)
	}
	envelope, err := sizeEnvelope(c, db, hasher, log)
	if err != nil {
		return nil, nil, nil, 0, err
	}

	links := tacit.Links{Base: c.BaseURL}
	sender, devBox, err := newSender(c, db, log)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	worker := mail.NewWorker(db, mail.Renderer{Product: c.Product, Links: links}, sender, log.With("component", "mail"))

	fc := c.flowConfig(policy, links, envelope, worker.Kick)
	fc.Log = log.With("component", "flow")
	svc, err := flow.New(db, hasher, fc)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	svc.LogOverruns(log.With("component", "envelope"))
	handler := web.NewServer(svc, web.Config{
		Product:        c.Product,
		BaseURL:        c.BaseURL,
		SecureCookies:  c.SecureCookies(),
		DevMailbox:     devBox,
		Logger:         log.With("component", "http"),
		TrustedProxies: c.TrustedProxies,
		Ready:          func(ctx context.Context) error { return ready(ctx, db) },
		// The envelope is time every sensitive request spends anyway;
		// the timeout counts beyond it.
		RequestTimeout: envelope + c.RequestTimeout,
	})
	return handler, worker, svc, envelope, nil
}

// flowConfig returns the settings of the flows.
func (c *Config) flowConfig(policy tacit.PasswordPolicy, links tacit.Links, envelope time.Duration, mailQueued func()) flow.Config {
	limits := c.Limits // flow keeps the pointer: give it its own copy
	return flow.Config{
		Mode:            c.RegistrationMode,
		Policy:          policy,
		Links:           links,
		SignupTTL:       c.SignupTTL,
		SessionIdle:     c.SessionIdle,
		SessionLifetime: c.SessionLifetime,
		Envelope:        envelope,
		ResetTTL:        c.ResetTTL,
		EmailChangeTTL:  c.EmailChangeTTL,
		NotifyUnknown:   c.NotifyUnknown,
		Limits:          &limits,
		MailQueued:      mailQueued,
	}
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
// mail worker and storage housekeeping alongside, then stops them all.
// setFull is told after each trim whether the counter table is full.
func runServer(ctx context.Context, srv *http.Server, ln net.Listener, worker *mail.Worker, db tacit.Store, log *slog.Logger, c Config, setFull func(bool)) error {
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { worker.Run(bg) })
	wg.Go(func() { purgeLoop(bg, db, log) })
	wg.Go(func() { trimLoop(bg, db, c.ThrottleMaxKeys, trimEvery, log, setFull) })
	wg.Go(func() { outboxLoop(bg, db, c.OutboxMaxRows, trimEvery, log) })

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
	// deliver one more batch before leaving instead of waiting for the
	// next start.
	stopBackground()
	wg.Wait()
	drain(worker, log)
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

// drain delivers one batch of due mail. A failure is only logged: the
// mail stays in the outbox for the next start.
func drain(worker *mail.Worker, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	n, err := worker.RunOnce(ctx)
	if err != nil {
		log.Error("drain mail outbox", "err", err)
		return
	}
	if n > 0 {
		log.Info("drained mail outbox", "mails", n)
	}
}

// purgeLoop deletes expired records now and then, keeping storage bounded.
func purgeLoop(ctx context.Context, db tacit.Store, log *slog.Logger) {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		if err := db.Purge(ctx, time.Now(), mailKeep); err != nil && ctx.Err() == nil {
			log.Error("purge expired records", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// trimLoop keeps at most maxKeys throttle counters, every interval, and
// tells setFull (if set) after each trim whether the table is full.
func trimLoop(ctx context.Context, db tacit.Store, maxKeys int, interval time.Duration, log *slog.Logger, setFull func(bool)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if left, err := trimCounters(ctx, db, maxKeys, log); err == nil && setFull != nil {
			setFull(left > maxKeys)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// trimCounters drops expired counters and, past maxKeys, the least
// recently hit of those that hold no key back, and returns how many are
// left. A counter that delays or locks a key is never dropped, so more
// than maxKeys may be left: the table is then full, and the flows refuse
// requests that would start a new counter (fail closed) until a trim
// finds room. Both are worth a warning: they mean a flood of identifiers,
// or a cap too low for the traffic. Dropping counters that hold nothing
// back forgets only failures below the first delay.
func trimCounters(ctx context.Context, db tacit.Store, maxKeys int, log *slog.Logger) (int, error) {
	left, err := db.TrimCounters(ctx, time.Now(), maxKeys)
	if err != nil {
		if ctx.Err() == nil { // not merely shutting down
			log.Error("trim throttle counters", "err", err)
		}
		return 0, err
	}
	switch {
	case left > maxKeys:
		log.Warn("throttle counters that hold keys back exceed throttle_max_keys; requests that need a new counter are throttled until some expire",
			"counters", left, "throttle_max_keys", maxKeys)
	case left == maxKeys:
		log.Warn("throttle counters reached throttle_max_keys; the least recently hit that held nothing back may have been dropped",
			"counters", left, "throttle_max_keys", maxKeys)
	default:
		log.Debug("trimmed throttle counters", "counters", left)
	}
	return left, nil
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

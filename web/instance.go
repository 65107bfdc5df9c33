package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/mail"
)

// drainTimeout bounds the batch of mail an Instance delivers after Run's
// context ends.
const drainTimeout = 10 * time.Second

// Options are what an Instance is made of.
type Options struct {
	// Store keeps every record. It must be migrated.
	Store tacit.Store
	// Hasher hashes passwords.
	Hasher tacit.Hasher
	// Sender delivers the mail the flows queue: a mail.SMTPSender, or in
	// development a mail.DevSender (with Config.DevMailbox to show it).
	Sender mail.Sender
	// Flow configures the flows; Flow.Links.Base is required. The
	// Instance wakes its mail worker after Flow.MailQueued (if any).
	Flow flow.Config
	// Config configures the HTTP surface. Its BaseURL defaults to
	// Flow.Links.Base; its Product also names tacit in mail.
	Config Config
	// Upkeep bounds storage; its zero fields mean their defaults.
	Upkeep Upkeep
	// MailLease is how long the mail worker's claim on a mail lasts, and
	// so how long a mail that a crashed worker had in hand waits before
	// another worker sends it again. It also bounds one send. Zero means
	// mail.DefaultLease.
	MailLease time.Duration
	// Logger receives what the housekeeping reports, and, with a
	// component attribute, what the flows, the mail worker, the envelope
	// and the HTTP surface report, unless Flow.Log or Config.Logger say
	// otherwise. Nil discards.
	Logger *slog.Logger
}

// Instance is tacit running inside a Go program: the handler of its pages
// and API, and, while Run runs, the mail worker and the storage
// housekeeping that keep it going. Mount it on any path of a mux (its
// routes are absolute, /login, /api/…) and protect the application's own
// handlers with RequireSession(inst.Service(), inst.Config(), …).
type Instance struct {
	handler http.Handler
	svc     *flow.Service
	worker  *mail.Worker
	store   tacit.Store
	cfg     Config
	upkeep  Upkeep
	log     *slog.Logger
}

// NewInstance builds the flows, the mail worker and the HTTP surface of
// o. It hashes one password (see flow.New), so it takes about one hash
// time. Nothing runs in the background until Run.
func NewInstance(o Options) (*Instance, error) {
	if o.Store == nil || o.Hasher == nil || o.Sender == nil {
		return nil, errors.New("web: Options.Store, Hasher and Sender are required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := o.Config
	if cfg.BaseURL == nil {
		cfg.BaseURL = o.Flow.Links.Base
	}
	if cfg.Logger == nil && o.Logger != nil {
		cfg.Logger = log.With("component", "http")
	}
	cfg = cfg.withDefaults()

	worker := mail.NewWorker(o.Store, mail.Renderer{Product: cfg.Product, Links: o.Flow.Links}, o.Sender, log.With("component", "mail"))
	if o.MailLease > 0 {
		worker.Lease = o.MailLease
	}
	fc := o.Flow
	if queued := fc.MailQueued; queued != nil {
		fc.MailQueued = func() { queued(); worker.Kick() }
	} else {
		fc.MailQueued = worker.Kick
	}
	if fc.Log == nil && o.Logger != nil {
		fc.Log = log.With("component", "flow")
	}
	if m := cfg.Metrics; m != nil {
		if fc.Throttle == nil {
			fc.Throttle = m.Throttle
		}
		if fc.SessionStarted == nil {
			fc.SessionStarted = m.SessionStarted
		}
		worker.Sent = func(k tacit.MailKind) { m.MailSent(string(k)) }
		worker.Failed = func(k tacit.MailKind) { m.MailFailed(string(k)) }
	}
	svc, err := flow.New(o.Store, o.Hasher, fc)
	if err != nil {
		return nil, err
	}
	if o.Logger != nil {
		svc.LogOverruns(log.With("component", "envelope"))
	}
	return &Instance{
		handler: NewServer(svc, cfg),
		svc:     svc,
		worker:  worker,
		store:   o.Store,
		cfg:     cfg,
		upkeep:  o.Upkeep.withDefaults(),
		log:     log,
	}, nil
}

// ServeHTTP serves tacit's pages and API.
func (in *Instance) ServeHTTP(w http.ResponseWriter, r *http.Request) { in.handler.ServeHTTP(w, r) }

// AdminHandler returns the administration API alone, for an address of
// its own (NewAdminServer over the Instance's flows and configuration).
func (in *Instance) AdminHandler() http.Handler { return NewAdminServer(in.svc, in.cfg) }

// Service returns the flows the Instance serves.
func (in *Instance) Service() *flow.Service { return in.svc }

// Config returns the HTTP configuration in force, defaults filled in: the
// one to give RequireSession.
func (in *Instance) Config() Config { return in.cfg }

// Run delivers mail, keeps storage bounded (see Upkeep) and, if the
// flows' configuration asks for it, keeps the envelope measured
// (flow.Service.RecalibrateEnvelope) until ctx is done; then it delivers
// one more batch of due mail, so that what the last requests queued is
// not left for the next start. Call it once, for
// as long as the handler serves, and end ctx only once the handler has
// stopped (after http.Server.Shutdown).
func (in *Instance) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { in.worker.Run(ctx) })
	wg.Go(func() { in.svc.RecalibrateEnvelope(ctx) })
	wg.Go(func() {
		purgeLoop(ctx, in.store, in.upkeep.PurgeEvery, in.upkeep.MailKeep, in.upkeep.ActivityKeep, in.log)
	})
	wg.Go(func() {
		trimLoop(ctx, in.store, in.upkeep.ThrottleMaxKeys, in.upkeep.TrimEvery, in.log, in.svc.SetCounterTableFull)
	})
	wg.Go(func() { outboxLoop(ctx, in.store, in.upkeep.OutboxMaxRows, in.upkeep.TrimEvery, in.log) })
	if p := in.cfg.OpenID; p != nil {
		wg.Go(func() { keyRotationLoop(ctx, p, in.upkeep.PurgeEvery, in.log) })
	}
	wg.Wait()
	in.drain()
}

// DeliverMail delivers one batch of due mail now and returns how many
// mails it claimed. Run does this by itself; tests call it to have the
// mail of a request delivered at a known point.
func (in *Instance) DeliverMail(ctx context.Context) (int, error) { return in.worker.RunOnce(ctx) }

// drain delivers one batch of due mail. A failure is only logged: the
// mail stays in the outbox for the next start.
func (in *Instance) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	n, err := in.worker.RunOnce(ctx)
	if err != nil {
		in.log.Error("drain mail outbox", "err", err)
		return
	}
	if n > 0 {
		in.log.Info("drained mail outbox", "mails", n)
	}
}

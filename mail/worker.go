package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tacitauth/tacit"
)

// Worker defaults.
const (
	DefaultPoll        = time.Second
	DefaultLease       = time.Minute
	DefaultBatch       = 20
	DefaultMaxAttempts = 12
	DefaultBackoffMin  = 10 * time.Second
	DefaultBackoffMax  = time.Hour
)

// maxReason caps the failure reason stored with a mail.
const maxReason = 500

// bookkeepingTimeout bounds one write of a delivery result.
const bookkeepingTimeout = 10 * time.Second

// Worker delivers the outbox: it claims due mail, renders it, sends it and
// records the result. Several workers (in several processes) may share one
// outbox: a claim is a lease, so each mail is worked on by one worker at a
// time. Delivery is at least once: a worker that dies after sending but
// before recording leaves the mail to be sent again after its lease.
//
// A mail the server refuses is tried again on its own, after BackoffMin
// doubled per try. A server that is unavailable (the Sender says
// ErrUnavailable) pauses the whole worker instead, for the same backoff
// counted in failed tries in a row: it claims nothing while paused, then
// tries one mail, the oldest due, and only when that goes out does it
// take whole batches again. The mail that failed and the rest of its
// batch are due when the pause ends, so after an outage mail goes out in
// the order it was queued, and the server sees one connection per pause,
// not one per queued mail.
//
// A mail whose link has expired by the time it could go out (the Data's
// "expires" counted from CreatedAt) is dropped and logged, not sent: a
// dead link only tells its reader to ask again.
//
// Create it with NewWorker and set the exported fields before Run; zero
// values mean the defaults.
type Worker struct {
	Poll        time.Duration // how often to look for due mail; DefaultPoll
	Lease       time.Duration // how long a claim lasts; DefaultLease
	Batch       int           // mails claimed at once; DefaultBatch
	MaxAttempts int           // tries before giving up on a mail; DefaultMaxAttempts
	BackoffMin  time.Duration // wait after the first failure; DefaultBackoffMin
	BackoffMax  time.Duration // longest wait between tries; DefaultBackoffMax
	Now         func() time.Time
	// Sent and Failed, if set, are told of each mail delivered and each
	// failed or abandoned delivery, by kind (metrics).
	Sent, Failed func(kind tacit.MailKind)

	box    tacit.Outbox
	render Renderer
	send   Sender
	log    *slog.Logger
	kick   chan struct{}

	mu         sync.Mutex
	pauseUntil time.Time // no delivery before this: the server was unavailable
	outages    int       // tries in a row that found the server unavailable
}

// NewWorker returns a Worker with the default settings. A nil log discards.
func NewWorker(box tacit.Outbox, r Renderer, s Sender, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{
		Poll:        DefaultPoll,
		Lease:       DefaultLease,
		Batch:       DefaultBatch,
		MaxAttempts: DefaultMaxAttempts,
		BackoffMin:  DefaultBackoffMin,
		BackoffMax:  DefaultBackoffMax,
		Now:         time.Now,
		box:         box,
		render:      r,
		send:        s,
		log:         log,
		kick:        make(chan struct{}, 1),
	}
}

// Kick wakes a running worker at once instead of at its next poll. It never
// blocks: flows call it right after committing new mail.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Run delivers mail until ctx is done. Storage errors are logged and
// retried at the next poll; Run itself never fails.
func (w *Worker) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-timer.C:
		}
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Error("mail outbox", "err", err)
		}
		wait := w.poll()
		if n >= w.batch() && err == nil {
			wait = 0 // a full batch: more mail is probably due
		}
		timer.Reset(wait)
	}
}

// RunOnce claims one batch of due mail and works through it. It returns how
// many mails it claimed. Use it for tests and to drain the outbox at
// shutdown.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	// No send may outlive the claim: once the lease is over another
	// worker may take the mail, and it must not go out twice. The lease
	// is timed on the real clock, whatever w.Now says.
	leaseCtx, cancel := context.WithTimeout(ctx, w.lease())
	defer cancel()
	// A claim that cannot reach the database gives up in time to try
	// again at the next poll, rather than hanging on a silent connection.
	claimCtx, cancelClaim := context.WithTimeout(ctx, bookkeepingTimeout)
	limit := w.batch()
	switch paused, probing := w.pauseState(); {
	case paused:
		cancelClaim()
		return 0, nil
	case probing:
		limit = 1 // one mail tells whether the server is back
	}
	mails, err := w.box.ClaimMail(claimCtx, w.now(), w.lease(), limit)
	cancelClaim()
	if err != nil {
		return 0, fmt.Errorf("claim mail: %w", err)
	}
	ctx = leaseCtx
	var errs []error
	for _, m := range mails {
		if ctx.Err() != nil {
			break // shutting down or lease over: the rest wait for the lease to end
		}
		errs = append(errs, w.deliver(ctx, m))
	}
	return len(mails), errors.Join(errs...)
}

// deliver works one claimed mail; it returns only storage errors.
func (w *Worker) deliver(ctx context.Context, m tacit.Mail) error {
	if m.Kind == tacit.MailNone {
		// A placeholder that keeps every flow branch to one outbox row
		// (equal work); there is nothing to send, and nothing worth
		// keeping: every uniform request writes one.
		return w.none(ctx, m)
	}
	if expired, ok := w.linkExpiry(m); ok && !w.now().Before(expired) {
		return w.stale(ctx, m, expired)
	}
	msg, err := w.render.Render(m)
	if err != nil {
		// The same mail will never render: retrying cannot help.
		return w.failed(ctx, m, time.Time{}, fmt.Errorf("render: %w", err))
	}
	if paused, _ := w.pauseState(); paused {
		// The server went away earlier in this batch: this mail waits
		// for it with the one that failed, in its place in the queue.
		return w.postpone(ctx, m)
	}
	if err := w.send.Send(ctx, msg); err != nil {
		if ctx.Err() != nil {
			// Interrupted, not refused: leave the mail claimed; it is
			// due again when the lease ends.
			return nil
		}
		if errors.Is(err, ErrUnavailable) {
			return w.failed(ctx, m, w.serverDown(), fmt.Errorf("send: %w", err))
		}
		return w.failed(ctx, m, w.retryAt(m.Attempts), fmt.Errorf("send: %w", err))
	}
	w.serverUp()
	return w.sent(ctx, m)
}

// pauseState reports whether delivery is paused for an unavailable
// server, and, if not, whether the server was unavailable at the last
// try, so that the next claim is a single mail.
func (w *Worker) pauseState() (paused, probing bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.outages == 0 {
		return false, false
	}
	return w.now().Before(w.pauseUntil), true
}

// serverDown pauses delivery after a try found the server unavailable,
// and returns when the pause ends: the backoff of as many failed tries in
// a row, less up to a quarter at random so that several workers do not
// come back in step.
func (w *Worker) serverDown() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.outages++
	d := w.backoff(w.outages)
	d -= rand.N(d/4 + 1)
	w.pauseUntil = w.now().Add(d)
	w.log.Warn("mail server unavailable: delivery paused", "tries", w.outages, "until", w.pauseUntil)
	return w.pauseUntil
}

// serverUp ends a pause once a mail went out.
func (w *Worker) serverUp() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.outages > 0 {
		w.log.Info("mail server available again: delivery resumed", "tries", w.outages)
	}
	w.outages, w.pauseUntil = 0, time.Time{}
}

// postpone hands a claimed mail back untried, due when the pause ends.
func (w *Worker) postpone(ctx context.Context, m tacit.Mail) error {
	w.mu.Lock()
	until := w.pauseUntil
	w.mu.Unlock()
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	if err := retry(ctx, func() error { return w.box.MailFailed(ctx, m.ID, until, "not tried: mail server unavailable") }); err != nil {
		return fmt.Errorf("postpone mail %d: %w", m.ID, err)
	}
	return nil
}

// linkExpiry returns when the link in m stops working, if m has a link
// whose lifetime it states.
func (w *Worker) linkExpiry(m tacit.Mail) (time.Time, bool) {
	if m.Data["link"] == "" || m.CreatedAt.IsZero() {
		return time.Time{}, false
	}
	ttl, ok := parseExpires(m.Data["expires"])
	if !ok {
		return time.Time{}, false
	}
	return m.CreatedAt.Add(ttl), true
}

// parseExpires reads the "expires" of a mail's Data as the flows write
// it: "1 minute", "30 minutes", "2 hours", "3 days".
func parseExpires(s string) (time.Duration, bool) {
	num, unit, ok := strings.Cut(s, " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 {
		return 0, false
	}
	d, ok := map[string]time.Duration{
		"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour,
	}[strings.TrimSuffix(unit, "s")]
	if !ok {
		return 0, false
	}
	return time.Duration(n) * d, true
}

// stale drops a mail whose link expired before it could be delivered: it
// is recorded as given up, its Data (the dead token) cleared, and logged.
func (w *Worker) stale(ctx context.Context, m tacit.Mail, expired time.Time) error {
	queued := w.now().Sub(m.CreatedAt).Round(time.Second)
	w.log.Warn("mail dropped: its link expired before it could be delivered",
		"id", m.ID, "kind", m.Kind, "to", MaskAddress(m.To), "queued", queued, "expired", expired)
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	reason := "not sent: the link expired after " + queued.String() + " in the outbox"
	if err := retry(ctx, func() error { return w.box.MailFailed(ctx, m.ID, time.Time{}, reason) }); err != nil {
		return fmt.Errorf("drop mail %d: %w", m.ID, err)
	}
	return nil
}

func (w *Worker) sent(ctx context.Context, m tacit.Mail) error {
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	if err := retry(ctx, func() error { return w.box.MailSent(ctx, m.ID, w.now()) }); err != nil {
		return fmt.Errorf("mark mail %d sent: %w", m.ID, err)
	}
	w.log.Info("mail sent", "id", m.ID, "kind", m.Kind, "to", MaskAddress(m.To))
	if w.Sent != nil {
		w.Sent(m.Kind)
	}
	return nil
}

// none deletes a handled row that sends nothing.
func (w *Worker) none(ctx context.Context, m tacit.Mail) error {
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	if err := retry(ctx, func() error { return w.box.DeleteMail(ctx, m.ID) }); err != nil {
		return fmt.Errorf("delete empty mail %d: %w", m.ID, err)
	}
	return nil
}

// failed records a failed attempt. The reason is logged and stored only
// after redact has taken out the recipient and the mail's Data: a server's
// refusal often quotes the address, and Data holds secret tokens.
func (w *Worker) failed(ctx context.Context, m tacit.Mail, next time.Time, cause error) error {
	reason := redact(cause.Error(), m)
	if !next.IsZero() && m.Attempts >= w.maxAttempts() {
		next = time.Time{}
	}
	attrs := []any{"id", m.ID, "kind", m.Kind, "to", MaskAddress(m.To), "attempt", m.Attempts, "err", reason}
	if next.IsZero() {
		w.log.Error("mail delivery abandoned", attrs...)
	} else {
		w.log.Warn("mail delivery failed", append(attrs, "retry_at", next)...)
	}
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	if err := retry(ctx, func() error { return w.box.MailFailed(ctx, m.ID, next, reason) }); err != nil {
		return fmt.Errorf("mark mail %d failed: %w", m.ID, err)
	}
	if w.Failed != nil {
		w.Failed(m.Kind)
	}
	return nil
}

// retryAt is when a mail that failed its attempt-th try is due again:
// BackoffMin doubled per earlier try, capped at BackoffMax, less up to a
// quarter at random so that mail failed by one outage does not all come
// back in the same instant.
func (w *Worker) retryAt(attempt int) time.Time {
	d := w.backoff(attempt)
	d -= rand.N(d/4 + 1)
	return w.now().Add(d)
}

func (w *Worker) backoff(attempt int) time.Duration {
	lo, hi := w.BackoffMin, w.BackoffMax
	if lo <= 0 {
		lo = DefaultBackoffMin
	}
	if hi <= 0 {
		hi = DefaultBackoffMax
	}
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// bookkeeping returns the context for recording a result. It outlives a
// shutdown or the end of the lease: a mail that went out must be marked
// sent, or it goes out again. The timeout keeps a stuck database from
// holding the worker.
// retry runs a bookkeeping write until it succeeds or ctx ends, waiting a
// little longer after each failure. After a database outage the first
// tries often meet connections that died with it; giving up at once would
// leave a sent mail claimed until its lease ends, and then send it again.
// MailSent and MailFailed can safely be repeated.
func retry(ctx context.Context, write func() error) error {
	wait := 50 * time.Millisecond
	for {
		err := write()
		if err == nil || errors.Is(err, tacit.ErrNotFound) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
}

func (w *Worker) now() time.Time {
	if w.Now == nil {
		return time.Now()
	}
	return w.Now()
}

func (w *Worker) poll() time.Duration  { return orDefault(w.Poll, DefaultPoll) }
func (w *Worker) lease() time.Duration { return orDefault(w.Lease, DefaultLease) }
func (w *Worker) batch() int           { return orDefault(w.Batch, DefaultBatch) }
func (w *Worker) maxAttempts() int     { return orDefault(w.MaxAttempts, DefaultMaxAttempts) }

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// MaskAddress shortens an address for logs: "alice@example.com" becomes
// "a***@example.com" (tacit.MaskEmail).
func MaskAddress(addr string) string { return tacit.MaskEmail(addr) }

// redact removes from s the recipient (in any letter case) and every Data
// value, and the token inside each link on its own as well.
func redact(s string, m tacit.Mail) string {
	secrets := map[string]string{}
	if m.To != "" {
		secrets[m.To] = MaskAddress(m.To)
	}
	for k, v := range m.Data {
		if v == "" {
			continue
		}
		secrets[v] = "<" + k + ">"
		if u, err := url.Parse(v); err == nil && u.Query().Get("token") != "" {
			secrets[u.Query().Get("token")] = "<" + k + " token>"
		}
	}
	// Longest first, so a link is replaced whole before its token is.
	keys := slices.SortedFunc(maps.Keys(secrets), func(a, b string) int { return len(b) - len(a) })
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = regexp.QuoteMeta(k)
	}
	if len(quoted) > 0 {
		re := regexp.MustCompile("(?i)" + strings.Join(quoted, "|"))
		s = re.ReplaceAllStringFunc(s, func(match string) string {
			for _, k := range keys {
				if strings.EqualFold(k, match) {
					return secrets[k]
				}
			}
			return "***"
		})
	}
	if len(s) > maxReason {
		s = strings.ToValidUTF8(s[:maxReason], "") + "…"
	}
	return s
}

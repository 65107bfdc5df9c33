// Package metrics exposes what a tacit server does as Prometheus metrics:
// requests by route and status (forward-auth checks included), throttle
// decisions, sessions started and live, mail sent and failed, and the
// outbox's depth. It counts events the
// flows, the mail worker and the HTTP surface report through plain
// function hooks, so those packages do not depend on it. No label ever
// holds an address, a token or a client's IP: only route patterns,
// statuses, rule names and mail kinds, so an operator's dashboard learns
// nothing about who has an account.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's registry and its metrics.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	throttle   *prometheus.CounterVec
	sessions   prometheus.Counter
	mailSent   *prometheus.CounterVec
	mailFailed *prometheus.CounterVec
}

// Gauges read state that is counted at each scrape rather than as it
// happens. A nil field leaves its gauge out.
type Gauges struct {
	// OutboxPending counts the mails neither delivered nor given up.
	OutboxPending func(ctx context.Context) (int64, error)
	// LiveSessions counts the sessions within their absolute and idle
	// expiry (an ended session is deleted). It is read at most once per
	// LiveSessionsEvery, however often the metrics are scraped: a count
	// over the sessions table is not free on a large deployment.
	LiveSessions func(ctx context.Context) (int64, error)
}

// LiveSessionsEvery is how long a count of live sessions is reused.
const LiveSessionsEvery = 15 * time.Second

// scrapeTimeout bounds each gauge's read, so a stalled database does not
// hang the scrape.
const scrapeTimeout = 2 * time.Second

// New returns a registry with tacit's metrics, Go's runtime and the
// process's.
func New(g Gauges) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tacit_http_requests_total", Help: "HTTP requests answered, by route pattern and status.",
		}, []string{"route", "status"}),
		throttle: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tacit_throttle_decisions_total", Help: "Throttle decisions, by the request's first rule and whether it was let through.",
		}, []string{"rule", "decision"}),
		sessions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tacit_sessions_started_total", Help: "Sessions started (sign-ins and sign-ups completed).",
		}),
		mailSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tacit_mail_sent_total", Help: "Mails the mail server took, by kind.",
		}, []string{"kind"}),
		mailFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tacit_mail_failed_total", Help: "Failed or abandoned deliveries, by kind.",
		}, []string{"kind"}),
	}
	m.reg.MustRegister(m.requests, m.throttle, m.sessions, m.mailSent, m.mailFailed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if g.OutboxPending != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tacit_outbox_pending", Help: "Mails in the outbox neither delivered nor given up (-1: could not be read).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
			defer cancel()
			n, err := g.OutboxPending(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	if g.LiveSessions != nil {
		read := reuse(g.LiveSessions, LiveSessionsEvery, time.Now)
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tacit_sessions_live", Help: "Sessions within their absolute and idle expiry, counted at most every 15 s (-1: could not be read).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
			defer cancel()
			n, err := read(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	return m
}

// reuse returns read, answering from its last successful result for every
// (by now) after it; a failed read is not kept, so the next scrape tries
// again.
func reuse(read func(context.Context) (int64, error), every time.Duration, now func() time.Time) func(context.Context) (int64, error) {
	var (
		mu   sync.Mutex
		last int64
		at   time.Time
	)
	return func(ctx context.Context) (int64, error) {
		mu.Lock()
		defer mu.Unlock()
		t := now()
		if !at.IsZero() && t.Sub(at) < every {
			return last, nil
		}
		n, err := read(ctx)
		if err != nil {
			return 0, err
		}
		last, at = n, t
		return n, nil
	}
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Throttle counts a throttle decision.
func (m *Metrics) Throttle(rule string, throttled bool) {
	d := "allowed"
	if throttled {
		d = "throttled"
	}
	m.throttle.WithLabelValues(rule, d).Inc()
}

// SessionStarted counts a new session.
func (m *Metrics) SessionStarted() { m.sessions.Inc() }

// MailSent counts a delivered mail of kind.
func (m *Metrics) MailSent(kind string) { m.mailSent.WithLabelValues(kind).Inc() }

// MailFailed counts a failed delivery of kind.
func (m *Metrics) MailFailed(kind string) { m.mailFailed.WithLabelValues(kind).Inc() }

// Request counts an answered request: route is the pattern that matched
// ("" for a request answered before routing), status its status.
func (m *Metrics) Request(route string, status int) {
	if route == "" {
		route = "unrouted"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
}

// RouteRequests counts the requests of one route by status, as Request
// does, for a hot path (the forward-auth checks): each status's counter
// is looked up once and kept, so counting a request is one atomic load
// and one atomic add, not a lookup of its labels.
type RouteRequests struct {
	vec   *prometheus.CounterVec
	route string
	// byStatus holds the counter of each status from 100 to 599, made
	// at its first request (a status never answered has no series).
	byStatus [500]atomic.Pointer[counter]
}

type counter struct{ prometheus.Counter }

// Route returns the counter of route's requests by status.
func (m *Metrics) Route(route string) *RouteRequests {
	return &RouteRequests{vec: m.requests, route: route}
}

// Count counts a request answered with status.
func (r *RouteRequests) Count(status int) {
	i := status - 100
	if i < 0 || i >= len(r.byStatus) {
		r.vec.WithLabelValues(r.route, strconv.Itoa(status)).Inc()
		return
	}
	c := r.byStatus[i].Load()
	if c == nil {
		// Two first requests may both look it up: WithLabelValues gives
		// both the same counter.
		c = &counter{r.vec.WithLabelValues(r.route, strconv.Itoa(status))}
		r.byStatus[i].Store(c)
	}
	c.Inc()
}

// Package metrics exposes what a tacit server does as Prometheus metrics:
// requests by route and status, throttle decisions, sessions started,
// mail sent and failed, and the outbox's depth. It counts events the
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
}

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
	return m
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

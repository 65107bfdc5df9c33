package mail

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/tacitauth/tacit"
)

// memOutbox is an in-memory tacit.Outbox and tacit.DevMailbox for the
// worker tests. It follows the interface contract (claims are leases that
// count as attempts, MailSent clears Data, a zero next gives up) without
// any storage engine; the engines' own tests check the real thing.
type memOutbox struct {
	mu      sync.Mutex
	mails   []*memMail
	devs    []tacit.DevMail
	claims  int
	onClaim func() // called after each ClaimMail, outside the lock
	// failWrites makes that many MailSent/MailFailed calls fail first, as
	// writes on connections that died in a database outage do.
	failWrites int
}

var errConnectionLost = errors.New("connection lost")

// writeFails reports whether this bookkeeping write should fail.
func (o *memOutbox) writeFails() bool {
	if o.failWrites > 0 {
		o.failWrites--
		return true
	}
	return false
}

type memMail struct {
	tacit.Mail
	due        time.Time
	leaseUntil time.Time
	sentAt     time.Time
	sent       bool
	abandoned  bool
	deleted    bool
	reasons    []string
}

func (o *memOutbox) enqueue(m tacit.Mail) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	m.ID = int64(len(o.mails) + 1)
	o.mails = append(o.mails, &memMail{Mail: m, due: m.CreatedAt})
	return m.ID
}

func (o *memOutbox) get(id int64) memMail {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := *o.mails[id-1]
	m.Data = maps.Clone(m.Data)
	m.reasons = append([]string(nil), m.reasons...)
	return m
}

func (o *memOutbox) ClaimMail(_ context.Context, now time.Time, lease time.Duration, limit int) ([]tacit.Mail, error) {
	o.mu.Lock()
	var out []tacit.Mail
	for _, m := range o.mails {
		if len(out) == limit {
			break
		}
		if m.sent || m.abandoned || m.deleted || m.due.After(now) || m.leaseUntil.After(now) {
			continue
		}
		m.Attempts++
		m.leaseUntil = now.Add(lease)
		c := m.Mail
		c.Data = maps.Clone(m.Data)
		out = append(out, c)
	}
	o.claims++
	hook := o.onClaim
	o.mu.Unlock()
	if hook != nil {
		hook()
	}
	return out, nil
}

func (o *memOutbox) MailSent(_ context.Context, id int64, at time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.writeFails() {
		return errConnectionLost
	}
	m, err := o.find(id)
	if err != nil {
		return err
	}
	m.sent, m.sentAt, m.Data, m.leaseUntil = true, at, nil, time.Time{}
	return nil
}

func (o *memOutbox) DeleteMail(_ context.Context, id int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.writeFails() {
		return errConnectionLost
	}
	if m, err := o.find(id); err == nil {
		m.deleted, m.Data, m.leaseUntil = true, nil, time.Time{}
	}
	return nil
}

func (o *memOutbox) MailFailed(_ context.Context, id int64, next time.Time, reason string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.writeFails() {
		return errConnectionLost
	}
	m, err := o.find(id)
	if err != nil {
		return err
	}
	m.reasons = append(m.reasons, reason)
	m.leaseUntil = time.Time{}
	if next.IsZero() {
		m.abandoned = true
		return nil
	}
	m.due = next
	return nil
}

func (o *memOutbox) find(id int64) (*memMail, error) {
	if id < 1 || int(id) > len(o.mails) {
		return nil, tacit.ErrNotFound
	}
	return o.mails[id-1], nil
}

func (o *memOutbox) SaveDevMail(_ context.Context, m tacit.DevMail) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if m.To == "" {
		return errors.New("dev mail without recipient")
	}
	o.devs = append(o.devs, m)
	return nil
}

func (o *memOutbox) DevMails(context.Context) ([]tacit.DevMail, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]tacit.DevMail, 0, len(o.devs))
	for i := len(o.devs) - 1; i >= 0; i-- {
		out = append(out, o.devs[i])
	}
	return out, nil
}

var (
	_ tacit.Outbox     = (*memOutbox)(nil)
	_ tacit.DevMailbox = (*memOutbox)(nil)
)

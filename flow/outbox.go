package flow

import (
	"context"
	"time"

	"github.com/tacitauth/tacit"
)

// enqueue queues m in the transaction tx: the mail is committed with the
// state change that causes it, or not at all. Past Limits.Mail mails to one
// address, m is silently replaced by a row that sends nothing: the cap
// protects inboxes from being flooded through tacit and, like every branch,
// still writes one counter and one outbox row, so it never shows.
func (s *Service) enqueue(ctx context.Context, tx tacit.Tx, m tacit.Mail, now time.Time) error {
	if lim := s.cfg.Limits.Mail; lim.Free > 0 {
		c, err := tx.HitCounter(ctx, s.throttleKey("mail", m.To), now, lim.Window)
		if err != nil {
			return err
		}
		if c.Count > lim.Free {
			m = tacit.Mail{Kind: tacit.MailNone, To: m.To}
		}
	}
	m.CreatedAt = now
	return tx.EnqueueMail(ctx, &m)
}

// update runs fn in a read-write transaction and, once it has committed,
// wakes the mail worker.
func (s *Service) update(ctx context.Context, fn func(tacit.Tx) error) error {
	if err := s.store.Update(ctx, fn); err != nil {
		return err
	}
	if s.cfg.MailQueued != nil {
		s.cfg.MailQueued()
	}
	return nil
}

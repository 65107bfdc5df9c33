package flow

import (
	"context"
	"time"

	"github.com/tacitauth/tacit"
)

// ownerNotice reports whether a mail of kind k is a security notice for an
// account's holder: what changed on their account (password, address,
// two-step sign-in) or that someone is guessing at it. Limits.Mail never
// holds these back, or anyone who first spends the address's allowance
// (three reset requests and a sign-up will do) could silence them.
//
// Most are caused by the holder's own authenticated action, or, for a
// completed reset, by a link that proves control of the mailbox. Two can
// be caused by someone else, and are sent all the same: MFA locked comes
// only after the right password, so it is the warning that the password
// is known; account locked comes after failed sign-ins, which anyone can
// make, but the lock itself bounds it to one per lock of the address (at
// most one an hour with the default limits), and it is the owner's only
// warning of an online guessing attack.
//
// Everything else (sign-up links, resends, "already registered", reset
// links, the email change link to a new address) can be sent to any
// address by anyone, and stays under the cap.
func ownerNotice(k tacit.MailKind) bool { return k.OwnerNotice() }

// enqueue queues m in the transaction tx: the mail is committed with the
// state change that causes it, or not at all. Owner notices go through
// notify. Any other mail counts against Limits.Mail for its address; past
// the allowance it is replaced by a row that sends nothing, and the
// suppression is logged. The cap protects inboxes from being flooded
// through tacit and, like every branch, still writes one counter and one
// outbox row, so it never shows in an answer. Rows that send nothing
// (MailNone) count too: every branch of a request does the same work.
func (s *Service) enqueue(ctx context.Context, tx tacit.Tx, m tacit.Mail, now time.Time) error {
	if ownerNotice(m.Kind) {
		return s.notify(ctx, tx, m, now)
	}
	if lim := s.cfg.Limits.Mail; lim.Free > 0 {
		c, err := tx.HitCounter(ctx, s.throttleKey("mail", m.To), now, lim.Window)
		if err != nil {
			return err
		}
		if c.Count > lim.Free {
			// Logged for every branch alike, the rows that send nothing
			// included, so the log line costs every address the same.
			// A transaction that then rolls back has logged all the same.
			s.cfg.Log.Info("mail not sent: the address's mail allowance is spent",
				"kind", m.Kind, "to", tacit.MaskEmail(m.To), "limit", lim.Free, "window", FormatDuration(lim.Window))
			m = tacit.Mail{Kind: tacit.MailNone, To: m.To}
		}
	}
	m.CreatedAt = now
	return tx.EnqueueMail(ctx, &m)
}

// notify queues an owner notice, or the row that sends nothing in a branch
// where the notice's counterpart has no owner to tell (failedLogin), with
// no mail limit: see ownerNotice.
func (s *Service) notify(ctx context.Context, tx tacit.Tx, m tacit.Mail, now time.Time) error {
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

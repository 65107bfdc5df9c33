package mail

import (
	"context"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

// Sender delivers rendered messages. The worker calls it off the request
// path, one message at a time; an error means "try again later".
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// DevSender is the dev mail driver: instead of sending, it keeps each
// message in a mailbox shown at /_dev/mailbox, so a local setup works with
// no mail server at all.
type DevSender struct {
	Box tacit.DevMailbox
	// Now stamps each captured mail; default time.Now.
	Now func() time.Time
}

// Send stores m in the dev mailbox.
func (d DevSender) Send(ctx context.Context, m Message) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	dm := tacit.DevMail{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, SentAt: now()}
	if err := d.Box.SaveDevMail(ctx, dm); err != nil {
		return fmt.Errorf("save dev mail: %w", err)
	}
	return nil
}

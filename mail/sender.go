package mail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tacitauth/tacit"
)

// Sender delivers rendered messages. The worker calls it off the request
// path, one message at a time; an error means "try again later". An error
// that wraps ErrUnavailable says the mail server itself is out of reach,
// whatever the message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrUnavailable marks a failed Send whose cause is the mail server, not
// the message: it could not be reached, did not greet, refused TLS or the
// login, dropped the connection or refused the sender address. The worker
// then pauses all delivery (see Worker) instead of trying the next mail
// against the same closed door.
var ErrUnavailable = errors.New("mail server unavailable")

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

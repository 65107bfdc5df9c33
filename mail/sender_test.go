package mail

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestDevSender(t *testing.T) {
	box := &memOutbox{}
	before := time.Now()
	err := DevSender{Box: box}.Send(context.Background(), Message{To: "a@example.com", Subject: "S", Text: "T", HTML: "H"})
	if err != nil {
		t.Fatal(err)
	}
	devs, _ := box.DevMails(context.Background())
	if len(devs) != 1 {
		t.Fatalf("got %d dev mails", len(devs))
	}
	d := devs[0]
	if d.To != "a@example.com" || d.Subject != "S" || d.Text != "T" || d.HTML != "H" || d.SentAt.Before(before) {
		t.Errorf("dev mail = %+v", d)
	}

	err = DevSender{Box: box}.Send(context.Background(), Message{})
	if err == nil || !strings.HasPrefix(err.Error(), "save dev mail: ") {
		t.Errorf("err = %v, want a wrapped mailbox error", err)
	}
}

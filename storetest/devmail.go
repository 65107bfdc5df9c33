package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tacitauth/tacit"
)

// devMailCap is how many captured mails DevMails returns at most.
const devMailCap = 200

func saveDevMail(t *testing.T, s tacit.Store, m tacit.DevMail) {
	t.Helper()
	if err := s.SaveDevMail(context.Background(), m); err != nil {
		t.Fatalf("SaveDevMail: %v", err)
	}
}

func devMails(t *testing.T, s tacit.Store) []tacit.DevMail {
	t.Helper()
	mails, err := s.DevMails(context.Background())
	if err != nil {
		t.Fatalf("DevMails: %v", err)
	}
	for i := range mails {
		mails[i] = utcDevMail(mails[i])
	}
	return mails
}

func devMail(n int, sent time.Time) tacit.DevMail {
	return tacit.DevMail{To: fmt.Sprintf("user%d@example.com", n), Subject: fmt.Sprintf("mail %d", n),
		Text: fmt.Sprintf("text %d", n), HTML: fmt.Sprintf("<p>html %d</p>", n), SentAt: sent}
}

func testDevMailbox(t *testing.T, s tacit.Store) {
	if got := devMails(t, s); len(got) != 0 {
		t.Fatalf("empty mailbox holds %+v", got)
	}
	var saved []tacit.DevMail
	for i := range 3 {
		m := devMail(i, base.Add(time.Duration(i)*time.Second))
		saveDevMail(t, s, m)
		saved = append(saved, m)
	}
	equal(t, "DevMails, newest first", devMails(t, s), []tacit.DevMail{saved[2], saved[1], saved[0]})
}

func testDevMailboxCap(t *testing.T, s tacit.Store) {
	const n = devMailCap + 5
	for i := 1; i <= n; i++ {
		saveDevMail(t, s, devMail(i, base.Add(time.Duration(i)*time.Second)))
	}
	got := devMails(t, s)
	if len(got) != devMailCap {
		t.Fatalf("DevMails returned %d mails, want %d", len(got), devMailCap)
	}
	equal(t, "newest", got[0], devMail(n, base.Add(n*time.Second)))
	equal(t, "oldest kept", got[devMailCap-1], devMail(n-devMailCap+1, base.Add((n-devMailCap+1)*time.Second)))
}

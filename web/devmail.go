package web

import (
	"net/http"
	"regexp"

	"github.com/tacitauth/tacit"
)

// handleDevMailbox lists captured mail as JSON, newest first, for tests and
// scripts. It exists only with the dev mail driver.
func handleDevMailbox(box tacit.DevMailbox, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mails, err := box.DevMails(r.Context())
		if err != nil {
			logError(s.log, r, "read dev mailbox", err)
			encodeError(w, http.StatusInternalServerError, "internal_error", "")
			return
		}
		if mails == nil {
			mails = []tacit.DevMail{} // an empty list, not null
		}
		encode(w, http.StatusOK, mails)
	})
}

// devMail is one captured mail as the dev mailbox page shows it: the plain
// text cut into runs of text and links, so links can be clicked without
// rendering the mail's own HTML.
type devMail struct {
	To, Subject, SentAt string
	Parts               []textPart
}

type textPart struct{ Text, URL string }

// devMailPage is the dev mailbox page.
type devMailPage struct {
	frame
	Mails []devMail
}

// linkPattern finds the links tacit puts in mail. Mail text is ours, so a
// simple pattern is enough.
var linkPattern = regexp.MustCompile(`https?://[^\s<>"']+`)

func splitLinks(text string) []textPart {
	var parts []textPart
	last := 0
	for _, m := range linkPattern.FindAllStringIndex(text, -1) {
		if m[0] > last {
			parts = append(parts, textPart{Text: text[last:m[0]]})
		}
		parts = append(parts, textPart{Text: text[m[0]:m[1]], URL: text[m[0]:m[1]]})
		last = m[1]
	}
	if last < len(text) {
		parts = append(parts, textPart{Text: text[last:]})
	}
	return parts
}

// handleDevMailPage shows captured mail for people, newest first.
func handleDevMailPage(box tacit.DevMailbox, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mails, err := box.DevMails(r.Context())
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		p := &devMailPage{frame: frame{page: "devmail", Title: "Development mailbox", Wide: true}}
		for _, m := range mails {
			p.Mails = append(p.Mails, devMail{
				To: m.To, Subject: m.Subject,
				SentAt: m.SentAt.UTC().Format("2006-01-02 15:04:05 UTC"),
				Parts:  splitLinks(m.Text),
			})
		}
		v.render(w, r, http.StatusOK, p)
	})
}

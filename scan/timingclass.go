package scan

import (
	"fmt"
	"slices"
	"strconv"
)

// answerClasses sorts a timing measurement's answers into classes, the
// way the channel comparison reduces them: status, the status after a
// redirect, and the masked body and page after it. A measurement times
// the account logic only while the answers stay in the class they
// started in: a lock, a rate limit or an error page that comes partway
// through answers before the logic runs, and timing it compares that
// page with itself.
type answerClasses struct {
	m *masker
	// start is each identifier's answer in the first round, as a view
	// (classed anew with the masker as it is now: what it has learnt
	// since, a CSRF token say, must not set later answers apart) and as
	// the response it came in.
	start map[string]view
	first map[string]*Response
	// outside marks, per identifier and round, an answer not in the
	// identifier's starting class.
	outside map[string][]bool
	prev    map[string]view
	// why, once the answers left their class, says from when and to
	// what; the measurement stopped there.
	why string
}

// learnFull is how many first rounds the masker learns from in full:
// the unknown identifiers of one round answer alike but for what varies
// by itself. Later rounds teach it generated tokens only, so a page
// that changes in words (a lock) is not masked away.
const learnFull = 2

func newAnswerClasses() *answerClasses {
	return &answerClasses{m: newMasker(), start: map[string]view{}, first: map[string]*Response{},
		outside: map[string][]bool{}, prev: map[string]view{}}
}

// add classifies the answers of more, one round of b's identities, the
// round numbered round of the measurement.
func (c *answerClasses) add(more *batch, round int) {
	views := more.views()
	unknown := more.ids.unknown()
	for r := range more.rounds {
		full := round+r < learnFull
		forRing(unknown, func(u, w string) {
			c.m.learnViews(views[u][r], views[w][r], !full)
		})
		for _, id := range more.ids.all() {
			v := views[id][r]
			if p, ok := c.prev[id]; ok {
				c.m.learnViews(p, v, true)
			}
			c.prev[id] = v
		}
		for _, id := range more.ids.all() {
			if round+r == 0 {
				c.start[id], c.first[id] = views[id][r], more.resp[id][r]
			}
			class := classOf(c.m.applyView(views[id][r]))
			c.outside[id] = append(c.outside[id], class != classOf(c.m.applyView(c.start[id])))
		}
	}
}

// moved reports whether, in round r, every known identifier's answer
// left its starting class, and whether every identifier's did.
func (c *answerClasses) moved(ids Identities, r int) (known, all bool) {
	known, all = true, true
	for _, id := range ids.all() {
		if !c.outside[id][r] {
			all = false
			if slices.Contains(ids.Known, id) {
				known = false
			}
		}
	}
	return known, all
}

// comparable reports whether both answers of a pair in round r are in
// their identifiers' starting classes (c nil: always).
func (c *answerClasses) comparable(x, y string, r int) bool {
	return c == nil || (!c.outside[x][r] && !c.outside[y][r])
}

func classOf(v view) string {
	return fmt.Sprintf("%d|%d|%q|%q", v.status, v.afterStatus, stripInvisible(v.text["body"]), stripInvisible(v.text["after:body"]))
}

// describe names the answer to id in round r of b for a reader: its
// status, and its title when that differs from the starting answer's.
func (c *answerClasses) describe(b *batch, id string, r int) string {
	a := b.resp[id][r]
	s := "status " + strconv.Itoa(a.Status)
	switch t := title(string(a.Body)); {
	case t != "" && (c.first[id] == nil || t != title(string(c.first[id].Body))):
		s += ", <title>" + t + "</title>"
	case t == "" && len(a.Body) > 0:
		body := []rune(string(a.Body))
		if len(body) > 80 {
			body = append(body[:80], '…')
		}
		s += ", " + strconv.Quote(string(body))
	default:
		s += ", a different page"
	}
	return s
}

package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// This file is the account's recent activity, on the account page and in
// the JSON API, and the owner's "this wasn't me".

// eventWords says what each event was, for the account page.
var eventWords = map[tacit.EventKind]string{
	tacit.EventSignedIn:                "Signed in",
	tacit.EventPasswordChanged:         "Password changed",
	tacit.EventPasswordReset:           "Password reset from a mailed link",
	tacit.EventEmailChanged:            "Email address changed",
	tacit.EventMFAEnabled:              "Two-step sign-in turned on",
	tacit.EventMFADisabled:             "Two-step sign-in turned off",
	tacit.EventRecoveryCodesRenewed:    "New recovery codes made",
	tacit.EventSessionsEnded:           "Devices signed out",
	tacit.EventNotMe:                   "Reported as not you: every device signed out, a reset link sent",
	tacit.EventDisabled:                "Account disabled by an administrator",
	tacit.EventEnabled:                 "Account enabled by an administrator",
	tacit.EventSessionsEndedByOperator: "Signed out everywhere by an administrator",
	tacit.EventResetSent:               "Password reset link sent by an administrator",
	tacit.EventAdminAPI:                "Looked up or acted on by an administrator",
}

// activityRow is one line of the account page's activity list.
type activityRow struct {
	What, When, Device, IP string
}

// activityRows words events for the account page.
func activityRows(events []tacit.Event) []activityRow {
	var rows []activityRow
	for _, e := range events {
		what := eventWords[e.Kind]
		if what == "" {
			what = string(e.Kind)
		}
		if e.Kind == tacit.EventSignedIn && e.Count > 0 {
			what += fmt.Sprintf(", after %d failed %s on your address", e.Count, pluralise(e.Count, "sign-in", "sign-ins"))
		}
		row := activityRow{What: what, When: e.At.UTC().Format(timeLayout), IP: e.IP}
		if e.UserAgent != "" {
			row.Device = deviceName(e.UserAgent)
		}
		rows = append(rows, row)
	}
	return rows
}

func pluralise(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// eventJSON is one event in GET /api/account/activity.
type eventJSON struct {
	Kind         tacit.EventKind `json:"kind"`
	At           time.Time       `json:"at"`
	IP           string          `json:"ip,omitempty"`
	UserAgent    string          `json:"user_agent,omitempty"`
	FailedBefore int             `json:"failed_before,omitempty"`
}

// handleAPIActivity lists the signed-in account's recent activity,
// newest first.
func handleAPIActivity(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		if err != nil || !ok {
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, err)
			return
		}
		list, err := svc.Activity(r.Context(), id)
		if err != nil {
			respond(w, r, s, tacit.Outcome{}, err)
			return
		}
		body := struct {
			Activity []eventJSON `json:"activity"`
		}{Activity: []eventJSON{}}
		for _, e := range list {
			body.Activity = append(body.Activity, eventJSON{Kind: e.Kind, At: stamp(e.At), IP: e.IP, UserAgent: e.UserAgent, FailedBefore: e.Count})
		}
		encode(w, http.StatusOK, body)
	})
}

// handleAPINotMe is "this wasn't me": every session ends, this one too,
// and a reset link is mailed.
func handleAPINotMe(svc *flow.Service, s sessions) http.Handler {
	return apiAccountFlow(svc, s, schema{}, func(ctx context.Context, id flow.Identity, _ fields, c flow.Client) (tacit.Outcome, error) {
		return svc.NotMe(ctx, id, c)
	}, clearOnDone(s))
}

// handleNotMeForm is "this wasn't me" on the account page.
func handleNotMeForm(svc *flow.Service, s sessions, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, _ url.Values, id flow.Identity) {
		o, err := svc.NotMe(r.Context(), id, clientOf(r))
		if err == nil {
			clearOnDone(s)(w, o)
		}
		v.answer(w, r, o, err, formAnswer{done: "/account/secured", policy: svc.Policy()})
	})
}

func handleAccountSecured(v *views) http.Handler {
	return staticPage(v, plain("account_secured", "Signed out everywhere"))
}

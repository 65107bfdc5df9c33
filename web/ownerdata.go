package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// This file is what an owner does with the account as a whole: delete it,
// and download what tacit keeps about it.

// handleAPIDeleteAccount deletes the signed-in account, given its
// password, and clears the session cookie: its session is gone with it.
func handleAPIDeleteAccount(svc *flow.Service, s sessions) http.Handler {
	return apiAccountFlow(svc, s, texts("password"), func(ctx context.Context, id flow.Identity, in fields, c flow.Client) (tacit.Outcome, error) {
		return svc.DeleteAccount(ctx, id, in.text("password"), c)
	}, clearOnDone(s))
}

// clearOnDone clears the session cookie once a flow that ended the
// session is Done.
func clearOnDone(s sessions) func(w http.ResponseWriter, o tacit.Outcome) {
	return func(w http.ResponseWriter, o tacit.Outcome) {
		if o.Kind == tacit.Done {
			s.ck.clearSession(w)
		}
	}
}

// handleAccountData answers with what tacit keeps about the signed-in
// account, as JSON: GET /api/account/data, and GET /account/data, where
// it is a file to download. Without a session the API answers 401 and
// the page sends the browser to sign in.
func handleAccountData(svc *flow.Service, s sessions, download bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		if err == nil && !ok && download {
			seeOther(w, r, "/login")
			return
		}
		if err != nil || !ok {
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, err)
			return
		}
		data, err := svc.ExportData(r.Context(), id)
		if err != nil {
			respond(w, r, s, tacit.Outcome{}, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if download {
			w.Header().Set("Content-Disposition", `attachment; filename="account-data.json"`)
		}
		encode(w, http.StatusOK, data)
	})
}

// handleDeleteAccountForm deletes the signed-in account from the account
// page, given its password, and shows that it is gone.
func handleDeleteAccountForm(svc *flow.Service, s sessions, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		o, err := svc.DeleteAccount(r.Context(), id, f.Get("password"), clientOf(r))
		if err == nil {
			clearOnDone(s)(w, o)
		}
		v.answer(w, r, o, err, v.accountAnswer(r, svc, id, "/account/deleted",
			func(p *accountPage) *form { return &p.DeleteForm }, nil, notYourPassword))
	})
}

func handleAccountDeleted(v *views) http.Handler {
	return staticPage(v, plain("account_deleted", "Account deleted"))
}

package web

import (
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/tacitauth/tacit/flow"
	"github.com/tacitauth/tacit/openid"
)

// addOpenIDRoutes mounts the OpenID Connect provider: its own endpoints,
// and the step that brings a browser from /authorize through tacit's
// sign-in pages and back (openid.Provider.Resume).
func addOpenIDRoutes(mux *http.ServeMux, p *openid.Provider, svc *flow.Service, s sessions, v *views) {
	h := p.Handler()
	for _, path := range openid.Paths() {
		switch path {
		case openid.PathEndSession, openid.PathCallback:
			continue
		case openid.PathToken, openid.PathIntrospect, openid.PathRevoke:
			mux.Handle(path, throttleClientAuth(h, svc, v))
			continue
		}
		mux.Handle(path, h)
	}
	mux.Handle(openid.PathCallback, handleCallback(p, h, svc, s, v))
	mux.Handle(openid.PathEndSession, handleEndSession(p, h, svc, s))
	mux.Handle("GET "+openid.PathResume, handleResume(p, svc, s, v))
	mux.Handle("GET "+openid.PathConsent, handleConsentForm(p, svc, s, v))
	mux.Handle("POST "+openid.PathConsent, handleConsent(p, svc, s, v))
	mux.Handle("POST /account/apps/revoke", handleRevokeApp(p, svc, v))
}

// throttleClientAuth holds back a client that keeps failing to
// authenticate at the token, introspection or revocation endpoint (a
// wrong client secret: the op package answers 401 invalid_client), per
// client id and per client address (flow.Service.AdmitClientAuth). A
// held-back request is answered 429 with Retry-After before its secret
// is checked, so guessing at that rate learns nothing; one that did not
// fail to authenticate takes its count back.
func throttleClientAuth(h http.Handler, svc *flow.Service, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			h.ServeHTTP(w, r)
			return
		}
		a, wait, err := svc.AdmitClientAuth(r.Context(), openid.TokenClientID(r), clientOf(r))
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		if wait > 0 {
			setRetryAfter(w, wait)
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Content-Type", "application/json")
			if r.Header.Get("Origin") != "" {
				// As the provider answers browser apps (without
				// credentials), so that they can read the wait.
				w.Header().Set("Access-Control-Allow-Origin", "*")
				w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
			}
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":"invalid_client","error_description":"too many failed client authentications; retry later"}`)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code() != http.StatusUnauthorized {
			if err := svc.ClientAuthPassed(r.Context(), a); err != nil {
				logError(v.log, r, "take back a client authentication's count", err)
			}
		}
	})
}

// appRows lists the account's remembered consents for the account page.
func appRows(r *http.Request, p *openid.Provider, accountID int64) ([]appRow, error) {
	list, err := p.Consents(r.Context(), accountID)
	if err != nil {
		return nil, err
	}
	rows := make([]appRow, 0, len(list))
	for _, c := range list {
		rows = append(rows, appRow{ClientID: c.ClientID, Name: p.ClientName(r.Context(), c.ClientID), Since: c.CreatedAt.UTC().Format(timeLayout)})
	}
	return rows, nil
}

// handleRevokeApp forgets the account's consent to a client and ends
// the client's tokens for it.
func handleRevokeApp(p *openid.Provider, svc *flow.Service, v *views) http.Handler {
	return accountPost(svc, v, func(w http.ResponseWriter, r *http.Request, f url.Values, id flow.Identity) {
		if err := p.RevokeConsent(r.Context(), id.Account.ID, f.Get("client")); err != nil {
			v.internalError(w, r, err)
			return
		}
		seeOther(w, r, "/account?done=app_revoked")
	})
}

// who is the browser's signed-in account for the provider, or nil.
func who(r *http.Request, svc *flow.Service, s sessions) (*openid.Who, error) {
	id, ok, err := identify(r, svc, s.ck)
	if err != nil || !ok {
		return nil, err
	}
	return &openid.Who{AccountID: id.Account.ID, SignedInAt: id.Session.CreatedAt}, nil
}

func handleResume(p *openid.Provider, svc *flow.Service, s sessions, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := who(r, svc, s)
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		step, err := p.Resume(r.Context(), r.URL.Query().Get("id"), u)
		goOn(w, r, v, step, err)
	})
}

// leavingPage takes the browser back to the client.
type leavingPage struct {
	frame
	URL string
}

// goOn sends the browser to the next step: a redirect within tacit, or a
// page that takes it back to the client (see openid.Step.Leave); err from
// the step that made it is answered instead (an unknown request as
// signInExpired).
func goOn(w http.ResponseWriter, r *http.Request, v *views, step openid.Step, err error) {
	switch {
	case errors.Is(err, openid.ErrUnknownRequest):
		signInExpired(w, r, v)
		return
	case err != nil:
		v.internalError(w, r, err)
		return
	}
	if !step.Leave {
		http.Redirect(w, r, step.URL, http.StatusFound)
		return
	}
	v.render(w, r, http.StatusOK, &leavingPage{frame: frame{page: "leaving", Title: "Signing you in", Refresh: step.URL}, URL: step.URL})
}

// signInExpired answers a request of the provider's that is unknown,
// expired or used already.
func signInExpired(w http.ResponseWriter, r *http.Request, v *views) {
	v.errorPage(w, r, http.StatusBadRequest, "Sign-in expired",
		"This sign-in took too long or was already used. Go back to the application and sign in again.")
}

// handleCallback hands out the code of a completed request, only to the
// browser signed in as the account that completed it
// (openid.Provider.CallbackAllowed).
func handleCallback(p *openid.Provider, h http.Handler, svc *flow.Service, s sessions, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := who(r, svc, s)
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		if !p.CallbackAllowed(r.Context(), r.URL.Query().Get("id"), u) {
			signInExpired(w, r, v)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// handleEndSession is RP-initiated logout: the provider ends the
// client's grants and sends the browser back to the client; with a valid
// id_token_hint for the signed-in account it also ends the browser's
// tacit session.
func handleEndSession(p *openid.Provider, h http.Handler, svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := who(r, svc, s)
		if err == nil && p.LogoutConfirmed(r, u) {
			if err := s.end(w, r); err != nil {
				logError(s.log, r, "end session at logout", err)
			}
		}
		h.ServeHTTP(w, r)
	})
}

// consentPage asks whether a client that is not first-party may have
// what it asks for.
type consentPage struct {
	frame
	ID     string
	Client string
	Scopes []string
}

// scopeWords says what each scope gives the client.
var scopeWords = map[string]string{
	"openid":         "who you are (an id that is the same each time)",
	"email":          "your email address",
	"profile":        "your profile",
	"offline_access": "access while you are away (it stays signed in)",
}

func handleConsentForm(p *openid.Provider, svc *flow.Service, s sessions, v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := who(r, svc, s)
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		id := r.URL.Query().Get("id")
		c, err := p.ConsentFor(r.Context(), id, u)
		if errors.Is(err, openid.ErrUnknownRequest) {
			signInExpired(w, r, v)
			return
		}
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		page := &consentPage{frame: frame{page: "consent", Title: "Allow " + c.Client + "?"}, ID: id, Client: c.Client}
		for _, sc := range c.Scopes {
			if words, ok := scopeWords[sc]; ok {
				page.Scopes = append(page.Scopes, words)
			}
		}
		v.render(w, r, http.StatusOK, page)
	})
}

func handleConsent(p *openid.Provider, svc *flow.Service, s sessions, v *views) http.Handler {
	return formPost(v, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		u, err := who(r, svc, s)
		if err != nil {
			v.internalError(w, r, err)
			return
		}
		step, err := p.Consent(r.Context(), f.Get("id"), u, f.Get("decision") == "allow")
		goOn(w, r, v, step, err)
	})
}

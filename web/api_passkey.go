package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// This file is the JSON API of passkeys: signing in with one, no address
// typed; a passkey as the second step after the password; and adding,
// listing, renaming and removing the signed-in account's passkeys.

// passkeysOff answers a passkey request on a server whose base URL has
// no host name (flow.ErrPasskeysOff): the same for everyone.
func passkeysOff(w http.ResponseWriter) {
	encodeError(w, http.StatusNotFound, "passkeys_off", "Passkeys need a base URL with a host name.")
}

// ceremony answers a started passkey ceremony: its options, and its
// challenge in the passkey cookie.
func ceremony(w http.ResponseWriter, ck cookies, cer flow.Ceremony) {
	ck.setPasskey(w, cer.Token)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(cer.Options)
}

// noBody refuses a request that should have no body but has one.
func noBody(w http.ResponseWriter, r *http.Request) bool {
	if r.ContentLength > 0 {
		encodeError(w, http.StatusBadRequest, "malformed_request", "This request takes no body.")
		return false
	}
	return true
}

// handleAPIPasskeyLoginOptions starts a sign-in with a passkey. It reads
// no body and names nobody: every caller gets fresh options with an
// empty allowCredentials.
func handleAPIPasskeyLoginOptions(svc *flow.Service, s sessions) http.Handler {
	return ceremonyOptions(s, func(r *http.Request) (tacit.Outcome, flow.Ceremony, error) {
		return svc.PasskeyLoginOptions(r.Context(), clientOf(r))
	})
}

// ceremonyOptions answers a POST with no body that begins a passkey
// ceremony (begin): the options, with the ceremony's cookie, or the
// outcome that stopped it.
func ceremonyOptions(s sessions, begin func(*http.Request) (tacit.Outcome, flow.Ceremony, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !noBody(w, r) {
			return
		}
		o, cer, err := begin(r)
		if errors.Is(err, flow.ErrPasskeysOff) {
			passkeysOff(w)
			return
		}
		if err != nil || o.Kind != tacit.Done {
			respond(w, r, s, o, err)
			return
		}
		ceremony(w, s.ck, cer)
	})
}

// handleAPIPasskeyLogin finishes it: {credential} (the PublicKeyCredential
// as JSON) and the passkey cookie; answered as /api/login.
func handleAPIPasskeyLogin(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode(r, schema{"credential": object})
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, err := svc.PasskeyLogin(r.Context(), s.ck.takePasskey(w, r), in.object("credential"), clientOf(r))
		if errors.Is(err, flow.ErrPasskeysOff) {
			passkeysOff(w)
			return
		}
		respond(w, r, s, o, err)
	})
}

// handleAPIPasskeySecondStepOptions starts the second step of a sign-in
// with a passkey: the second-step cookie of /api/login's mfa_required is
// needed, and only with it are the account's credential ids sent.
func handleAPIPasskeySecondStepOptions(svc *flow.Service, s sessions) http.Handler {
	return ceremonyOptions(s, func(r *http.Request) (tacit.Outcome, flow.Ceremony, error) {
		return svc.PasskeySecondStep(r.Context(), s.ck.mfa(r), clientOf(r))
	})
}

// handleAPIPasskeySecondStep finishes it: {credential}, answered as
// /api/login/mfa.
func handleAPIPasskeySecondStep(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode(r, schema{"credential": object})
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, err := svc.LoginMFAPasskey(r.Context(), s.ck.mfa(r), s.ck.takePasskey(w, r), in.object("credential"), clientOf(r))
		if errors.Is(err, flow.ErrPasskeysOff) {
			passkeysOff(w)
			return
		}
		respond(w, r, s, o, err)
	})
}

// passkeyJSON is one passkey in GET /api/passkeys.
type passkeyJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"` // null if never used
	Synced     bool       `json:"synced"`
}

// signedInAPI runs fn for a signed-in request, and answers 401 otherwise.
func signedInAPI(svc *flow.Service, s sessions, fn func(w http.ResponseWriter, r *http.Request, id flow.Identity)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		if err != nil || !ok {
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, err)
			return
		}
		fn(w, r, id)
	})
}

func handleAPIPasskeys(svc *flow.Service, s sessions) http.Handler {
	return signedInAPI(svc, s, func(w http.ResponseWriter, r *http.Request, id flow.Identity) {
		list, err := svc.Passkeys(r.Context(), id)
		if err != nil {
			respond(w, r, s, tacit.Outcome{}, err)
			return
		}
		out := struct {
			Passkeys []passkeyJSON `json:"passkeys"`
		}{Passkeys: []passkeyJSON{}}
		for _, p := range list {
			j := passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt.UTC(), Synced: p.Synced}
			if !p.LastUsedAt.IsZero() {
				t := p.LastUsedAt.UTC()
				j.LastUsedAt = &t
			}
			out.Passkeys = append(out.Passkeys, j)
		}
		encode(w, http.StatusOK, out)
	})
}

// handleAPIPasskeyOptions starts adding a passkey: {password}, which a
// session signed in within flow.PasskeyFreshSignIn may leave empty.
func handleAPIPasskeyOptions(svc *flow.Service, s sessions) http.Handler {
	return signedInAPI(svc, s, func(w http.ResponseWriter, r *http.Request, id flow.Identity) {
		in, err := decode(r, texts("password"))
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, cer, err := svc.BeginPasskey(r.Context(), id, in.text("password"), clientOf(r))
		switch {
		case errors.Is(err, flow.ErrPasskeysOff):
			passkeysOff(w)
		case err != nil || o.Kind != tacit.Done:
			respond(w, r, s, o, err)
		default:
			ceremony(w, s.ck, cer)
		}
	})
}

// handleAPIPasskeyAdd finishes it: {name, credential}.
func handleAPIPasskeyAdd(svc *flow.Service, s sessions) http.Handler {
	return signedInAPI(svc, s, func(w http.ResponseWriter, r *http.Request, id flow.Identity) {
		in, err := decode(r, schema{"name": text, "credential": object})
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, err := svc.AddPasskey(r.Context(), id, s.ck.takePasskey(w, r), in.text("name"), in.object("credential"))
		if errors.Is(err, flow.ErrPasskeysOff) {
			passkeysOff(w)
			return
		}
		respond(w, r, s, o, err)
	})
}

// passkeyID reads the {id} of a passkey's path.
func passkeyID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n <= 0 {
		encodeError(w, http.StatusNotFound, "not_found", "No such passkey.")
		return 0, false
	}
	return n, true
}

// passkeyAnswer answers a change to one passkey; ErrNoPasskey is 404.
func passkeyAnswer(w http.ResponseWriter, r *http.Request, s sessions, o tacit.Outcome, err error) {
	if errors.Is(err, flow.ErrNoPasskey) {
		encodeError(w, http.StatusNotFound, "not_found", "No such passkey.")
		return
	}
	respond(w, r, s, o, err)
}

func handleAPIPasskeyRename(svc *flow.Service, s sessions) http.Handler {
	return signedInAPI(svc, s, func(w http.ResponseWriter, r *http.Request, id flow.Identity) {
		pk, ok := passkeyID(w, r)
		if !ok {
			return
		}
		in, err := decode(r, texts("name"))
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, err := svc.RenamePasskey(r.Context(), id, pk, in.text("name"))
		passkeyAnswer(w, r, s, o, err)
	})
}

func handleAPIPasskeyRemove(svc *flow.Service, s sessions) http.Handler {
	return signedInAPI(svc, s, func(w http.ResponseWriter, r *http.Request, id flow.Identity) {
		pk, ok := passkeyID(w, r)
		if !ok {
			return
		}
		password, err := optionalPassword(r)
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, err := svc.RemovePasskey(r.Context(), id, pk, password, clientOf(r))
		passkeyAnswer(w, r, s, o, err)
	})
}

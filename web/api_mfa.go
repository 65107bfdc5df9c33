package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// This file is the JSON API of multi-factor sign-in: the second step of a
// sign-in, and turning TOTP on and off for the signed-in account.

// handleAPILoginMFA finishes a sign-in that /api/login answered with
// mfa_required: the challenge comes from the cookie that answer set.
func handleAPILoginMFA(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode(r, texts("code"))
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, err := svc.LoginMFA(r.Context(), s.ck.mfa(r), in.text("code"), clientOf(r))
		respond(w, r, s, o, err) // which clears the spent challenge's cookie
	})
}

// totpSetupBody is the answer of POST /api/mfa/totp/setup.
type totpSetupBody struct {
	Secret string `json:"secret"`
	URI    string `json:"uri"`
}

// recoveryCodesBody is the answer of POST /api/mfa/totp/enable: the codes
// are shown this once.
type recoveryCodesBody struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// mfaEnabledError answers a set-up or enable while MFA is on already.
func mfaEnabledError(w http.ResponseWriter) {
	encodeError(w, http.StatusConflict, "mfa_enabled", "Two-step sign-in is on already; turn it off first.")
}

// handleAPITOTPSetup starts a TOTP set-up. It reads no body.
func handleAPITOTPSetup(svc *flow.Service, s sessions, issuer string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		if err != nil || !ok {
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, err)
			return
		}
		setup, err := svc.SetupTOTP(r.Context(), id, issuer)
		if errors.Is(err, flow.ErrMFAEnabled) {
			mfaEnabledError(w)
			return
		}
		if err != nil {
			respond(w, r, s, tacit.Outcome{}, err)
			return
		}
		encode(w, http.StatusOK, totpSetupBody{Secret: setup.Secret, URI: setup.URI})
	})
}

func handleAPITOTPEnable(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		if err != nil || !ok {
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, err)
			return
		}
		in, err := decode(r, texts("code", "password"))
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, codes, err := svc.EnableTOTP(r.Context(), id, in.text("code"), in.text("password"), clientOf(r))
		switch {
		case errors.Is(err, flow.ErrMFAEnabled):
			mfaEnabledError(w)
		case err == nil && o.Kind == tacit.Done:
			encode(w, http.StatusOK, recoveryCodesBody{RecoveryCodes: codes})
		default:
			respond(w, r, s, o, err)
		}
	})
}

func handleAPITOTPDisable(svc *flow.Service, s sessions) http.Handler {
	return apiAccountFlow(svc, s, texts("password"), func(ctx context.Context, id flow.Identity, in fields, c flow.Client) (tacit.Outcome, error) {
		return svc.DisableTOTP(ctx, id, in.text("password"), c)
	})
}

// handleAPIRenewRecoveryCodes makes new recovery codes, with the password:
// 200 {recovery_codes}, shown this once; the old codes stop working. 409
// when MFA is off.
func handleAPIRenewRecoveryCodes(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok, err := identify(r, svc, s.ck)
		if err != nil || !ok {
			respond(w, r, s, tacit.Outcome{Kind: tacit.Unauthenticated}, err)
			return
		}
		in, err := decode(r, texts("password"))
		if err != nil {
			writeRequestError(w, r, s.log, err)
			return
		}
		o, codes, err := svc.RenewRecoveryCodes(r.Context(), id, in.text("password"), clientOf(r))
		switch {
		case errors.Is(err, flow.ErrMFAOff):
			encodeError(w, http.StatusConflict, "mfa_off", "Two-step sign-in is off: there are no recovery codes to renew.")
		case err == nil && o.Kind == tacit.Done:
			encode(w, http.StatusOK, recoveryCodesBody{RecoveryCodes: codes})
		default:
			respond(w, r, s, o, err)
		}
	})
}

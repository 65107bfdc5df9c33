package web

import (
	"net/http"

	"github.com/tacitauth/tacit"
	"github.com/tacitauth/tacit/flow"
)

// checkRoutes are the forward-auth endpoints, for reverse proxies; any
// method (see handleAuthCheck). A proxy asks on every request it guards,
// so NewServer serves them ahead of the middleware the pages and API need
// (serveChecks).
func checkRoutes(svc *flow.Service, cfg Config, ck cookies, fa forwardAuth) map[string]http.Handler {
	s := sessions{svc: svc, ck: ck, log: cfg.Logger}
	return map[string]http.Handler{
		"/auth/check":   handleAuthCheck(svc, s, fa, false),
		"/auth/request": handleAuthCheck(svc, s, fa, true),
	}
}

// addRoutes is the map of the whole HTTP surface (docs/DESIGN.md §7).
func addRoutes(mux *http.ServeMux, svc *flow.Service, cfg Config, ck cookies, v *views) {
	s := sessions{svc: svc, ck: ck, log: cfg.Logger}

	// JSON API.
	mux.Handle("POST /api/register", handleAPIRegister(svc, s))
	mux.Handle("POST /api/register/complete", handleAPIRegisterComplete(svc, s))
	mux.Handle("POST /api/verify", handleAPIVerify(svc, s))
	mux.Handle("POST /api/verify/resend", handleAPIVerifyResend(svc, s))
	mux.Handle("POST /api/login", handleAPILogin(svc, s))
	mux.Handle("POST /api/login/mfa", handleAPILoginMFA(svc, s))
	mux.Handle("POST /api/logout", handleAPILogout(s))
	mux.Handle("GET /api/session", handleAPISession(svc, s))
	mux.Handle("POST /api/password/forgot", handleAPIForgot(svc, s))
	mux.Handle("POST /api/password/reset", handleAPIReset(svc, s))
	mux.Handle("POST /api/password/change", handleAPIChangePassword(svc, s))
	mux.Handle("POST /api/email/change", handleAPIChangeEmail(svc, s))
	mux.Handle("POST /api/email/confirm", handleAPIConfirmEmail(svc, s))
	mux.Handle("GET /api/sessions", handleAPISessions(svc, s))
	mux.Handle("DELETE /api/sessions", handleAPIEndOtherSessions(svc, s))
	mux.Handle("DELETE /api/sessions/{id}", handleAPIEndSession(svc, s))
	mux.Handle("POST /api/mfa/totp/setup", handleAPITOTPSetup(svc, s, cfg.Product))
	mux.Handle("POST /api/mfa/totp/enable", handleAPITOTPEnable(svc, s))
	mux.Handle("POST /api/mfa/totp/disable", handleAPITOTPDisable(svc, s))
	mux.Handle("POST /api/mfa/recovery-codes", handleAPIRenewRecoveryCodes(svc, s))
	mux.Handle("POST /api/account/delete", handleAPIDeleteAccount(svc, s))
	mux.Handle("GET /api/account/data", handleAccountData(svc, s, false))
	mux.Handle("GET /api/account/activity", handleAPIActivity(svc, s))
	mux.Handle("POST /api/account/not-me", handleAPINotMe(svc, s))
	mux.Handle("GET /api/pow/challenge", handleProofChallenge(svc, s))
	mux.Handle("POST /api/passkey/login/options", handleAPIPasskeyLoginOptions(svc, s))
	mux.Handle("POST /api/passkey/login", handleAPIPasskeyLogin(svc, s))
	mux.Handle("POST /api/login/mfa/passkey/options", handleAPIPasskeySecondStepOptions(svc, s))
	mux.Handle("POST /api/login/mfa/passkey", handleAPIPasskeySecondStep(svc, s))
	mux.Handle("GET /api/passkeys", handleAPIPasskeys(svc, s))
	mux.Handle("POST /api/passkeys/options", handleAPIPasskeyOptions(svc, s))
	mux.Handle("POST /api/passkeys", handleAPIPasskeyAdd(svc, s))
	mux.Handle("PATCH /api/passkeys/{id}", handleAPIPasskeyRename(svc, s))
	mux.Handle("DELETE /api/passkeys/{id}", handleAPIPasskeyRemove(svc, s))

	// Health checks for load balancers and orchestrators.
	mux.Handle("GET /healthz", handleHealth())
	mux.Handle("GET /readyz", handleReady(cfg.Ready, cfg.storage, cfg.Logger))

	// Forward auth for reverse proxies: checkRoutes, below, served ahead
	// of the middleware.

	// HTML pages.
	mux.Handle("GET /{$}", handleHome(svc, v))
	mux.Handle("GET /register", handleRegisterForm(svc, v))
	mux.Handle("POST /register", handleRegister(svc, v))
	mux.Handle("GET /register/sent", handleSent(v))
	mux.Handle("GET /register/complete", handleCompleteForm(svc, v))
	mux.Handle("POST /register/complete", handleComplete(svc, s, v))
	mux.Handle("GET /verify", handleVerifyForm(svc, v))
	mux.Handle("POST /verify", handleVerify(svc, s, v))
	mux.Handle("GET /verify/resend", handleResendForm(svc, v))
	mux.Handle("POST /verify/resend", handleResend(svc, v))
	mux.Handle("GET /verify/sent", handleSent(v))
	mux.Handle("GET /login", handleLoginForm(svc, v))
	mux.Handle("POST /login", handleLogin(svc, s, v))
	mux.Handle("GET /login/mfa", handleLoginMFAForm(v))
	mux.Handle("POST /login/mfa", handleLoginMFA(svc, s, v))
	mux.Handle("GET /logout", handleLogoutForm(v))
	mux.Handle("POST /logout", handleLogout(s, v))
	mux.Handle("GET /password/forgot", handleForgotForm(svc, v))
	mux.Handle("POST /password/forgot", handleForgot(svc, v))
	mux.Handle("GET /password/forgot/sent", handleForgotSent(v))
	mux.Handle("GET /password/reset", handleResetForm(svc, v))
	mux.Handle("POST /password/reset", handleReset(svc, v))
	mux.Handle("GET /password/reset/done", handleResetDone(v))
	mux.Handle("GET /email/confirm", handleEmailConfirmForm(svc, v))
	mux.Handle("POST /email/confirm", handleEmailConfirm(svc, v))
	mux.Handle("GET /email/confirm/done", handleEmailConfirmDone(v))
	mux.Handle("GET /account", handleAccount(svc, cfg.OpenID, v))
	mux.Handle("POST /account/password", handleChangePassword(svc, v))
	mux.Handle("POST /account/email", handleChangeEmail(svc, v))
	mux.Handle("POST /account/sessions/end", handleEndSessionForm(svc, v))
	mux.Handle("POST /account/sessions/end-others", handleEndOtherSessionsForm(svc, v))
	mux.Handle("POST /account/mfa/setup", handleTOTPSetupForm(svc, v))
	mux.Handle("GET /account/mfa/qr.png", handleTOTPQR(svc, v))
	mux.Handle("POST /account/mfa/enable", handleTOTPEnableForm(svc, v))
	mux.Handle("POST /account/mfa/disable", handleTOTPDisableForm(svc, v))
	mux.Handle("POST /account/mfa/recovery-codes", handleRenewRecoveryCodesForm(svc, v))
	mux.Handle("GET /account/data", handleAccountData(svc, s, true))
	mux.Handle("POST /account/delete", handleDeleteAccountForm(svc, s, v))
	mux.Handle("GET /account/deleted", handleAccountDeleted(v))
	mux.Handle("POST /account/not-me", handleNotMeForm(svc, s, v))
	mux.Handle("GET /account/secured", handleAccountSecured(v))
	mux.Handle("POST /account/passkeys/rename", handlePasskeyRenameForm(svc, v))
	mux.Handle("POST /account/passkeys/remove", handlePasskeyRemoveForm(svc, v))
	mux.Handle("GET /static/style.css", handleStyle())
	mux.Handle("GET /static/tacit.js", handleScript())
	mux.Handle("GET /static/pow-worker.js", handleProofWorker())

	if cfg.Metrics != nil && cfg.MetricsRoute {
		mux.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	// The OpenID Connect provider, when configured.
	if cfg.OpenID != nil {
		addOpenIDRoutes(mux, cfg.OpenID, svc, s, v)
	}

	// The operators' administration API, only when asked for: it says
	// whether an address has an account. On an address of its own it is
	// NewAdminServer's, and absent here.
	if cfg.AdminAPI {
		addAdminRoutes(mux, svc.Operator(), cfg)
	}

	// The dev mailbox exists only with the dev mail driver.
	if cfg.DevMailbox != nil {
		mux.Handle("GET /_dev/mailbox", handleDevMailbox(cfg.DevMailbox, s))
		mux.Handle("GET /_dev/mail", handleDevMailPage(cfg.DevMailbox, v))
	}

	mux.Handle("/", handleNotFound(mux, v))
}

// addAdminRoutes is the operators' administration API (admin.go), on the
// main handler (Config.AdminAPI) or alone (NewAdminServer). Every route
// needs a bearer token; read is enough for list and show, the rest needs
// write.
func addAdminRoutes(mux *http.ServeMux, op *flow.Operator, cfg Config) {
	a := admin{op: op, log: cfg.Logger}
	mux.Handle("GET /admin/api/accounts", a.handle(adminOp{"list", tacit.AdminRead, a.list}))
	mux.Handle("POST /admin/api/accounts", a.handle(adminOp{"create", tacit.AdminWrite, a.create}))
	mux.Handle("GET /admin/api/accounts/{email}", a.handle(adminOp{"show", tacit.AdminRead, a.show}))
	mux.Handle("DELETE /admin/api/accounts/{email}", a.handle(adminOp{"delete", tacit.AdminWrite, a.delete}))
	mux.Handle("POST /admin/api/accounts/{email}/disable", a.handle(adminOp{"disable", tacit.AdminWrite, a.setDisabled(true)}))
	mux.Handle("POST /admin/api/accounts/{email}/enable", a.handle(adminOp{"enable", tacit.AdminWrite, a.setDisabled(false)}))
	mux.Handle("POST /admin/api/accounts/{email}/end-sessions", a.handle(adminOp{"end-sessions", tacit.AdminWrite, a.endSessions}))
	mux.Handle("POST /admin/api/accounts/{email}/send-reset", a.handle(adminOp{"send-reset", tacit.AdminWrite, a.sendReset}))
}

package openid

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/tacitauth/tacit"
)

// authRequest is a stored authorization request as the op package sees
// it (op.AuthRequest).
type authRequest struct {
	stored  tacit.AuthRequest
	req     oidc.AuthRequest
	subject string // set once a sign-in completed the request
}

func (a *authRequest) GetID() string         { return a.stored.ID }
func (a *authRequest) GetACR() string        { return "" }
func (a *authRequest) GetAMR() []string      { return nil }
func (a *authRequest) GetAudience() []string { return []string{a.req.ClientID} }
func (a *authRequest) GetAuthTime() time.Time {
	return a.stored.AuthTime
}
func (a *authRequest) GetClientID() string { return a.req.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                   { return a.req.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.req.Scopes }
func (a *authRequest) GetState() string                   { return a.req.State }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.stored.AccountID != 0 }

// refreshRequest is a grant as the op package sees it when a refresh
// token is presented (op.RefreshTokenRequest).
type refreshRequest struct {
	grant   tacit.Grant
	subject string
	token   string // the refresh token presented
}

func (r *refreshRequest) GetAMR() []string                 { return nil }
func (r *refreshRequest) GetAudience() []string            { return []string{r.grant.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.grant.AuthTime }
func (r *refreshRequest) GetClientID() string              { return r.grant.ClientID }
func (r *refreshRequest) GetScopes() []string              { return r.grant.Scopes }
func (r *refreshRequest) GetSubject() string               { return r.subject }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.grant.Scopes = scopes }

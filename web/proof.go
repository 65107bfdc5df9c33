package web

import (
	"encoding/json"
	"net/http"

	"github.com/tacitauth/tacit/flow"
)

// proofField is the request member, JSON or form, that carries the
// solution of a proof-of-work challenge, under ALTCHA's name for it.
const proofField = "altcha"

// proofMessage is what a form says when it was sent without the browser
// check it needed (no script, or sent before the check finished).
const proofMessage = "Your browser has to finish a quick check before this form can be sent. Wait for \u201cBrowser check done\u201d below, then send the form again."

// withProof returns sc with the proof field added.
func withProof(sc schema) schema {
	out := schema{proofField: text}
	for k, v := range sc {
		out[k] = v
	}
	return out
}

// proofWidget is what a form needs to have its check done by the page's
// script: the challenge, as JSON for a data attribute, and the worker's
// URL.
type proofWidget struct {
	Challenge string
	Worker    string
}

// attachProof puts a fresh challenge on f when requests of gate from
// this client need one. It asks flow, which looks at the client only.
func attachProof(r *http.Request, svc *flow.Service, g flow.ProofGate, f *form) error {
	need, err := svc.ProofNeeded(r.Context(), g, clientOf(r))
	if err != nil || !need {
		return err
	}
	c, err := svc.ProofChallenge()
	if err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	f.Proof = &proofWidget{Challenge: string(b), Worker: "/static/pow-worker.js?v=" + workerVersion}
	return nil
}

// handleProofChallenge answers GET /api/pow/challenge with a new
// challenge, whatever the mode, for API clients to solve before a
// request that was answered 428. It is not cached: each is used once.
func handleProofChallenge(svc *flow.Service, s sessions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := svc.ProofChallenge()
		if err != nil {
			logError(s.log, r, "proof challenge", err)
			encodeError(w, http.StatusInternalServerError, "internal_error", "")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, c)
	})
}

// handleProofWorker serves the proof-of-work worker script, cached as
// the main script is.
func handleProofWorker() http.Handler {
	return staticFile("text/javascript; charset=utf-8", workerJS)
}

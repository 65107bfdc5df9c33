package lab

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
)

// passkeyTarget scans POST /webauthn/options with {"email": …}.
const passkeyTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: passkey
    kind: webauthn_options
    path: /webauthn/options
    json: {email: "{{identifier}}"}
`

// passkeyUsernameTarget sends the identifier as {"username": …}.
const passkeyUsernameTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - name: passkey
    kind: webauthn_options
    path: /webauthn/options
    json: {username: "{{identifier}}"}
`

// passkeyNoIdentifierTarget asks for options with no body: a sign-in with
// discoverable credentials.
const passkeyNoIdentifierTarget = `base_url: BASE_URL
known: [alice@lab.example]
endpoints:
  - {name: passkey, kind: webauthn_options, method: POST, path: /webauthn/options}
`

// PasskeyFixtures returns the fixtures of passkey sign-in options
// (endpoint kind webauthn_options): leaky ones first, whose Want is
// USER_ENUM_PASSKEY, then clean ones, then those a scan cannot compare
// (Verdict inconclusive).
func PasskeyFixtures() []Fixture {
	return []Fixture{
		{Name: "passkey-empty", Want: "USER_ENUM_PASSKEY", About: "allowCredentials lists the account's two passkeys, and is empty for an unknown address (web-auth webauthn-framework#215)",
			New: passkeyServer(func(id string) []cred {
				if exists(id) {
					return aliceCreds
				}
				return []cred{}
			}, true), target: passkeyTarget},
		{Name: "passkey-missing", Want: "USER_ENUM_PASSKEY", About: "allowCredentials is left out of the options for an unknown address",
			New: passkeyServer(func(id string) []cred {
				if exists(id) {
					return aliceCreds
				}
				return nil
			}, false), target: passkeyUsernameTarget},
		{Name: "passkey-length", Want: "USER_ENUM_PASSKEY", About: "imaginary ids from an HMAC of the address, stable and one per address like the real one, but 16 bytes long where real ids are 64",
			New: passkeyServer(func(id string) []cred {
				if exists(id) {
					return aliceKey
				}
				return []cred{{id: derive("length", id, 0, 16)}}
			}, false), target: passkeyTarget},
		{Name: "passkey-random", Want: "USER_ENUM_PASSKEY", About: "imaginary ids of the real length, drawn anew on every request, where real ids stay the same",
			New: passkeyServer(func(id string) []cred {
				if exists(id) {
					return aliceKey
				}
				return []cred{{id: []byte(token(32))}} // 64 random bytes
			}, false), target: passkeyTarget},
		{Name: "passkey-constant", Want: "USER_ENUM_PASSKEY", About: "one fixed imaginary id, of the real length, for every unknown address",
			New: passkeyServer(func(id string) []cred {
				if exists(id) {
					return aliceKey
				}
				return []cred{{id: fixedBytes(0xf0, 64)}}
			}, false), target: passkeyTarget},
		{Name: "passkey-transports", Want: "USER_ENUM_PASSKEY", About: "imaginary ids from an HMAC of the address, of the real count and lengths, but listed without the transports real ones have",
			New: passkeyServer(func(id string) []cred {
				if exists(id) {
					return aliceCreds
				}
				return []cred{{id: derive("t", id, 0, 32), bare: true}, {id: derive("t", id, 1, 64), bare: true}}
			}, false), target: passkeyTarget},
		{Name: "passkey-error", Want: "USER_ENUM_PASSKEY", About: "an unknown address gets 404 \"no credentials\" instead of options",
			New: func() http.Handler {
				ok := passkeyServer(func(string) []cred { return aliceCreds }, true)()
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					id, _ := passkeyIdentifier(r)
					if !exists(id) {
						writeJSON(w, http.StatusNotFound, map[string]string{"error": "no credentials"})
						return
					}
					ok.ServeHTTP(w, r)
				})
			}, target: passkeyTarget},
		{Name: "passkey-hmac", About: "imaginary ids from an HMAC of the normalised address: one or two per address, 32 or 64 bytes long, as real accounts have; stable per address, different across addresses (WebAuthn §14.6.3)",
			New: passkeyServer(func(id string) []cred {
				if exists(id) {
					return aliceCreds
				}
				n := 1 + int(derive("count", id, 0, 1)[0]%2)
				var out []cred
				for i := range n {
					size := 32
					if derive("size", id, i, 1)[0]%2 == 1 {
						size = 64
					}
					out = append(out, cred{id: derive("id", id, i, size)})
				}
				return out
			}, true), target: passkeyTarget},
		{Name: "passkey-discoverable", About: "discoverable credentials only: allowCredentials is empty for everyone, whatever the address",
			New: passkeyServer(func(string) []cred { return []cred{} }, true), target: passkeyUsernameTarget},
		{Name: "passkey-discoverable-nobody", About: "discoverable credentials only, asked for with no identifier at all (as tacit does)",
			New: passkeyServer(func(string) []cred { return []cred{} }, true), target: passkeyNoIdentifierTarget},
		{Name: "passkey-errors", Verdict: "inconclusive", About: "every request fails with 500: nothing can be compared",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal"})
			}), target: passkeyTarget},
		{Name: "passkey-throttled", Verdict: "inconclusive", About: "every request is throttled for an hour: nothing can be compared",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "slow down"})
			}), target: passkeyTarget},
		{Name: "passkey-not-options", Verdict: "inconclusive", About: "every request is answered 200 with something that is no WebAuthn options (a wrong path in the target)",
			New: handle(func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
			}), target: passkeyTarget},
	}
}

// cred is a credential as the options list it: base64url of id, its
// type, and its transports unless bare.
type cred struct {
	id   []byte
	bare bool
}

// aliceCreds are the known account's passkeys: a platform one (32 bytes)
// and a security key (64 bytes); aliceKey is the security key alone.
var (
	aliceCreds = []cred{{id: fixedBytes(0xa1, 32)}, {id: fixedBytes(0xa2, 64)}}
	aliceKey   = aliceCreds[1:]
)

func fixedBytes(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b ^ byte(i)
	}
	return out
}

// derive is size bytes of an HMAC of the normalised identifier, purpose
// and index i, under the lab's fixed key.
func derive(purpose, identifier string, i, size int) []byte {
	var out []byte
	for block := uint32(0); len(out) < size; block++ {
		m := hmac.New(sha256.New, []byte("lab passkey key"))
		m.Write([]byte(purpose + "\x00" + strings.ToLower(strings.TrimSpace(identifier)) + "\x00"))
		m.Write(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(i)), block))
		out = m.Sum(out)
	}
	return out[:size]
}

// passkeyIdentifier reads {"email": …} or {"username": …}.
func passkeyIdentifier(r *http.Request) (string, bool) {
	var in struct{ Email, Username string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return "", false
	}
	if in.Email != "" {
		return in.Email, true
	}
	return in.Username, in.Username != ""
}

// passkeyServer answers POST /webauthn/options with request options whose
// allowCredentials creds gives for the identifier (nil: no
// allowCredentials member), wrapped in {"publicKey": …} if wrap is set.
// Each answer has a fresh challenge, like every real server's.
func passkeyServer(creds func(identifier string) []cred, wrap bool) func() http.Handler {
	return func() http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /webauthn/options", func(w http.ResponseWriter, r *http.Request) {
			id, _ := passkeyIdentifier(r)
			opts := map[string]any{
				"challenge":        base64.RawURLEncoding.EncodeToString([]byte(token(32))),
				"timeout":          60000,
				"rpId":             "lab.example",
				"userVerification": "preferred",
			}
			if list := creds(id); list != nil {
				allow := []map[string]any{}
				for _, c := range list {
					d := map[string]any{"type": "public-key", "id": base64.RawURLEncoding.EncodeToString(c.id), "transports": []string{"usb", "internal"}}
					if c.bare {
						delete(d, "transports")
					}
					allow = append(allow, d)
				}
				opts["allowCredentials"] = allow
			}
			var body any = opts
			if wrap {
				body = map[string]any{"publicKey": opts}
			}
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, body)
		})
		return mux
	}
}

// Package passkeytest is a software WebAuthn authenticator for tests: it
// answers the options tacit hands a browser with what a browser would
// post back, made with real ES256 keys ("none" attestation).
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator holds passkeys for one origin.
type Authenticator struct {
	Origin string // "https://auth.example.com"
	// Synced sets the backup flags (BE and BS) on what it makes.
	Synced bool
}

// Passkey is one credential an Authenticator made.
type Passkey struct {
	ID         []byte
	UserHandle []byte
	Key        *ecdsa.PrivateKey
	Count      uint32 // the signature counter, raised by each assertion
	// NoCounter keeps Count at zero, as authenticators without a
	// counter (most synced passkeys) do.
	NoCounter bool
	rpID      string
	synced    bool
}

// Tweak spoils an assertion the way an attacker would.
type Tweak int

const (
	// Honest is a correct assertion.
	Honest Tweak = iota
	// BadSignature is signed with another key.
	BadSignature
	// OldCounter repeats the counter of the last assertion (a clone).
	OldCounter
)

var b64 = base64.RawURLEncoding

// options is what the authenticator reads of tacit's options.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func parse(raw []byte) (options, error) {
	var o options
	if err := json.Unmarshal(raw, &o); err != nil {
		return o, fmt.Errorf("options: %w", err)
	}
	return o, nil
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

func flags(synced bool, attested bool) byte {
	f := byte(0x01 | 0x04) // user present, user verified
	if synced {
		f |= 0x08 | 0x10 // backup eligible, backed up
	}
	if attested {
		f |= 0x40
	}
	return f
}

// Create answers creation options (the JSON tacit hands the browser) with
// a new passkey: the JSON a browser posts back, and the passkey.
func (a *Authenticator) Create(raw []byte) ([]byte, *Passkey, error) {
	o, err := parse(raw)
	if err != nil {
		return nil, nil, err
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("user id: %w", err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := make([]byte, 32)
	rand.Read(id)
	p := &Passkey{ID: id, UserHandle: handle, Key: key, rpID: o.PublicKey.RP.ID, synced: a.Synced}
	cose, err := p.PublicKey()
	if err != nil {
		return nil, nil, err
	}
	rp := sha256.Sum256([]byte(p.rpID))
	auth := append(rp[:], flags(a.Synced, true))
	auth = binary.BigEndian.AppendUint32(auth, 0)
	auth = append(auth, make([]byte, 16)...) // AAGUID
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(id)))
	auth = append(auth, id...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, nil, err
	}
	out, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults":  map[string]any{},
		"authenticatorAttachment": "platform",
	})
	return out, p, err
}

// Get answers request options with an assertion by p, spoiled by tweak.
func (a *Authenticator) Get(raw []byte, p *Passkey, tweak Tweak) ([]byte, error) {
	o, err := parse(raw)
	if err != nil {
		return nil, err
	}
	rpID := o.PublicKey.RPID
	if rpID == "" {
		rpID = p.rpID
	}
	if tweak != OldCounter && !p.NoCounter {
		p.Count++
	}
	rp := sha256.Sum256([]byte(rpID))
	auth := append(rp[:], flags(p.synced, false))
	auth = binary.BigEndian.AppendUint32(auth, p.Count)
	cd := a.clientData("webauthn.get", o.PublicKey.Challenge)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), cdHash[:]...))
	key := p.Key
	if tweak == BadSignature {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(p.ID), "rawId": b64.EncodeToString(p.ID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(p.UserHandle),
		},
		"clientExtensionResults":  map[string]any{},
		"authenticatorAttachment": "platform",
	})
}

// PublicKey returns p's public key in COSE form, as a server stores it.
func (p *Passkey) PublicKey() ([]byte, error) {
	pub, err := p.Key.PublicKey.Bytes()
	if err != nil {
		return nil, err
	}
	return webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: pub[1:33], YCoord: pub[33:],
	})
}

// Fixed returns the passkey of name that every call makes alike: its
// credential id and user handle derive from name, its key is one fixed
// key, and it keeps no counter. Tests store it directly (accountstate)
// and later sign in with it.
func Fixed(name string) *Passkey {
	scalar := sha256.Sum256([]byte("tacit test passkey"))
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar[:])
	if err != nil {
		panic(err)
	}
	id := sha256.Sum256([]byte("credential " + name))
	h1, h2 := sha256.Sum256([]byte("handle 1 "+name)), sha256.Sum256([]byte("handle 2 "+name))
	return &Passkey{ID: id[:], UserHandle: append(h1[:], h2[:]...), Key: key, NoCounter: true}
}

// Stranger returns a passkey no server has seen, for rpID: a random
// credential id and user handle.
func Stranger(rpID string) *Passkey {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id, handle := make([]byte, 32), make([]byte, 64)
	rand.Read(id)
	rand.Read(handle)
	return &Passkey{ID: id, UserHandle: handle, Key: key, rpID: rpID}
}

package seal

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k1, text1 := NewRandomKey()
	k2, _ := NewRandomKey()
	ks := NewKeys(k1)
	v := ks.Seal([]byte("JBSWY3DPEHPK3PXP"), "account 1")
	if !IsSealed(v) || SealedID(v) != k1.ID() || strings.Contains(v, "JBSWY3DP") {
		t.Fatalf("sealed value %q", v)
	}
	if v2 := ks.Seal([]byte("JBSWY3DPEHPK3PXP"), "account 1"); v2 == v {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	clear, err := ks.Open(v, "account 1")
	if err != nil || string(clear) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", clear, err)
	}
	if _, err := ks.Open(v, "account 2"); !errors.Is(err, ErrOpen) {
		t.Errorf("Open with another row's associated data = %v, want ErrOpen", err)
	}
	tampered := v[:len(v)-2] + "AA"
	if _, err := ks.Open(tampered, "account 1"); !errors.Is(err, ErrOpen) {
		t.Errorf("Open of a changed value = %v, want ErrOpen", err)
	}
	if _, err := NewKeys(k2).Open(v, "account 1"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open under another key = %v, want ErrUnknownKey", err)
	}
	if clear, err := NewKeys(k2, k1).Open(v, "account 1"); err != nil || string(clear) != "JBSWY3DPEHPK3PXP" {
		t.Errorf("Open with the key as a former one = %q, %v", clear, err)
	}
	if IsSealed("JBSWY3DPEHPK3PXP") || SealedID("JBSWY3DPEHPK3PXP") != "" {
		t.Error("a clear secret taken for a sealed one")
	}

	raw, _ := base64.StdEncoding.DecodeString(text1)
	for _, form := range []string{text1, text1 + "\n", base64.RawStdEncoding.EncodeToString(raw), base64.URLEncoding.EncodeToString(raw)} {
		k, err := ParseKey(form)
		if err != nil || k.ID() != k1.ID() {
			t.Errorf("ParseKey(%q) = %v, %v", form, k, err)
		}
	}
	for _, bad := range []string{"", "c2hvcnQ=", "not base64!", base64.StdEncoding.EncodeToString(make([]byte, 33))} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

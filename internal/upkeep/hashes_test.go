package upkeep

import "testing"

func TestHashParams(t *testing.T) {
	for in, want := range map[string]string{
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5": "$argon2id$v=19$m=19456,t=2,p=1",
		"$argon2id$v=19$m=64,t=1,p=1$$":              "$argon2id$v=19$m=64,t=1,p=1",
		"not a hash":                                 "not a hash",
		"$one":                                       "$one",
		"":                                           "",
	} {
		if got := HashParams(in); got != want {
			t.Errorf("HashParams(%q) = %q, want %q", in, got, want)
		}
	}
}

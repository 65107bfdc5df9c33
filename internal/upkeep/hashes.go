package upkeep

import "strings"

// HashParams returns the part of an encoded password hash that names its
// algorithm and parameters, everything before the salt: for the PHC form
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" it is
// "$argon2id$v=19$m=19456,t=2,p=1". Stored hashes with one HashParams cost
// the same to verify, so the engines' HashSamples keep one of each.
func HashParams(encoded string) string {
	i := strings.LastIndexByte(encoded, '$')
	if i <= 0 {
		return encoded
	}
	j := strings.LastIndexByte(encoded[:i], '$')
	if j < 0 {
		return encoded
	}
	return encoded[:j]
}

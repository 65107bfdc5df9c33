package tacit

import (
	_ "embed"
	"sync"
)

//go:embed blocklist.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	return ParseBlocklist(commonPasswordsText)
})

// CommonPasswords returns the shipped list of common passwords (see
// blocklist.txt for its source). The map is shared: do not modify it.
func CommonPasswords() map[string]struct{} { return commonPasswords() }

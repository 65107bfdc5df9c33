package tacit

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"sync"
)

// commonPasswordsGz is the list of common passwords, gzip-compressed: about
// 34,000 of them, a third of the size of the text. blocklist.txt.gz's
// header names its sources and their licences.
//
//go:embed blocklist.txt.gz
var commonPasswordsGz []byte

// commonPasswords decompresses and parses the list once, on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGz))
	if err != nil {
		panic("tacit: embedded blocklist: " + err.Error()) // a build mistake
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		panic("tacit: embedded blocklist: " + err.Error())
	}
	return ParseBlocklist(string(text))
})

// CommonPasswords returns the shipped list of common passwords (see the
// header of blocklist.txt.gz for its sources). The map is shared: do not
// modify it.
func CommonPasswords() map[string]struct{} { return commonPasswords() }

//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "os"

// tryLock does not lock where flock is missing: a second serve on one
// SQLite file is then not refused.
func tryLock(*os.File) error { return nil }

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// errLocked is what tryLock returns when another process holds the lock.
var errLocked = errors.New("locked")

// dbLock is an exclusive lock on a SQLite database, held by one tacit
// process at a time: a serve, a seed or a migrate-data. Two servers on one
// SQLite file would each run their own throttle counters' trims, outbox
// workers and purges against it, and a second serve started by mistake
// (say, a forgotten one in another terminal) would answer half the
// requests with nobody noticing. PostgreSQL is made for several instances
// and is not locked.
//
// The lock is an OS file lock (flock) on the file <database>.lock, which
// the kernel releases when the process ends, however it ends: a crash
// leaves no stale lock behind. The file itself stays, holding the command
// and process id of the last holder, for the refusal message.
type dbLock struct{ f *os.File }

// lockDatabase locks d for the command cmd ("serve", "seed", …) for as
// long as the process runs, or until the returned lock is released. It
// refuses with one line naming the database and the holder when another
// tacit process holds it. setting names where d came from, for errors. A
// PostgreSQL database is not locked: the lock is then a no-op.
func lockDatabase(d Database, setting, cmd string) (*dbLock, error) {
	if d.Engine == enginePostgres {
		return &dbLock{}, nil
	}
	path := d.Path + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	// No O_TRUNC: the file may hold the record of the process that has
	// the lock, which the refusal reads.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: lock the database: %w", setting, err)
	}
	if err := tryLock(f); err != nil {
		who, pid := readHolder(f)
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%s is in use by %s (%slock file %s); stop it first, or give this one another %s",
				d.Path, who, pid, path, setting)
		}
		return nil, fmt.Errorf("%s: lock the database: %w", setting, err)
	}
	// A record for the next one who tries: best effort, since the lock
	// holds whatever the file says.
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "tacit %s pid %d\n", cmd, os.Getpid())
	}
	return &dbLock{f: f}, nil
}

// readHolder names the process that holds the lock, from the record it
// wrote into the lock file: "another tacit serve" and "pid 123, ".
func readHolder(f *os.File) (who, pid string) {
	b := make([]byte, 64)
	n, _ := f.ReadAt(b, 0)
	fields := strings.Fields(string(b[:n]))
	if len(fields) == 4 && fields[0] == "tacit" && fields[2] == "pid" {
		if _, err := strconv.Atoi(fields[3]); err == nil {
			return "another tacit " + fields[1], "pid " + fields[3] + ", "
		}
	}
	return "another tacit process", ""
}

// release gives the lock up. The lock file stays: removing it would let a
// process that opened it just before lock a file no one else can find.
func (l *dbLock) release() {
	if l != nil && l.f != nil {
		l.f.Close() // closing the last descriptor releases the flock
		l.f = nil
	}
}

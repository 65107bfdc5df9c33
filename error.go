package tacit

import "errors"

// Storage errors that the flows act on. Everything else is an internal error
// that is logged and never shown.
var (
	// ErrNotFound means the looked-up record does not exist (or has expired).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule refused the write, such as a
	// second account for one normalised address.
	ErrConflict = errors.New("conflict")
	// ErrStorageFull means the database could not write for want of disk
	// space. Nothing was written; the same request can succeed once space
	// returns. The HTTP layer answers it 503, not 500.
	ErrStorageFull = errors.New("storage full")
	// ErrStorageReplaced means the database file was replaced or removed
	// while the server had it open, say by a backup moved over it. The
	// file the server holds is no longer the one at its path: reading it
	// would answer from data nobody keeps, and writing to it would lose
	// the writes. Nothing was read or written; the server refuses every
	// request until it is restarted, which opens the file now there. The
	// HTTP layer answers it 503 and logs an error.
	ErrStorageReplaced = errors.New("storage replaced")
)

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
)

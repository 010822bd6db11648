package store

import "errors"

var (
	// ErrConflict: a compare-and-set update lost; the row's version moved
	// since it was read. Re-read and retry.
	ErrConflict = errors.New("store: row changed since it was read")
	// ErrReplay: UpdateRecordingNonce found the nonce already recorded
	// and changed nothing.
	ErrReplay = errors.New("store: nonce already recorded")
	// ErrNotFound: the row the operation needs does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid: an argument was rejected before reaching the database
	// (empty or oversized key, unknown role or flow, bad UTF-8 ...).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrUnsupportedDSN: the DSN selects no dialect this package knows.
	ErrUnsupportedDSN = errors.New("store: unsupported DSN; want postgres://... or sqlite:PATH")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("store: closed")
)

package store

import (
	"context"
	"errors"

	"github.com/mattn/go-sqlite3"
)

// Errors callers can match with errors.Is. Errors from SQLite are wrapped so that the matching
// class below is in their chain, next to the driver's own error.
var (
	// ErrExists reports that [Store.Insert] found the article's id, canonical URL or (feed, GUID)
	// already recorded: the item is a repeat.
	ErrExists = errors.New("store: article already recorded")
	// ErrBusy reports that the database stayed locked by another connection or process beyond
	// the busy timeout (SQLITE_BUSY, SQLITE_LOCKED). Retrying later may succeed.
	ErrBusy = errors.New("store: database busy")
	// ErrFull reports that the disk or the database is full (SQLITE_FULL).
	ErrFull = errors.New("store: disk full")
	// ErrIO reports an I/O error from the operating system (SQLITE_IOERR).
	ErrIO = errors.New("store: i/o error")
	// ErrReadOnly reports that the database cannot be written (SQLITE_READONLY, SQLITE_PERM).
	ErrReadOnly = errors.New("store: database read-only")
	// ErrCorrupt reports a damaged database or a file that is not one (SQLITE_CORRUPT,
	// SQLITE_NOTADB).
	ErrCorrupt = errors.New("store: database corrupt")
)

// class returns the class of a primary SQLite result code, or nil when it has none.
func class(code sqlite3.ErrNo) error {
	switch code {
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		return ErrBusy
	case sqlite3.ErrFull:
		return ErrFull
	case sqlite3.ErrIoErr:
		return ErrIO
	case sqlite3.ErrReadonly, sqlite3.ErrPerm:
		return ErrReadOnly
	case sqlite3.ErrCorrupt, sqlite3.ErrNotADB:
		return ErrCorrupt
	}
	return nil
}

// classifiedError is a SQLite error with its class attached.
type classifiedError struct {
	class error
	err   error
}

func (e *classifiedError) Error() string   { return e.err.Error() }
func (e *classifiedError) Unwrap() []error { return []error{e.class, e.err} }

// classify attaches the class of a SQLite error in err's chain, if it has one; other errors are
// returned unchanged.
func classify(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	c := class(se.Code)
	if c == nil {
		return err
	}
	return &classifiedError{class: c, err: err}
}

// Classify names the class of an error returned by a Store, for logs and metric labels:
// "exists", "busy", "full", "io", "read_only", "corrupt", "canceled" (context canceled or
// deadline exceeded), "other", or "" for a nil error.
func Classify(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrExists):
		return "exists"
	case errors.Is(err, ErrBusy):
		return "busy"
	case errors.Is(err, ErrFull):
		return "full"
	case errors.Is(err, ErrIO):
		return "io"
	case errors.Is(err, ErrReadOnly):
		return "read_only"
	case errors.Is(err, ErrCorrupt):
		return "corrupt"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	default:
		return "other"
	}
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint violation, and returns
// SQLite's message naming the columns.
func isUnique(err error) (string, bool) {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return "", false
	}
	switch se.ExtendedCode {
	case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
		return se.Error(), true
	}
	return "", false
}

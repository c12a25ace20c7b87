// Package fault classifies sgdlab's errors where they arise, so that a caller (the
// command-line tool maps them to exit statuses) can tell the user's mistake from a run that
// blew up or was interrupted without parsing messages:
//
//   - ErrInvalid: the input cannot be used as given (a spec, a value, a file, a shape);
//   - ErrDiverged: a run left every finite value (eta too large for B);
//   - context.Canceled (from the standard library): the work was interrupted.
//
// Anything else is an unexpected failure (I/O, an internal error).
package fault

import (
	"errors"
	"fmt"
)

// ErrInvalid marks errors caused by input that cannot be used as given.
var ErrInvalid = errors.New("invalid input")

// ErrDiverged marks errors of runs whose parameters or loss stopped being finite.
var ErrDiverged = errors.New("diverged")

// classified wraps an error message with a class; errors.Is matches both the class and
// any error wrapped by the message.
type classified struct {
	class error
	err   error
}

func (c classified) Error() string   { return c.err.Error() }
func (c classified) Unwrap() []error { return []error{c.class, c.err} }

// Invalid returns an error of class ErrInvalid formatted like fmt.Errorf (so %w works).
func Invalid(format string, args ...any) error {
	return classified{ErrInvalid, fmt.Errorf(format, args...)}
}

// AsInvalid marks err as invalid input (nil stays nil; an error already classified as
// diverged or invalid keeps its class).
func AsInvalid(err error) error {
	if err == nil || errors.Is(err, ErrInvalid) || errors.Is(err, ErrDiverged) {
		return err
	}
	return classified{ErrInvalid, err}
}

// Diverged returns an error of class ErrDiverged formatted like fmt.Errorf.
func Diverged(format string, args ...any) error {
	return classified{ErrDiverged, fmt.Errorf(format, args...)}
}

// fielded names the field of a request (a spec's key, an option) an error is about, so that
// a front end can name it as its user typed it (a command-line flag) without the library
// knowing about flags.
type fielded struct {
	field string
	err   error
}

func (f fielded) Error() string { return f.err.Error() }
func (f fielded) Unwrap() error { return f.err }

// Field attaches the name of the field err is about (nil stays nil).
func Field(name string, err error) error {
	if err == nil {
		return nil
	}
	return fielded{name, err}
}

// Unfield hides the field names inside err while keeping everything else errors.Is and
// errors.As find (its class, a recovered panic): for errors a front end reports from inside
// a larger task, whose fields are the task's own and not its user's flags.
func Unfield(err error) error {
	if err == nil {
		return nil
	}
	return unfielded{err}
}

type unfielded struct{ err error }

func (u unfielded) Error() string        { return u.err.Error() }
func (u unfielded) Is(target error) bool { return errors.Is(u.err, target) }
func (u unfielded) As(target any) bool {
	if _, ok := target.(*fielded); ok {
		return false
	}
	return errors.As(u.err, target)
}

// FieldOf returns the field name attached to err (the outermost, when several are), or "".
func FieldOf(err error) string {
	var f fielded
	if errors.As(err, &f) {
		return f.field
	}
	return ""
}

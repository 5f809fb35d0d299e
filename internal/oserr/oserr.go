// Package oserr turns operating-system errors into the short causes that
// specgate's one-line messages end with ("no such file or directory"),
// when the message already names the path itself.
package oserr

import (
	"errors"
	"os"
	"os/exec"
)

// Cause strips the *os.PathError and *exec.Error wrappers from err, whose
// text repeats a path or program name the caller has already given.
func Cause(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

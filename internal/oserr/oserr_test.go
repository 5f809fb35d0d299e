package oserr

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

func TestCause(t *testing.T) {
	_, err := os.Open("/no/such/file/here")
	if got := Cause(err); !errors.Is(got, os.ErrNotExist) || got.Error() != "no such file or directory" {
		t.Errorf("Cause(open error) = %q", got)
	}
	_, err = exec.LookPath("no-such-command-for-oserr")
	if got := Cause(err); got.Error() != "executable file not found in $PATH" {
		t.Errorf("Cause(exec error) = %q", got)
	}
	plain := errors.New("plain")
	if Cause(plain) != plain {
		t.Error("Cause changed an error without a wrapper")
	}
}

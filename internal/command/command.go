// Package command runs the command a capture wraps (the integration
// tests): it forwards stop signals, honours a timeout and an abort, and
// gives the exit status as a shell would.
package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/specgate/specgate/internal/oserr"
)

// Spec describes one run.
type Spec struct {
	Args           []string
	Env            []string // added to the environment
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Stop carries signals (SIGINT, SIGTERM) to forward to the command.
	Stop <-chan os.Signal
	// Timeout, when it fires, sends the command SIGTERM.
	Timeout <-chan time.Time
	// Abort, when it closes or delivers, kills the command: what it ran
	// beside has failed.
	Abort <-chan struct{}
}

// StartError is a command that could not start (not found, not
// executable): a usage mistake.
type StartError struct{ Msg string }

func (e *StartError) Error() string { return e.Msg }

// Run runs the command to its end and returns its exit status (128+N when
// signal N killed it); aborted reports that Abort ended it.
func Run(ctx context.Context, s Spec) (code int, aborted bool, err error) {
	cmd := exec.Command(s.Args[0], s.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.Stdin, s.Stdout, s.Stderr
	if len(s.Env) > 0 {
		cmd.Env = append(os.Environ(), s.Env...)
	}
	if err := cmd.Start(); err != nil {
		return 0, false, &StartError{Msg: fmt.Sprintf("run %s: %v", s.Args[0], oserr.Cause(err))}
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	timeout, abort := s.Timeout, s.Abort
	for {
		select {
		case err := <-waited:
			code, err := ExitCode(cmd, err)
			return code, false, err
		case sig := <-s.Stop:
			_ = cmd.Process.Signal(sig)
		case <-timeout:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			timeout = nil
		case <-ctx.Done():
			_ = cmd.Process.Kill()
		case <-abort:
			_ = cmd.Process.Kill()
			<-waited
			return 0, true, nil
		}
	}
}

// ExitCode is the status of a command that ended with err (cmd.Wait's
// error), as a shell gives it: 128+N when signal N killed it.
func ExitCode(cmd *exec.Cmd, err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return 128 + int(st.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return 0, fmt.Errorf("wait for %s: %w", cmd.Path, err)
}

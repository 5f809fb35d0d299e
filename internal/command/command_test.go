package command

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	ctx := context.Background()
	if code, _, err := Run(ctx, Spec{Args: []string{"sh", "-c", "exit 7"}}); code != 7 || err != nil {
		t.Errorf("exit 7: %d %v", code, err)
	}
	if code, _, err := Run(ctx, Spec{Args: []string{"sh", "-c", `test "$X" = y`}, Env: []string{"X=y"}}); code != 0 || err != nil {
		t.Errorf("env: %d %v", code, err)
	}
	var se *StartError
	if _, _, err := Run(ctx, Spec{Args: []string{"no-such-command-xyz"}}); !errors.As(err, &se) {
		t.Errorf("start error: %v", err)
	}

	stop := make(chan os.Signal, 1)
	stop <- syscall.SIGTERM
	if code, _, err := Run(ctx, Spec{Args: []string{"sleep", "10"}, Stop: stop}); code != 128+int(syscall.SIGTERM) || err != nil {
		t.Errorf("forwarded SIGTERM: %d %v", code, err)
	}
	timeout := make(chan time.Time, 1)
	timeout <- time.Now()
	if code, _, _ := Run(ctx, Spec{Args: []string{"sleep", "10"}, Timeout: timeout}); code != 128+int(syscall.SIGTERM) {
		t.Errorf("timeout: %d", code)
	}
	abort := make(chan struct{})
	close(abort)
	if _, aborted, err := Run(ctx, Spec{Args: []string{"sleep", "10"}, Abort: abort}); !aborted || err != nil {
		t.Errorf("abort: %v %v", aborted, err)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/specgate/specgate/capture/session"
)

// app holds what every command needs: the standard streams and signals.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	signals        <-chan os.Signal
}

// exitError asks main to exit with code after printing nothing more.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a mistake in how specgate was called (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "specgate",
		Short: "Stop breaking API changes before they merge, by watching traffic",
		Long: `specgate watches the HTTP traffic of your integration tests, infers an
OpenAPI document per service and fails the build on breaking changes.`,
		Example: `  # capture loopback traffic while the tests run
  sudo specgate capture -i lo -w traffic.har -- go test ./integration/...

  # read a capture written by tcpdump
  specgate capture -r tests.pcap -w traffic.ndjson`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(a.versionCmd(), a.captureCmd(), a.inferCmd(), a.diffCmd(), a.checkCmd(), a.checksCmd(), a.proxyCmd(), a.hookCmd(), a.kubeCmd())
	return root
}

func (a *app) execute(args []string) int {
	root := a.root()
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") {
		msg += " (see 'specgate --help')"
	}
	fmt.Fprintln(a.stderr, "specgate: "+oneLine(msg))
	return 2
}

// oneLine folds a multi-line message so that every error is one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// isUsage reports whether err is a usage mistake.
func isUsage(err error) bool {
	var ue *usageError
	var se *session.UsageError
	return errors.As(err, &ue) || errors.As(err, &se)
}

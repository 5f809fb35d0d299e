package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/specgate/specgate/internal/oserr"
)

// hookMarker is a line of every hook specgate writes: it tells specgate's
// hook, which install replaces and uninstall removes, from anyone else's.
const hookMarker = "# specgate pre-push hook, written by 'specgate hook install'; 'specgate hook uninstall' removes it."

// hookFlags are the flags of 'specgate hook install'.
type hookFlags struct {
	baselines  []string
	interfaces []string
	proxies    []string
	force      bool
}

func (a *app) hookCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hook (install | uninstall)",
		Short: "Install or remove a git pre-push hook that runs the gate",
		Long: `Hook manages a git pre-push hook that runs 'specgate check' on the
integration tests before every push and stops the push when the gate fails.
The hook goes where git looks for hooks (core.hooksPath, worktrees).

Live capture needs root: on a machine where the hook runs unprivileged, put
reverse-proxy taps in front of the services with --proxy.`,
		Example: `  specgate hook install --baseline git:origin/main:api/specs -- make integration-test
  specgate hook uninstall`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{fmt.Errorf("unknown subcommand %q for 'specgate hook': want install or uninstall", args[0])}
			}
			return &usageError{errors.New("want a subcommand: 'specgate hook install' or 'specgate hook uninstall'")}
		},
	}
	cmd.AddCommand(a.hookInstallCmd(), a.hookUninstallCmd())
	return cmd
}

func (a *app) hookInstallCmd() *cobra.Command {
	f := &hookFlags{}
	cmd := &cobra.Command{
		Use:   "install --baseline SRC [--force] [--proxy LISTEN=UPSTREAM] -- COMMAND [ARG...]",
		Short: "Write a pre-push hook that gates every push on the integration tests",
		Long: `Install writes the repository's pre-push hook: a sh script that runs

  specgate check --baseline SRC -- COMMAND [ARG...]

with this specgate, found now, and exits with its status; a push the gate
fails does not happen ('git push --no-verify' skips the hook). Installing
again replaces specgate's own hook; a hook specgate did not write stays,
unless --force.

Exit codes: 0 installed, 2 usage error, not a git repository, or a hook
that is not specgate's.`,
		Example: `  specgate hook install --baseline git:origin/main:api/specs -- make integration-test

  # without root: the tests call the taps, the taps call the services
  specgate hook install --baseline git:origin/main:api/specs \
    --proxy 127.0.0.1:9080=http://127.0.0.1:8080 -- go test ./integration/...`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash < 0 {
				return &usageError{errors.New("missing -- COMMAND: name the integration tests the hook runs")}
			}
			if dash > 0 {
				return &usageError{fmt.Errorf("unexpected argument %q: put the command after --", args[0])}
			}
			if len(args) == 0 {
				return &usageError{errors.New("missing COMMAND after --: name the integration tests the hook runs")}
			}
			if len(f.baselines) == 0 {
				return &usageError{errors.New("missing --baseline: name the baseline the hook gates against, e.g. git:origin/main:api/specs")}
			}
			return a.installHook(cmd.Context(), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.baselines, "baseline", nil, "baseline for 'specgate check': a document, a directory of <service>.yaml, git:REF:PATH or a URL (required, repeatable)")
	fl.StringArrayVarP(&f.interfaces, "interface", "i", nil, "interface to capture on, repeatable (default all)")
	fl.StringArrayVar(&f.proxies, "proxy", nil, "reverse-proxy tap LISTEN=UPSTREAM instead of capturing, repeatable (no root needed)")
	fl.BoolVar(&f.force, "force", false, "replace a pre-push hook that specgate did not write")
	return cmd
}

func (a *app) hookUninstallCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the pre-push hook specgate wrote",
		Long: `Uninstall removes the pre-push hook 'specgate hook install' wrote. A hook
that specgate did not write stays where it is.

Exit codes: 0 removed, or no hook to remove; 2 not a git repository, or a
hook that is not specgate's.`,
		Example: `  specgate hook uninstall`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{fmt.Errorf("unexpected argument %q: uninstall takes none", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := prePushPath(cmd.Context())
			if err != nil {
				return err
			}
			removed, err := removeHook(path)
			if err != nil {
				return err
			}
			if !removed {
				fmt.Fprintf(a.stderr, "specgate: no pre-push hook at %s\n", path)
				return nil
			}
			fmt.Fprintf(a.stderr, "specgate: pre-push hook removed from %s\n", path)
			return nil
		},
	}
}

// installHook writes the pre-push hook for f and command.
func (a *app) installHook(ctx context.Context, f *hookFlags, command []string) error {
	path, err := prePushPath(ctx)
	if err != nil {
		return err
	}
	if err := writeHook(path, hookScript(hookExecutable(), f.checkArgs(command)), f.force); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "specgate: pre-push hook installed at %s\n", path)
	return nil
}

// checkArgs are the arguments of the 'specgate check' the hook runs.
func (f *hookFlags) checkArgs(command []string) []string {
	args := []string{"check"}
	for _, b := range f.baselines {
		args = append(args, "--baseline="+b)
	}
	for _, i := range f.interfaces {
		args = append(args, "--interface="+i)
	}
	for _, p := range f.proxies {
		args = append(args, "--proxy="+p)
	}
	args = append(args, "--")
	return append(args, command...)
}

// prePushPath asks git where the pre-push hook goes: the hooks directory
// of the repository the current directory is in, which core.hooksPath and
// worktrees move. The path is relative to the current directory.
func prePushPath(ctx context.Context) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "--git-path", "hooks")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
			return "", &usageError{fmt.Errorf("git: %s", strings.TrimPrefix(msg, "fatal: "))}
		}
		return "", &usageError{fmt.Errorf("git: %v (the hook needs git)", oserr.Cause(err))}
	}
	dir := strings.TrimRight(string(out), "\r\n")
	if dir == "" {
		return "", errors.New("git rev-parse --git-path hooks printed nothing")
	}
	return filepath.Join(dir, "pre-push"), nil
}

// hookExecutable is the specgate the hook runs: this program, by the name
// PATH finds it under when that is this program (so that an upgrade in
// place keeps the hook working), else by its own path; "specgate", looked
// up on PATH when the hook runs, when this program's path is unknown.
func hookExecutable() string {
	self, err := os.Executable()
	if err != nil {
		return "specgate"
	}
	if p, err := exec.LookPath("specgate"); err == nil {
		if abs, err := filepath.Abs(p); err == nil && sameFile(abs, self) {
			return abs
		}
	}
	return self
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// hookScript is the pre-push hook: a POSIX sh script that runs specgate
// with args, its input closed (git writes the refs being pushed there,
// which the tests have no use for), and exits with its status.
func hookScript(specgate string, args []string) string {
	words := []string{shQuote(specgate)}
	for _, a := range args {
		words = append(words, shQuote(a))
	}
	return "#!/bin/sh\n" + hookMarker + `
# It runs the integration tests under the API gate and stops the push when
# the gate fails; 'git push --no-verify' skips it.
` + strings.Join(words, " ") + ` </dev/null
status=$?
if [ "$status" -ne 0 ]; then
	echo "specgate: push stopped: the gate exited with status $status ('git push --no-verify' skips it)" >&2
fi
exit "$status"
`
}

// shQuote quotes s as one word for sh. Inside single quotes nothing is
// special but the single quote itself: each one ends the quoting, follows
// escaped with a backslash, and starts the quoting again.
func shQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:,@+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isSpecgateHook reports whether a hook's text is one specgate wrote.
func isSpecgateHook(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimRight(line, "\r") == hookMarker {
			return true
		}
	}
	return false
}

// writeHook writes the hook script to path, executable, replacing
// specgate's own hook but another hook only when force is set.
func writeHook(path, script string, force bool) error {
	old, err := os.ReadFile(path)
	switch {
	case err == nil && !force && !isSpecgateHook(old):
		return &usageError{fmt.Errorf("%s is a pre-push hook that specgate did not write: keep it, or replace it with --force", path)}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return &usageError{fmt.Errorf("read %s: %w", path, oserr.Cause(err))}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, oserr.Cause(err))
	}
	tmp, err := os.CreateTemp(dir, ".pre-push.specgate-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, oserr.Cause(err))
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(script)
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, oserr.Cause(err))
	}
	return nil
}

// removeHook removes specgate's hook at path; it reports false when there
// is no hook, and refuses a hook specgate did not write.
func removeHook(path string) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, &usageError{fmt.Errorf("read %s: %w", path, oserr.Cause(err))}
	}
	if !isSpecgateHook(data) {
		return false, &usageError{fmt.Errorf("%s is a pre-push hook that specgate did not write: left in place", path)}
	}
	if err := os.Remove(path); err != nil {
		return false, fmt.Errorf("remove %s: %w", path, oserr.Cause(err))
	}
	return true, nil
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// hookCLI runs specgate with args in-process, as main does (the exit code,
// and the one-line error on stderr), with the hook command on the root.
func hookCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
	root := a.root()
	if c, _, err := root.Find([]string{"hook"}); err == nil && c != root {
		code = run(args, strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	root.AddCommand(a.hookCmd())
	root.SetArgs(args)
	var ee *exitError
	switch err := root.ExecuteContext(context.Background()); {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.code
	default:
		fmt.Fprintln(&errOut, "specgate: "+oneLine(err.Error()))
		code = 2
	}
	return code, out.String(), errOut.String()
}

// gitEnv keeps git away from this machine's configuration.
func gitEnv(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH")
	}
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, v := range []string{"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"} {
		t.Setenv(v, "specgate test")
	}
	for _, v := range []string{"GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"} {
		t.Setenv(v, "test@specgate.test")
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// gitRepo makes a repository with one commit and makes it the current
// directory.
func gitRepo(t *testing.T) string {
	t.Helper()
	gitEnv(t)
	dir := filepath.Join(t.TempDir(), "repo")
	git(t, "", "init", "-q", "-b", "main", dir)
	git(t, dir, "commit", "-q", "--allow-empty", "-m", "first")
	t.Chdir(dir)
	return dir
}

func readHook(t *testing.T, path string) (string, os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), fi.Mode()
}

func TestHookInstall(t *testing.T) {
	repo := gitRepo(t)
	code, stdout, stderr := hookCLI(t, "hook", "install", "--baseline", "git:origin/main:api/specs", "--", "make", "integration-test")
	if code != 0 || stdout != "" || stderr != "specgate: pre-push hook installed at .git/hooks/pre-push\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	path := filepath.Join(repo, ".git", "hooks", "pre-push")
	got, mode := readHook(t, path)
	if mode.Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", mode.Perm())
	}
	want := hookScript(hookExecutable(), []string{"check", "--baseline=git:origin/main:api/specs", "--", "make", "integration-test"})
	if got != want {
		t.Errorf("hook:\n%s\nwant:\n%s", got, want)
	}
	// The hook runs this program: by the name PATH finds it under when
	// that is this program (testscript puts it on PATH as specgate), else
	// by its own path.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := hookExecutable()
	if !filepath.IsAbs(exe) || !sameFile(exe, self) {
		t.Errorf("the hook runs %s, not this program %s", exe, self)
	}
	lines := strings.Split(got, "\n")
	if lines[0] != "#!/bin/sh" || lines[1] != hookMarker {
		t.Errorf("first lines %q", lines[:2])
	}
	if !strings.Contains(got, "\n"+shQuote(exe)+" check '--baseline=git:origin/main:api/specs' -- make integration-test </dev/null\n") {
		t.Errorf("the hook does not run %s:\n%s", exe, got)
	}
	if out, err := exec.Command("sh", "-n", path).CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v\n%s", err, out)
	}
	// Installing again replaces specgate's own hook without --force.
	code, _, stderr = hookCLI(t, "hook", "install", "--baseline", "api/specs/", "--proxy", "127.0.0.1:9080=http://127.0.0.1:8080", "-i", "lo", "--", "go", "test", "./...")
	if code != 0 {
		t.Fatalf("reinstall: exit %d: %s", code, stderr)
	}
	got, _ = readHook(t, path)
	if !strings.Contains(got, " check '--baseline=api/specs/' '--interface=lo' '--proxy=127.0.0.1:9080=http://127.0.0.1:8080' -- go test ./... </dev/null\n") {
		t.Errorf("reinstalled hook:\n%s", got)
	}
}

func TestHookForeign(t *testing.T) {
	repo := gitRepo(t)
	path := filepath.Join(repo, ".git", "hooks", "pre-push")
	foreign := "#!/bin/sh\n# someone else's hook\nexec make lint\n"
	if err := os.WriteFile(path, []byte(foreign), 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := hookCLI(t, "hook", "install", "--baseline", "api/specs/", "--", "make", "test")
	if code != 2 || stderr != "specgate: .git/hooks/pre-push is a pre-push hook that specgate did not write: keep it, or replace it with --force\n" {
		t.Errorf("install over a foreign hook: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = hookCLI(t, "hook", "uninstall")
	if code != 2 || stderr != "specgate: .git/hooks/pre-push is a pre-push hook that specgate did not write: left in place\n" {
		t.Errorf("uninstall of a foreign hook: exit %d, stderr %q", code, stderr)
	}
	if got, _ := readHook(t, path); got != foreign {
		t.Fatalf("the foreign hook changed:\n%s", got)
	}
	code, _, stderr = hookCLI(t, "hook", "install", "--force", "--baseline", "api/specs/", "--", "make", "test")
	if code != 0 {
		t.Fatalf("--force: exit %d: %s", code, stderr)
	}
	if got, mode := readHook(t, path); !isSpecgateHook([]byte(got)) || mode.Perm() != 0o755 {
		t.Errorf("--force did not write specgate's hook (%v):\n%s", mode, got)
	}
}

func TestHookUninstall(t *testing.T) {
	repo := gitRepo(t)
	path := filepath.Join(repo, ".git", "hooks", "pre-push")
	if code, _, stderr := hookCLI(t, "hook", "install", "--baseline", "api/specs/", "--", "make", "test"); code != 0 {
		t.Fatalf("install: exit %d: %s", code, stderr)
	}
	code, _, stderr := hookCLI(t, "hook", "uninstall")
	if code != 0 || stderr != "specgate: pre-push hook removed from .git/hooks/pre-push\n" {
		t.Errorf("uninstall: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the hook is still there: %v", err)
	}
	code, _, stderr = hookCLI(t, "hook", "uninstall")
	if code != 0 || stderr != "specgate: no pre-push hook at .git/hooks/pre-push\n" {
		t.Errorf("uninstall without a hook: exit %d, stderr %q", code, stderr)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".pre-push") {
			t.Errorf("a temporary file was left behind: %s", e.Name())
		}
	}
}

// TestHookLocation installs from a subdirectory of a repository whose
// core.hooksPath is set, and from a linked worktree.
func TestHookLocation(t *testing.T) {
	repo := gitRepo(t)
	git(t, repo, "config", "core.hooksPath", ".githooks")
	sub := filepath.Join(repo, "services", "api")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	code, _, stderr := hookCLI(t, "hook", "install", "--baseline", "api/specs/", "--", "make", "test")
	if code != 0 || stderr != "specgate: pre-push hook installed at ../../.githooks/pre-push\n" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, mode := readHook(t, filepath.Join(repo, ".githooks", "pre-push")); mode.Perm() != 0o755 {
		t.Errorf("mode %v", mode)
	}

	git(t, repo, "config", "--unset", "core.hooksPath")
	wt := filepath.Join(filepath.Dir(repo), "worktree")
	git(t, repo, "worktree", "add", "-q", wt)
	t.Chdir(wt)
	if code, _, stderr := hookCLI(t, "hook", "install", "--baseline", "api/specs/", "--", "make", "test"); code != 0 {
		t.Fatalf("worktree: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(repo, ".git", "hooks", "pre-push")); err != nil {
		t.Errorf("the worktree's hook is not in the repository's hooks: %v", err)
	}
}

// fakeSpecgate writes a program that records its arguments (NUL after
// each), what it read on stdin, and exits with $FAKE_EXIT.
func fakeSpecgate(t *testing.T) (path, argv string) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "fake specgate's dir", "specgate")
	argv = filepath.Join(dir, "argv")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nprintf '%s\\0' \"$@\" >\"$FAKE_ARGV\"\ncat >\"$FAKE_ARGV.stdin\"\nexit \"${FAKE_EXIT:-0}\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_ARGV", argv)
	return path, argv
}

// TestHookRunsOnPush installs a hook with awkward arguments that runs a
// fake specgate, and pushes: git runs the hook, the arguments arrive as
// written, and a failing gate stops the push.
func TestHookRunsOnPush(t *testing.T) {
	repo := gitRepo(t)
	remote := filepath.Join(filepath.Dir(repo), "remote.git")
	git(t, "", "init", "-q", "--bare", remote)
	git(t, repo, "remote", "add", "origin", remote)
	fake, argv := fakeSpecgate(t)
	f := &hookFlags{
		baselines: []string{"git:origin/main:api specs", "it's \"quoted\""},
		proxies:   []string{"127.0.0.1:9080=http://127.0.0.1:8080"},
	}
	command := []string{"sh", "-c", `echo "$1" && touch "$HOME/pwned"`, "arg0", "", "a  b", "$(touch pwned)", "`touch pwned`", "x'y", "new\nline", "\\", "*", "~", "-n"}
	path, err := prePushPath(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := writeHook(path, hookScript(fake, f.checkArgs(command)), false); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sh", "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v\n%s", err, out)
	}
	want := append([]string{"check", "--baseline=git:origin/main:api specs", `--baseline=it's "quoted"`, "--proxy=127.0.0.1:9080=http://127.0.0.1:8080", "--"}, command...)

	git(t, repo, "push", "-q", "origin", "main")
	data, err := os.ReadFile(argv)
	if err != nil {
		t.Fatalf("git push did not run the hook: %v", err)
	}
	if got := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00"); !reflect.DeepEqual(got, want) {
		t.Errorf("specgate's arguments:\n got %q\nwant %q", got, want)
	}
	if stdin, err := os.ReadFile(argv + ".stdin"); err != nil || len(stdin) != 0 {
		t.Errorf("specgate's stdin held %q (%v), want nothing", stdin, err)
	}
	if _, err := os.Stat(filepath.Join(repo, "pwned")); err == nil {
		t.Error("an argument ran as a command")
	}

	// A failing gate stops the push, saying how to skip it.
	t.Setenv("FAKE_EXIT", "1")
	git(t, repo, "commit", "-q", "--allow-empty", "-m", "second")
	cmd := exec.Command("git", "push", "origin", "main")
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the push went through a failing gate:\n%s", out)
	}
	if !strings.Contains(string(out), "specgate: push stopped: the gate exited with status 1 ('git push --no-verify' skips it)") {
		t.Errorf("push output:\n%s", out)
	}
	if head, remoteHead := git(t, repo, "rev-parse", "main"), git(t, remote, "rev-parse", "main"); head == remoteHead {
		t.Error("the remote got the commit the gate stopped")
	}
}

func TestShQuote(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", "it's", "''", `"$HOME"`, "`x`", "a\nb", "--baseline=x", "~", "*", "a=b", "\\", "-n", "\t"} {
		out, err := exec.Command("sh", "-c", `printf '%s' `+shQuote(s)).Output()
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if string(out) != s {
			t.Errorf("%q came back as %q (quoted %s)", s, out, shQuote(s))
		}
	}
}

func TestHookUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"hook"}, "want a subcommand"},
		{"unknown subcommand", []string{"hook", "instal"}, `unknown subcommand "instal"`},
		{"no command", []string{"hook", "install", "--baseline", "x"}, "missing -- COMMAND"},
		{"empty command", []string{"hook", "install", "--baseline", "x", "--"}, "missing COMMAND after --"},
		{"argument before --", []string{"hook", "install", "--baseline", "x", "make", "--", "test"}, `unexpected argument "make"`},
		{"no baseline", []string{"hook", "install", "--", "make", "test"}, "missing --baseline"},
		{"unknown flag", []string{"hook", "install", "--baseline", "x", "--nope", "--", "make"}, "unknown flag: --nope"},
		{"uninstall argument", []string{"hook", "uninstall", "now"}, `unexpected argument "now"`},
	}
	gitRepo(t)
	for _, tt := range tests {
		code, stdout, stderr := hookCLI(t, tt.args...)
		if code != 2 || stdout != "" || !strings.HasPrefix(stderr, "specgate: ") || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and one line saying %q", tt.name, code, stdout, stderr, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(".git", "hooks", "pre-push")); err == nil {
		t.Error("a usage error installed a hook")
	}

	// Outside a repository, git's reason.
	t.Chdir(t.TempDir())
	for _, args := range [][]string{{"hook", "install", "--baseline", "x", "--", "make"}, {"hook", "uninstall"}} {
		code, _, stderr := hookCLI(t, args...)
		if code != 2 || !strings.HasPrefix(stderr, "specgate: git: not a git repository") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s outside a repository: exit %d, stderr %q", args[1], code, stderr)
		}
	}
}

// TestHookExecutable: a specgate on PATH that is another program does not
// take this one's place.
func TestHookExecutable(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "specgate"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{other, t.TempDir()} {
		t.Setenv("PATH", path)
		if got := hookExecutable(); got != self {
			t.Errorf("PATH=%s: the hook runs %s, want %s", path, got, self)
		}
	}
	link := t.TempDir()
	if err := os.Symlink(self, filepath.Join(link, "specgate")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", link)
	if got := hookExecutable(); got != filepath.Join(link, "specgate") {
		t.Errorf("with this program on PATH the hook runs %s", got)
	}
}

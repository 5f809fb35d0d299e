// Package testenv lets tests state what they need from the machine: root,
// a command on PATH. A missing prerequisite skips the test with a message
// naming it, except when CI=true, where it fails the test instead.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true), where every
// prerequisite must be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// missing skips t, or fails it in CI, naming what is missing.
func missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true but %s", what)
	}
	t.Skipf("skipped: %s (CI=true makes this a failure)", what)
}

// NeedRoot requires the test to run as root (live capture, namespaces).
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "this test needs root (CAP_NET_RAW, CAP_SYS_ADMIN)")
	}
}

// NeedCommand requires name on PATH and returns its path.
func NeedCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, "this test needs "+name+" on PATH")
	}
	return p
}

// NeedDir requires a directory (such as a corpus beside the repository).
// A CI without the corpus says so with SPECGATE_NO_CORPORA=1: the test
// then skips, naming the directory, instead of failing.
func NeedDir(t testing.TB, dir string) {
	t.Helper()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if os.Getenv("SPECGATE_NO_CORPORA") == "1" {
			t.Skipf("skipped: this test needs the directory %s (SPECGATE_NO_CORPORA=1)", dir)
		}
		missing(t, "this test needs the directory "+dir)
	}
}

package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.har")

	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("target exists before Commit: %v", err)
	}
	f.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("Abort left %d files behind", len(ents))
	}

	if err := WriteFile(p, []byte("whole")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "whole" {
		t.Fatalf("read back %q, %v", got, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("want only the target in %s, got %d entries", dir, len(ents))
	}
}

func TestCreateInMissingDir(t *testing.T) {
	target := filepath.Join(t.TempDir(), "nope", "out.har")
	_, err := Create(target)
	if err == nil {
		t.Fatal("want an error for a missing directory")
	}
	want := "create " + target + ": no such file or directory"
	if err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

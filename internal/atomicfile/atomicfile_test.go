package atomicfile

import (
	"bytes"
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

// TestLargeFile writes past several writeback chunks: the file committed
// holds every byte, in order.
func TestLargeFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.ndjson")
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	chunk := make([]byte, 1<<20+7) // not a divisor of the writeback chunk
	var want []byte
	for i := 0; i < 20; i++ {
		for j := range chunk {
			chunk[j] = byte(i*31 + j)
		}
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		want = append(want, chunk...)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, wrote %d, or different", len(got), len(want))
	}
}

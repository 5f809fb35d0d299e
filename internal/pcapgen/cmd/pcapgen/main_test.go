package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/specgate/specgate/capture/pcapfile"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "bench.pcap")
	if err := run(batch+300, 4, out); err != nil {
		t.Fatal(err)
	}
	r, err := pcapfile.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		_, err := r.ReadPacket(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	// Each exchange takes at least a request and a response segment.
	if n < 2*(batch+300) {
		t.Errorf("%d packets for %d exchanges", n, batch+300)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the output directory, want only the output", len(entries))
	}

	again := filepath.Join(dir, "again.pcap")
	if err := run(batch+300, 4, again); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("the same seed gives a different file")
	}

	if err := run(10, 4, filepath.Join(dir, "missing", "x.pcap")); err == nil {
		t.Error("no error for a directory that does not exist")
	}
}

package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/specgate/specgate/capture/har"
)

// count reads path (or data) with specgate's reader and returns the
// format and the number of exchanges.
func count(t *testing.T, name string, data []byte) (har.Format, int) {
	t.Helper()
	rd, err := har.NewReader(bytes.NewReader(data), name)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return rd.Format(), n
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "traffic.ndjson")
	if err := run(1500, 4, out, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if f, n := count(t, out, data); f != har.FormatNDJSON || n != 1500 {
		t.Fatalf("read %d exchanges as %v, want 1500 as ndjson", n, f)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the output directory, want only the output", len(entries))
	}

	// stdout gives the same bytes
	var stdout bytes.Buffer
	if err := run(1500, 4, "-", &stdout); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), data) {
		t.Error("-o - writes other bytes than -o FILE")
	}

	// a .har name gives a HAR document of the same exchanges
	harOut := filepath.Join(dir, "traffic.har")
	if err := run(200, 4, harOut, nil); err != nil {
		t.Fatal(err)
	}
	harData, _ := os.ReadFile(harOut)
	if f, n := count(t, harOut, harData); f != har.FormatHAR || n != 200 {
		t.Fatalf("read %d exchanges as %v, want 200 as har", n, f)
	}
}

func TestRunFailure(t *testing.T) {
	out := filepath.Join(t.TempDir(), "missing", "traffic.ndjson")
	err := run(10, 1, out, nil)
	if err == nil || !strings.Contains(err.Error(), out) {
		t.Fatalf("error %v, want one naming %s", err, out)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output exists after a failure: %v", err)
	}
}

package har

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/specgate/specgate/capture"
)

// TestReadFile: every exchange of a file, in order, with its format, for
// both formats; a missing file is an error.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, format := range []Format{FormatHAR, FormatNDJSON} {
		path := filepath.Join(dir, "out"+map[Format]string{FormatHAR: ".har", FormatNDJSON: ".ndjson"}[format])
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w := NewWriter(f, format, Creator{Name: "test"})
		for _, target := range []string{"/a", "/b", "/c"} {
			if err := w.Write(&capture.Exchange{Request: capture.Request{Method: "GET", Target: target, Host: "api.test", Proto: "HTTP/1.1"},
				Response: capture.Response{Proto: "HTTP/1.1", Status: 200}, Wire: capture.WireID{Request: 7, Response: 9}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		exs, got, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != format || len(exs) != 3 || exs[0].Request.Target != "/a" || exs[2].Request.Target != "/c" || exs[1].Wire.Response != 9 {
			t.Errorf("%v: format %v, %d exchanges", format, got, len(exs))
		}
	}
	if _, _, err := ReadFile(filepath.Join(dir, "missing.har")); err == nil {
		t.Error("a missing file read without error")
	}
}

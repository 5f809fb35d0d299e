package cifake

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"
)

// ZipEntry is one entry of an archive that Zip writes.
type ZipEntry struct {
	// Name is the entry's name as stored: slash-separated, a trailing
	// slash for a directory. Hostile names are kept as they are.
	Name string
	// Body is the entry's content.
	Body string
	// Mode is the entry's file mode; 0 means a regular file (0644), or a
	// directory (0755) when Name ends in a slash.
	Mode fs.FileMode
}

// Zip writes a real zip archive of entries with archive/zip, as GitHub's
// artifact storage and GitLab Runner serve them.
func Zip(t testing.TB, entries ...ZipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
		switch {
		case e.Mode != 0:
			h.SetMode(e.Mode)
		case strings.HasSuffix(e.Name, "/"):
			h.SetMode(fs.ModeDir | 0o755)
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatalf("cifake: zip %s: %v", e.Name, err)
		}
		if _, err := io.WriteString(w, e.Body); err != nil {
			t.Fatalf("cifake: zip %s: %v", e.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("cifake: zip: %v", err)
	}
	return buf.Bytes()
}

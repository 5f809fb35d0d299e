// Package atomicfile writes output files all at once or not at all: data
// goes to a temporary file beside the target, which replaces the target only
// when Commit succeeds. A failed or interrupted write leaves nothing behind.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/specgate/specgate/internal/oserr"
)

// File is an output file being written.
type File struct {
	f    *os.File
	path string
	done bool
	// written counts the bytes written, and flushed those whose writeback
	// has been started (see writeback).
	written, flushed int64
}

// writebackChunk is how many bytes are written before their writeback to
// the disk is started, so that Commit's fsync waits only for the tail
// instead of the whole file (hundreds of MB for a large capture).
const writebackChunk = 8 << 20

// Create starts writing path. The caller must call Commit or Abort.
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, oserr.Cause(err))
	}
	return &File{f: f, path: path}, nil
}

// Write implements io.Writer.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	f.written += int64(n)
	if f.written-f.flushed >= writebackChunk {
		writeback(f.f, f.flushed, f.written-f.flushed)
		f.flushed = f.written
	}
	return n, err
}

// Name returns the target path.
func (f *File) Name() string { return f.path }

// Commit flushes the data to disk and moves it into place.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already finished")
	}
	f.done = true
	tmp := f.f.Name()
	if err := f.f.Chmod(0o644); err != nil {
		f.f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.path, oserr.Cause(err))
	}
	if err := f.f.Sync(); err != nil {
		f.f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.path, oserr.Cause(err))
	}
	if err := f.f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.path, oserr.Cause(err))
	}
	if err := os.Rename(tmp, f.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.path, oserr.Cause(err))
	}
	return nil
}

// Abort discards what was written. It is safe to call after Commit (it then
// does nothing), so it can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.f.Close()
	os.Remove(f.f.Name())
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, oserr.Cause(err))
	}
	return f.Commit()
}

package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// writeback starts writing n bytes from off to the disk without waiting
// for them (sync_file_range SYNC_FILE_RANGE_WRITE). It is only a head
// start for Commit's fsync, which still makes the whole file durable, so
// a failure is ignored.
func writeback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

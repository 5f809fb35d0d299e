//go:build !linux

package atomicfile

import "os"

// writeback does nothing here: Commit's fsync writes the whole file.
func writeback(*os.File, int64, int64) {}

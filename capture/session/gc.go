package session

import (
	"os"
	"runtime/debug"
)

// A live capture shares the machine with the traffic it observes: every
// cycle it spends is taken from the services under test (the benchmark
// beside a loopback server shows it). Its heap is small (what the flags
// bound: buffered segments, messages in flight, the duplicate window) and
// most of what it allocates dies at once, so at Go's default target the
// collector runs every few megabytes; letting the heap grow to three
// times what is live instead of two halves the collections: about 7% of
// the capture's CPU time in the loopback benchmark, for a few megabytes
// more. A soft limit keeps the larger target from applying to a large
// heap.
// Captures from files keep the default, so that their memory stays flat
// in the size of the file. GOGC and GOMEMLIMIT, when set, win.
const (
	liveGCPercent   = 200
	liveMemoryLimit = 1 << 30
)

// tuneGC applies the live capture's collector settings and returns the
// function that restores the previous ones.
func tuneGC() (restore func()) {
	setPercent, setLimit := os.Getenv("GOGC") == "", os.Getenv("GOMEMLIMIT") == ""
	var percent int
	var limit int64
	if setPercent {
		percent = debug.SetGCPercent(liveGCPercent)
	}
	if setLimit {
		limit = debug.SetMemoryLimit(liveMemoryLimit)
	}
	return func() {
		if setPercent {
			debug.SetGCPercent(percent)
		}
		if setLimit {
			debug.SetMemoryLimit(limit)
		}
	}
}

package session

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestTuneGC checks that a live capture's collector settings apply for
// its duration only, and never over the user's GOGC and GOMEMLIMIT.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	current := func() (int, int64) {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p, debug.SetMemoryLimit(-1) // a negative limit only reads it
	}
	for _, tc := range []struct {
		name, gogc, memlimit string
		percent              int
		limit                int64
	}{
		{"defaults", "", "", liveGCPercent, liveMemoryLimit},
		{"GOGC set", "50", "", 100, liveMemoryLimit},
		{"GOMEMLIMIT set", "", "2GiB", liveGCPercent, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			t.Setenv("GOMEMLIMIT", tc.memlimit)
			restore := tuneGC()
			p, l := current()
			restore()
			if p != tc.percent || l != tc.limit {
				t.Errorf("during the capture: GC percent %d, limit %d; want %d, %d", p, l, tc.percent, tc.limit)
			}
			if p, l := current(); p != 100 || l != math.MaxInt64 {
				t.Errorf("after: GC percent %d, limit %d; want 100 and no limit back", p, l)
			}
		})
	}
}
